//! AWS configuration as the AWS CLI does it: the default credential chain, `--profile`,
//! `--region`, `--endpoint-url`, `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_S3`.
//!
//! The configuration is checked once, before any request, so that an error no retry can fix
//! stops the run at once with one line that names it and what to do: an endpoint that is not
//! an `http://` or `https://` URL, a profile that no config or credentials file defines, no
//! region, no credentials (resolved once, within `--timeout`).

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

/// The most bytes read of the AWS config and credentials files when looking for a profile
/// (1 MiB each; the rest is not read).
const MAX_PROFILE_FILE_BYTES: u64 = 1 << 20;

/// The shared SDK configuration, with `--timeout` as connect, read (first byte) and
/// operation-attempt timeout and as the grace period of the stalled-stream protection. The
/// pipeline takes the read timeout as its own per-request bound, and keeps only the connect
/// timeout on the S3 client it builds (uploads of large reports must not be cut off).
///
/// Checked before it is returned (see the module documentation): the endpoints, the profile,
/// the region and the credentials (resolved once, within `--timeout`).
pub(crate) async fn sdk_config(args: &AwsArgs) -> anyhow::Result<aws_config::SdkConfig> {
    check_endpoints(args)?;
    check_profile(args)?;
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
    let sdk = loader.load().await;
    match sdk.region() {
        Some(r) => tracing::debug!(region = %r, "region"),
        None => anyhow::bail!(
            "region not set: pass --region or set AWS_REGION (or set region in the profile)"
        ),
    }
    check_credentials(&sdk, timeout).await?;
    Ok(sdk)
}

/// Resolves the credentials once, within `timeout`: no credentials, or credentials that cannot
/// be loaded (an expired SSO token...), fail here rather than on every request.
async fn check_credentials(sdk: &aws_config::SdkConfig, timeout: Duration) -> anyhow::Result<()> {
    use aws_sdk_s3::config::ProvideCredentials as _;
    let Some(provider) = sdk.credentials_provider() else {
        anyhow::bail!("{}", rekcheck::fetch::SendFailure::NoCredentials);
    };
    match tokio::time::timeout(timeout, provider.provide_credentials()).await {
        Ok(Ok(_)) => {
            tracing::debug!("credentials loaded");
            Ok(())
        }
        Ok(Err(e)) => {
            tracing::info!(error = %aws_sdk_s3::error::DisplayErrorContext(&e), "credentials not loaded");
            anyhow::bail!("{}", rekcheck::fetch::SendFailure::of(&e, ""))
        }
        Err(_) => anyhow::bail!(
            "AWS credentials could not be loaded within {} s (--timeout): check the profile and the network (an SSO or assume-role profile, or the instance metadata service, did not answer)",
            timeout.as_secs()
        ),
    }
}

/// Every endpoint URL the SDK would use: `--endpoint-url`, and `AWS_ENDPOINT_URL`,
/// `AWS_ENDPOINT_URL_S3` and `AWS_ENDPOINT_URL_REKOGNITION` unless
/// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is true, must be `http://` or `https://` URLs with a
/// host (and a port of digits, if any).
fn check_endpoints(args: &AwsArgs) -> anyhow::Result<()> {
    if let Some(url) = &args.endpoint_url {
        check_url("--endpoint-url", url)?;
    }
    let ignored = std::env::var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .is_ok_and(|v| v.eq_ignore_ascii_case("true"));
    if !ignored {
        for name in [
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_S3",
            "AWS_ENDPOINT_URL_REKOGNITION",
        ] {
            if let Some(url) = std::env::var_os(name) {
                check_url(name, &url.to_string_lossy())?;
            }
        }
    }
    Ok(())
}

/// `url` (from `name`) as an endpoint: `http://` or `https://`, a host, an optional port.
fn check_url(name: &str, url: &str) -> anyhow::Result<()> {
    let lower = url.to_ascii_lowercase();
    let Some(rest) = lower
        .strip_prefix("http://")
        .or_else(|| lower.strip_prefix("https://"))
    else {
        let example = if url.contains("://") {
            "http://127.0.0.1:9000".to_owned()
        } else {
            format!("http://{url}")
        };
        anyhow::bail!(
            "{name} {url} is not an http:// or https:// URL: write it with its scheme, e.g. {example}"
        );
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let port = match host_port.rsplit_once(':') {
        Some((_, port)) if !host_port.ends_with(']') => Some(port),
        _ => None,
    };
    let bad_port = port.is_some_and(|p| p.is_empty() || p.parse::<u16>().is_err());
    if host_port.is_empty()
        || host_port.starts_with(':')
        || bad_port
        || url.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        anyhow::bail!(
            "{name} {url} is not a usable URL: write it as http://HOST:PORT or https://HOST, e.g. http://127.0.0.1:9000"
        );
    }
    Ok(())
}

