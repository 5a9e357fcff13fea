//! What an AWS SDK error means for the user, in one line: the cause and the next step, never
//! the SDK's `Debug` dump. Shared by the S3 reads here, Rekognition (`rekcheck-locate`) and the
//! uploads of `rekcheck`.

use std::error::Error;
use std::fmt;

#[cfg(feature = "s3")]
use aws_credential_types::provider::error::CredentialsError;

/// Why a request was not sent or got no answer: a configuration error (credentials, region,
/// endpoint), which no retry can fix, or a network failure.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendFailure {
    /// No credential provider found credentials.
    NoCredentials,
    /// Credentials were configured but could not be loaded (an expired SSO token, a failing
    /// `credential_process`, an assume-role that was refused...).
    Credentials {
        /// The root cause.
        cause: String,
    },
    /// No region is set, and the service needs one.
    NoRegion,
    /// The endpoint could not be resolved (an endpoint URL that is not one...).
    Endpoint {
        /// The root cause.
        cause: String,
    },
    /// The endpoint refused the connection: nothing listens there.
    Refused {
        /// The endpoint (`scheme://host:port`), or a description of it.
        endpoint: String,
    },
    /// Another network failure (a reset connection, a name that does not resolve): worth a
    /// retry.
    Network {
        /// The endpoint (`scheme://host:port`), or a description of it.
        endpoint: String,
        /// The root cause.
        cause: String,
    },
    /// The request timed out: worth a retry.
    Timeout,
    /// Anything else that stopped the request before an answer.
    Other {
        /// The root cause.
        cause: String,
    },
}

impl SendFailure {
    /// What `error` (an SDK connector error, or any error of a request that got no answer)
    /// means; `endpoint` names where the request went.
    #[cfg(feature = "s3")]
    pub fn of(error: &(dyn Error + 'static), endpoint: &str) -> SendFailure {
        for e in chain(error) {
            if let Some(c) = e.downcast_ref::<CredentialsError>() {
                return match c {
                    CredentialsError::CredentialsNotLoaded(_) => SendFailure::NoCredentials,
                    _ => SendFailure::Credentials {
                        cause: root_cause(c),
                    },
                };
            }
            // The endpoint resolvers' error types live in crates of their own (two of them);
            // their type name is the one thing they share.
            if format!("{e:?}").starts_with("ResolveEndpointError") {
                let cause = root_cause(e);
                if cause.to_ascii_lowercase().contains("region must be set") {
                    return SendFailure::NoRegion;
                }
                return SendFailure::Endpoint { cause };
            }
        }
        let refused = chain(error)
            .filter_map(|e| e.downcast_ref::<std::io::Error>())
            .any(|io| io.kind() == std::io::ErrorKind::ConnectionRefused);
        if refused {
            return SendFailure::Refused {
                endpoint: endpoint.to_owned(),
            };
        }
        if let Some(c) =
            chain(error).find_map(|e| e.downcast_ref::<aws_sdk_s3::error::ConnectorError>())
        {
            if c.is_timeout() {
                return SendFailure::Timeout;
            }
            if c.is_io() || c.is_other() {
                return SendFailure::Network {
                    endpoint: endpoint.to_owned(),
                    cause: root_cause(error),
                };
            }
        }
        SendFailure::Other {
            cause: root_cause(error),
        }
    }

    /// Whether sending again may help: network failures and timeouts; never a configuration
    /// error or a refused connection.
    pub fn retryable(&self) -> bool {
        matches!(self, SendFailure::Network { .. } | SendFailure::Timeout)
    }
}

impl fmt::Display for SendFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendFailure::NoCredentials => f.write_str(
                "no AWS credentials found: set AWS_PROFILE or give the SdkConfig a credentials provider, run `aws sso login`, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
            ),
            SendFailure::Credentials { cause } => write!(
                f,
                "AWS credentials could not be loaded: {cause}; check the profile, or run `aws sso login` if it uses SSO"
            ),
            SendFailure::NoRegion => f.write_str("region not set: set a region in the SdkConfig or set AWS_REGION"),
            SendFailure::Endpoint { cause } => write!(
                f,
                "the endpoint is not usable: {cause}; check the SdkConfig's endpoint URL and AWS_ENDPOINT_URL (a URL such as http://127.0.0.1:9000)"
            ),
            SendFailure::Refused { endpoint } => write!(
                f,
                "could not connect to {endpoint}: connection refused; check the SdkConfig's endpoint URL and that the server is running"
            ),
            SendFailure::Network { endpoint, cause } => {
                write!(f, "could not connect to {endpoint}: {cause}")
            }
            SendFailure::Timeout => f.write_str("timeout"),
            SendFailure::Other { cause } => write!(f, "the request could not be sent: {cause}"),
        }
    }
}

/// The request id AWS gave an error answer, written ` (request id X)` after a message, or
/// nothing when there was none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestId(pub Option<String>);

