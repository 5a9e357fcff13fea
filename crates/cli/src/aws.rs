//! AWS configuration as the AWS CLI does it: the default credential chain, `--profile`,
//! `--region`, `--endpoint-url`, `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_S3`.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::stalled_stream_protection::StalledStreamProtectionConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_s3::config::Region;

use crate::AwsArgs;

/// Whether S3 requests go to a custom endpoint (an S3-compatible store, moto, `LocalStack`).
pub(crate) fn custom_s3_endpoint(args: &AwsArgs) -> bool {
    args.endpoint_url.is_some()
        || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some()
        || std::env::var_os("AWS_ENDPOINT_URL").is_some()
}

/// The shared SDK configuration, with `--timeout` as connect, read (first byte) and
/// operation-attempt timeout and as the grace period of the stalled-stream protection. The
/// pipeline takes the read timeout as its own per-request bound, and keeps only the connect
/// timeout on the S3 client it builds (uploads of large reports must not be cut off).
pub(crate) async fn sdk_config(args: &AwsArgs) -> aws_config::SdkConfig {
    let timeout = Duration::from_secs(args.timeout.max(1));
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(timeout)
                .read_timeout(timeout)
                .operation_attempt_timeout(timeout)
                .build(),
        )
        .stalled_stream_protection(
            StalledStreamProtectionConfig::enabled()
                .grace_period(timeout)
                .build(),
        );
    if let Some(p) = &args.profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = &args.region {
        loader = loader.region(Region::new(r.clone()));
    }
    if let Some(e) = &args.endpoint_url {
        loader = loader.endpoint_url(e);
    }
    loader.load().await
}

/// The Rekognition client: the SDK's adaptive retries (throttling is common on the describe
/// calls) with `--retries` attempts.
pub(crate) fn rekognition_client(
    sdk: &aws_config::SdkConfig,
    args: &AwsArgs,
) -> aws_sdk_rekognition::Client {
    let conf = aws_sdk_rekognition::config::Builder::from(sdk)
        .retry_config(RetryConfig::adaptive().with_max_attempts(args.retries.max(1)))
        .build();
    aws_sdk_rekognition::Client::from_conf(conf)
}