/// A profile named by `--profile` or `AWS_PROFILE` (other than `default`) must be defined in
/// the config file (`AWS_CONFIG_FILE`, `~/.aws/config`: `[profile NAME]`) or the credentials
/// file (`AWS_SHARED_CREDENTIALS_FILE`, `~/.aws/credentials`: `[NAME]`).
fn check_profile(args: &AwsArgs) -> anyhow::Result<()> {
    let (flag, name) = match &args.profile {
        Some(p) => ("--profile", p.clone()),
        None => match std::env::var("AWS_PROFILE") {
            Ok(p) if !p.trim().is_empty() => ("AWS_PROFILE", p),
            _ => return Ok(()),
        },
    };
    let name = name.trim().to_owned();
    if name == "default" {
        return Ok(());
    }
    let config = aws_file("AWS_CONFIG_FILE", "config");
    let credentials = aws_file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
    let in_config = config
        .as_deref()
        .is_some_and(|p| profile_names(p, true).contains(&name));
    let in_credentials = credentials
        .as_deref()
        .is_some_and(|p| profile_names(p, false).contains(&name));
    if in_config || in_credentials {
        return Ok(());
    }
    let shown = |p: Option<&std::path::Path>| {
        p.map_or_else(
            || "(no home folder)".to_owned(),
            |p| p.display().to_string(),
        )
    };
    anyhow::bail!(
        "profile {name} ({flag}) not found in {} or {}: check the name, or create it with `aws configure --profile {name}` (or `aws configure sso`)",
        shown(config.as_deref()),
        shown(credentials.as_deref())
    )
}

/// The AWS file named by the environment variable `var` (`~/` expanded), or `~/.aws/<name>`.
fn aws_file(var: &str, name: &str) -> Option<std::path::PathBuf> {
    let home = std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .map(std::path::PathBuf::from);
    match std::env::var(var) {
        Ok(p) if !p.is_empty() => match p.strip_prefix("~/") {
            Some(rest) => home.map(|h| h.join(rest)),
            None => Some(std::path::PathBuf::from(p)),
        },
        _ => home.map(|h| h.join(".aws").join(name)),
    }
}

/// The profile names an AWS config (`[profile NAME]`, `[default]`) or credentials file
/// (`[NAME]`) defines; none when it cannot be read. At most [`MAX_PROFILE_FILE_BYTES`] are read.
fn profile_names(path: &std::path::Path, config: bool) -> Vec<String> {
    use std::io::Read as _;
    let mut text = String::new();
    let read = std::fs::File::open(path)
        .and_then(|f| f.take(MAX_PROFILE_FILE_BYTES).read_to_string(&mut text));
    if read.is_err() {
        return Vec::new();
    }
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            let inner = l.strip_prefix('[')?.split(']').next()?.trim();
            let mut words = inner.split_whitespace();
            let first = words.next()?;
            match (config, first, words.next()) {
                (true, "profile", Some(n)) | (_, n, None) => Some(n.to_owned()),
                _ => None,
            }
        })
        .collect()
}

/// The Rekognition client: the SDK's adaptive retries (throttling is common on the describe
/// calls) with `--retries` attempts, never of a configuration error or a refused connection.
pub(crate) fn rekognition_client(
    sdk: &aws_config::SdkConfig,
    args: &AwsArgs,
) -> aws_sdk_rekognition::Client {
    let conf = aws_sdk_rekognition::config::Builder::from(sdk)
        .retry_config(RetryConfig::adaptive().with_max_attempts(args.retries.max(1)))
        .retry_classifier(rekcheck::locate::NoRetryOnConfigErrors)
        .build();
    aws_sdk_rekognition::Client::from_conf(conf)
}
