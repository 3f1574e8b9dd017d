//! The two failure classes every handler sorts its errors into.
//!
//! * **Transient**: throttling, 5xx, timeouts, connection failures, and any
//!   error we cannot positively identify. The invocation fails, Lambda retries
//!   the asynchronous event (twice by default), and the function's
//!   dead-letter queue keeps what still fails — so nothing is lost while an
//!   operator fixes, say, a missing IAM permission.
//! * **Permanent**: the object itself is the problem (malformed file,
//!   unsupported type, deleted before we read it, not an image). Retrying
//!   cannot help; the failure and its reason are recorded in DynamoDB and the
//!   invocation succeeds.
//!
//! Unknown error codes are transient on purpose: recording FAILED is final
//! for that object version, so only codes known to be about the object may
//! do it.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandlerError {
    /// Retry the invocation.
    #[error("{0}")]
    Transient(String),
    /// Record the failure; do not retry.
    #[error("{0}")]
    Permanent(String),
}

impl HandlerError {
    pub fn is_transient(&self) -> bool {
        matches!(self, HandlerError::Transient(_))
    }

    pub fn message(&self) -> &str {
        match self {
            HandlerError::Transient(message) | HandlerError::Permanent(message) => message,
        }
    }
}

/// Error codes AWS services use for throttling and server-side failures
/// (SDK retry docs: <https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html>).
/// Only used to describe the failure in logs: every code not in the caller's
/// permanent list is transient anyway.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// Classifies an SDK error. `operation` names what we were doing (it starts
/// the message); `permanent_codes` are the service error codes that mean
/// "this object can never succeed" for this call (e.g. `NoSuchKey`).
pub fn classify_sdk_error<E>(
    operation: &str,
    error: &SdkError<E, HttpResponse>,
    permanent_codes: &[&str],
) -> HandlerError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let detail = DisplayErrorContext(error);
    match error {
        SdkError::ServiceError(service_error) => {
            let code = error.code().unwrap_or("<no error code>");
            let status = service_error.raw().status().as_u16();
            if permanent_codes.contains(&code) {
                return HandlerError::Permanent(format!(
                    "{operation}: {code}: {}",
                    message_of(error)
                ));
            }
            let kind = if THROTTLING_CODES.contains(&code) || status == 429 {
                "throttled"
            } else if status >= 500 {
                "server error"
            } else {
                "rejected (not known to be permanent for this object)"
            };
            HandlerError::Transient(format!(
                "{operation}: {kind}: HTTP {status} {code}: {detail}"
            ))
        }
        SdkError::TimeoutError(_) => {
            HandlerError::Transient(format!("{operation}: timed out: {detail}"))
        }
        SdkError::DispatchFailure(_) => {
            HandlerError::Transient(format!("{operation}: request not delivered: {detail}"))
        }
        SdkError::ResponseError(_) => {
            HandlerError::Transient(format!("{operation}: unreadable response: {detail}"))
        }
        // Construction failures include credential and endpoint resolution
        // problems, which are environmental, so they are retried too.
        SdkError::ConstructionFailure(_) => {
            HandlerError::Transient(format!("{operation}: request could not be built: {detail}"))
        }
        // `SdkError` is non-exhaustive: a future variant is retried, never a panic.
        _ => HandlerError::Transient(format!("{operation}: {detail}")),
    }
}

fn message_of<E: ProvideErrorMetadata>(error: &E) -> String {
    error.message().unwrap_or("no message").to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::operation::put_item::PutItemError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    fn service_error(code: &str, status: u16) -> SdkError<PutItemError, HttpResponse> {
        let metadata = ErrorMetadata::builder()
            .code(code)
            .message("the message")
            .build();
        let raw = HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::empty());
        SdkError::service_error(PutItemError::generic(metadata), raw)
    }

    #[test]
    fn permanent_codes_are_permanent_and_everything_else_is_retried() {
        let error = classify_sdk_error(
            "GetObject",
            &service_error("NoSuchKey", 404),
            &["NoSuchKey"],
        );
        assert_eq!(
            error,
            HandlerError::Permanent("GetObject: NoSuchKey: the message".into())
        );

        let throttled =
            classify_sdk_error("PutItem", &service_error("ThrottlingException", 400), &[]);
        assert!(throttled.is_transient());
        assert!(
            throttled
                .message()
                .starts_with("PutItem: throttled: HTTP 400"),
            "{throttled}"
        );

        let server = classify_sdk_error("PutItem", &service_error("InternalServerError", 500), &[]);
        assert!(server.message().contains("server error"), "{server}");

        let unknown = classify_sdk_error(
            "PutItem",
            &service_error("SomethingNew", 400),
            &["NoSuchKey"],
        );
        assert!(unknown.is_transient());
    }

    #[test]
    fn timeouts_and_dispatch_failures_are_transient() {
        let timeout: SdkError<PutItemError, HttpResponse> = SdkError::timeout_error("slow");
        assert!(
            classify_sdk_error("PutItem", &timeout, &[])
                .message()
                .contains("timed out")
        );
        let construction: SdkError<PutItemError, HttpResponse> =
            SdkError::construction_failure("no credentials");
        assert!(classify_sdk_error("PutItem", &construction, &[]).is_transient());
    }
}
