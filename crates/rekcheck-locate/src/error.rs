//! The errors of this crate: each names the action, the resource and what to do.

use aws_sdk_rekognition::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::retries::classifiers::{
    ClassifyRetry, RetryAction, RetryClassifierPriority,
};
use rekcheck_fetch::{RequestId, SendFailure, root_cause};

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
        "access denied calling {action} on {resource}: the caller needs the IAM permission rekognition:{action}{request_id}"
    )]
    AccessDenied {
        /// The API action, e.g. `DescribeProjectVersions`.
        action: &'static str,
        /// The project, version or dataset.
        resource: String,
        /// The request id of AWS's answer, if it gave one.
        request_id: RequestId,
    },
    /// The project, version or dataset does not exist in this region.
    #[error(
        "{resource} was not found in region {region}: check the ARN, or use a client configured for the region in the ARN{request_id}"
    )]
    NotFound {
        /// The resource asked for.
        resource: String,
        /// The region asked.
        region: String,
        /// The request id of AWS's answer, if it gave one.
        request_id: RequestId,
    },
    /// Rekognition rejected a parameter.
    #[error(
        "Rekognition rejected {action} on {resource} (InvalidParameterException): {message}{request_id}"
    )]
    InvalidParameter {
        /// The API action.
        action: &'static str,
        /// The resource.
        resource: String,
        /// Rekognition's message.
        message: String,
        /// The request id of AWS's answer, if it gave one.
        request_id: RequestId,
    },
    /// Throttled after every retry.
    #[error(
        "Rekognition kept throttling {action} on {resource} after the retries: try again later, or allow more attempts in the client's retry config{request_id}"
    )]
    Throttled {
        /// The API action.
        action: &'static str,
        /// The resource.
        resource: String,
        /// The request id of AWS's answer, if it gave one.
        request_id: RequestId,
    },
    /// Rekognition failed.
    #[error(
        "Rekognition failed on {action} for {resource} ({code}): {message}{request_id}; try again"
    )]
    Service {
        /// The API action.
        action: &'static str,
        /// The resource.
        resource: String,
        /// The error code, e.g. `InternalServerError`.
        code: String,
        /// Rekognition's message.
        message: String,
        /// The request id of AWS's answer, if it gave one.
        request_id: RequestId,
    },
    /// The endpoint did not answer in time, after the retries.
    #[error(
        "{action} on {resource}: {endpoint} did not answer in time (after the retries); check the endpoint and the network, or raise the timeout"
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
    /// The request was not sent, or got no answer, for a reason no retry fixes: no
    /// credentials, no region, an endpoint that is not one, a refused connection.
    #[error("{cause}")]
    NotSent {
        /// The API action.
        action: &'static str,
        /// The resource.
        resource: String,
        /// Why.
        cause: SendFailure,
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
    endpoint: &str,
) -> LocateError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let resource = resource.to_owned();
    // A service error without a code is an answer that could not be read: report it as such.
    if let (SdkError::ServiceError(_), Some(code)) = (&e, e.code()) {
        let code = code.to_owned();
        let message = e.message().unwrap_or("").to_owned();
        let request_id = RequestId::of(e.meta());
        return match code.as_str() {
            "AccessDeniedException" => LocateError::AccessDenied {
                action,
                resource,
                request_id,
            },
            "ResourceNotFoundException" => LocateError::NotFound {
                resource,
                region: region.to_owned(),
                request_id,
            },
            "InvalidParameterException"
            | "InvalidPaginationTokenException"
            | "ValidationException" => LocateError::InvalidParameter {
                action,
                resource,
                message,
                request_id,
            },
            "ThrottlingException" | "ProvisionedThroughputExceededException" => {
                LocateError::Throttled {
                    action,
                    resource,
                    request_id,
                }
            }
            _ => LocateError::Service {
                action,
                resource,
                code,
                message,
                request_id,
            },
        };
    }
    // The SDK's own text ends with its `Debug` dump: logged (`-v`), never in the message.
    tracing::info!(action, resource = %resource, error = %DisplayErrorContext(&e), "request failed");
    if let SdkError::DispatchFailure(d) = &e
        && let Some(c) = d.as_connector_error()
    {
        let cause = SendFailure::of(c, endpoint);
        if !cause.retryable() {
            return LocateError::NotSent {
                action,
                resource,
                cause,
            };
        }
        return LocateError::Request {
            action,
            resource,
            message: cause.to_string(),
        };
    }
    LocateError::Request {
        action,
        resource,
        message: root_cause(&e),
    }
}

/// Forbids the SDK's retries of an error no retry fixes (no credentials, no region, an endpoint
/// that is not one, a refused connection; see [`SendFailure::retryable`]); attach it to the
/// Rekognition client with `Config::builder().retry_classifier(NoRetryOnConfigErrors)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRetryOnConfigErrors;

impl ClassifyRetry for NoRetryOnConfigErrors {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let Some(Err(e)) = ctx.output_or_error() else {
            return RetryAction::NoActionIndicated;
        };
        let Some(c) = e.as_connector_error() else {
            return RetryAction::NoActionIndicated;
        };
        if SendFailure::of(c, "").retryable() {
            RetryAction::NoActionIndicated
        } else {
            RetryAction::RetryForbidden
        }
    }

    fn name(&self) -> &'static str {
        "NoRetryOnConfigErrors"
    }

    fn priority(&self) -> RetryClassifierPriority {
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}
