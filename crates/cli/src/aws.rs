//! AWS configuration as the AWS CLI does it: the default credential chain, `--profile`,
//! `--region`, `--endpoint-url`, `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_S3`.

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_s3::config::Region;

use crate::AwsArgs;

/// Whether S3 requests go to a custom endpoint (an S3-compatible store, moto, `LocalStack`).
pub(crate) fn custom_s3_endpoint(args: &AwsArgs) -> bool {
    args.endpoint_url.is_some()
        || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some()
        || std::env::var_os("AWS_ENDPOINT_URL").is_some()
}

/// The shared SDK configuration.
pub(crate) async fn sdk_config(args: &AwsArgs) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
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
