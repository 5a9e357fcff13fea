//! The errors of this crate: each names the action, the resource and what to do.

use aws_sdk_rekognition::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// What went wrong asking Rekognition.
///
/// Every message names the action (`DescribeProjectVersions`, ...), the project, version or
/// dataset, and what to do (the IAM permission, the region).
///
/// # Example
///
/// ```no_run
/// use rekcheck_locate::{LocateError, Locator, VersionFilter};
///
/// # async fn run(locator: Locator, arn: &str) {
/// match locator.project_versions(arn, &VersionFilter::default()).await {
///     Ok(versions) => println!("{} versions", versions.len()),
///     Err(e @ LocateError::AccessDenied { .. }) => eprintln!("{e}"),
///     Err(e) => eprintln!("cannot list the versions: {e}"),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocateError {
    /// The caller may not call the action.
    #[error(
        "access denied calling {action} on {resource}: the caller needs the IAM permission rekognition:{action}"
    )]
    AccessDenied {
        /// The API action, e.g. `DescribeProjectVersions`.
        action: &'static str,
        /// The project, version or dataset.
        resource: String,
    },
    /// The project, version or dataset does not exist in this region.
    #[error(
        "{resource} was not found in region {region}: check the ARN, or run with --region set to the region in the ARN"
    )]
    NotFound {
        /// The resource asked for.
        resource: String,
        /// The region asked.
        region: String,
    },
    /// Rekognition rejected a parameter.
    #[error("Rekognition rejected {action} on {resource} (InvalidParameterException): {message}")]
    InvalidParameter {
        /// The API action.
        action: &'static str,
        /// The resource.
        resource: String,
        /// Rekognition's message.
        message: String,
    },
    /// Throttled after every retry.
    #[error(
        "Rekognition kept throttling {action} on {resource} after the retries: try again later, or raise --retries"
    )]
    Throttled {
        /// The API action.
        action: &'static str,
        /// The resource.
        resource: String,
    },
    /// Rekognition failed.
    #[error("Rekognition failed on {action} for {resource} ({code}): {message}; try again")]
    Service {
        /// The API action.
        action: &'static str,
        /// The resource.
        resource: String,
        /// The error code, e.g. `InternalServerError`.
        code: String,
        /// Rekognition's message.
        message: String,
    },
    /// The endpoint did not answer in time, after the retries.
    #[error(
        "{action} on {resource}: {endpoint} did not answer in time (after the retries); check the endpoint and the network, or raise --timeout"
    )]
    TimedOut {
        /// The API action.
        action: &'static str,
        /// The resource.
        resource: String,
        /// The endpoint (`scheme://host:port`), or the Rekognition endpoint of the region.
        endpoint: String,
    },
    /// Pages that never end: a page token came back a second time, or a cap was reached.
    #[error("{action} on {resource} did not end: {reason}; the service's pagination is broken")]
    EndlessPagination {
        /// The API action.
        action: &'static str,
        /// The resource.
        resource: String,
        /// What happened.
        reason: String,
    },
    /// The request did not get an answer that could be read (network, timeout, bad body).
    #[error("{action} on {resource} failed: {message}")]
    Request {
        /// The API action.
        action: &'static str,
        /// The resource.
        resource: String,
        /// What happened.
        message: String,
    },
}

#[allow(clippy::needless_pass_by_value)] // callers hand over the error: `.map_err(|e| map_err(e, …))`
pub(crate) fn map_err<E>(
    e: SdkError<E, aws_sdk_rekognition::config::http::HttpResponse>,
    action: &'static str,
    resource: &str,
    region: &str,
) -> LocateError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let resource = resource.to_owned();
    // A service error without a code is an answer that could not be read: report it as such.
    if let (SdkError::ServiceError(_), Some(code)) = (&e, e.code()) {
        let code = code.to_owned();
        let message = e.message().unwrap_or("").to_owned();
        return match code.as_str() {
            "AccessDeniedException" => LocateError::AccessDenied { action, resource },
            "ResourceNotFoundException" => LocateError::NotFound {
                resource,
                region: region.to_owned(),
            },
            "InvalidParameterException"
            | "InvalidPaginationTokenException"
            | "ValidationException" => LocateError::InvalidParameter {
                action,
                resource,
                message,
            },
            "ThrottlingException" | "ProvisionedThroughputExceededException" => {
                LocateError::Throttled { action, resource }
            }
            _ => LocateError::Service {
                action,
                resource,
                code,
                message,
            },
        };
    }
    LocateError::Request {
        action,
        resource,
        message: DisplayErrorContext(&e).to_string(),
    }
}