impl RequestId {
    /// The request id of an error's metadata (`aws_request_id`, from the answer's
    /// `x-amz-request-id` or `x-amzn-RequestId`).
    #[cfg(feature = "s3")]
    pub fn of(meta: &aws_sdk_s3::error::ErrorMetadata) -> RequestId {
        RequestId(meta.extra("aws_request_id").map(str::to_owned))
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(id) => write!(f, " (request id {id})"),
            None => Ok(()),
        }
    }
}

/// The region of the bucket an S3 error answer names: its `x-amz-bucket-region` header (S3
/// sends it with 301 `PermanentRedirect` and 400 `AuthorizationHeaderMalformed`), else the
/// `<Region>` of its XML body (as `AuthorizationHeaderMalformed` has it). Both come from the
/// network: only a value that looks like a region name (1 to 32 lower-case letters, digits and
/// dashes) is returned, so that nothing else reaches a message.
#[cfg(feature = "s3")]
pub fn bucket_region(response: &aws_sdk_s3::config::http::HttpResponse) -> Option<String> {
    let is_region = |r: &str| {
        (1..=32).contains(&r.len())
            && r.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if let Some(r) = response.headers().get("x-amz-bucket-region") {
        let r = r.trim();
        if is_region(r) {
            return Some(r.to_owned());
        }
    }
    let body = std::str::from_utf8(response.body().bytes()?).ok()?;
    let start = body.find("<Region>")? + "<Region>".len();
    let len = body[start..].find("</Region>")?;
    let r = body[start..start + len].trim();
    is_region(r).then(|| r.to_owned())
}

/// `error` and the errors after it; after an `io::Error` comes its payload (whose own source
/// `io::Error::source` would skip to).
fn chain<'a>(error: &'a (dyn Error + 'static)) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(Some(error), |&e: &&'a (dyn Error + 'static)| match e
        .downcast_ref::<std::io::Error>()
    {
        Some(io) => io.get_ref().map(|inner| inner as &(dyn Error + 'static)),
        None => e.source(),
    })
    .take(32)
}

/// The last error of `error`'s chain that says something: the root cause, without the
/// wrappers' words and without `Debug` text.
pub fn root_cause(error: &(dyn Error + 'static)) -> String {
    chain(error)
        .map(ToString::to_string)
        .filter(|t| !t.trim().is_empty())
        .last()
        .unwrap_or_else(|| "unknown error".to_owned())
}

#[cfg(all(test, feature = "s3"))]
mod tests {
    use super::*;

    #[test]
    fn root_cause_is_the_last_error_of_the_chain() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        let wrapped = std::io::Error::other(io);
        assert_eq!(root_cause(&wrapped), "Connection refused");
        let failure = SendFailure::of(&wrapped, "http://127.0.0.1:9");
        assert_eq!(
            failure,
            SendFailure::Refused {
                endpoint: "http://127.0.0.1:9".into()
            }
        );
        assert!(!failure.retryable());
        assert!(
            failure
                .to_string()
                .starts_with("could not connect to http://127.0.0.1:9: connection refused")
        );
    }

    #[test]
    fn missing_credentials_are_named() {
        let e = CredentialsError::not_loaded("no provider");
        let f = SendFailure::of(&e, "x");
        assert_eq!(f, SendFailure::NoCredentials);
        assert!(f.to_string().starts_with("no AWS credentials found"));
        assert!(!f.retryable());
    }

    #[test]
    fn bucket_regions_come_from_the_header_or_the_body_and_only_look_like_regions() {
        use aws_sdk_s3::config::http::HttpResponse;
        use aws_sdk_s3::primitives::SdkBody;
        let answer = |header: Option<&str>, body: &str| {
            let mut r = HttpResponse::new(
                400u16.try_into().expect("a status"),
                SdkBody::from(body.to_owned()),
            );
            if let Some(h) = header {
                r.headers_mut().insert("x-amz-bucket-region", h.to_owned());
            }
            bucket_region(&r)
        };
        let body =
            "<Error><Code>AuthorizationHeaderMalformed</Code><Region>eu-west-1</Region></Error>";
        assert_eq!(
            answer(Some("ap-south-2"), body).as_deref(),
            Some("ap-south-2")
        );
        assert_eq!(answer(None, body).as_deref(), Some("eu-west-1"));
        assert_eq!(answer(None, "<Error/>"), None);
        // Not a region name: not repeated in a message (the body's one is used instead).
        assert_eq!(
            answer(Some("eu-west-1; run rm -rf"), body).as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(answer(None, "<Region>\u{1b}[31mred</Region>"), None);
        assert_eq!(
            answer(None, &format!("<Region>{}</Region>", "a".repeat(33))),
            None
        );
    }

    #[test]
    fn request_ids_are_shown_when_given() {
        assert_eq!(RequestId(None).to_string(), "");
        assert_eq!(RequestId(Some("R1".into())).to_string(), " (request id R1)");
    }
}
