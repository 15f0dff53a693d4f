//! The one place where failures become HTTP responses. A client sees a code
//! and one sentence; internals (SQL, paths, backend messages) go to the log
//! only.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use sealdrop_api::{B64, ErrorBody, ErrorCode};
use sealdrop_proto::codec::{DecodeError, Encode};
use sealdrop_store::StoreError;

#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub descriptor: Option<Vec<u8>>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            descriptor: None,
        }
    }

    pub fn malformed(what: &str, e: impl std::fmt::Display) -> Self {
        Self::new(
            ErrorCode::Malformed,
            format!("The {what} is malformed: {e}."),
        )
    }

    pub fn forbidden() -> Self {
        Self::new(ErrorCode::Forbidden, "Your role may not do this.")
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            ErrorCode::NotFound,
            format!("No such {what}, or none you may see."),
        )
    }

    pub fn internal() -> Self {
        Self::new(
            ErrorCode::Internal,
            "The server failed and stored nothing; try again later.",
        )
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        crate::metrics::METRICS.refusal(self.code);
        HttpResponse::build(self.status_code()).json(ErrorBody {
            error: self.code,
            message: self.message.clone(),
            descriptor: self.descriptor.clone().map(B64),
        })
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        use ErrorCode as C;
        match e {
            StoreError::BadToken => Self::new(
                C::BadToken,
                "The enrolment token is unknown, already used or expired; ask for a new one.",
            ),
            StoreError::AlreadyEnrolled => {
                Self::new(C::AlreadyEnrolled, "These keys are already enrolled.")
            }
            StoreError::UnknownOrganisation => Self::not_found("organisation"),
            StoreError::OrganisationExists => {
                Self::new(C::Invalid, "An organisation of that name exists.")
            }
            StoreError::UnknownProgram => Self::not_found("program"),
            StoreError::ProgramExists => {
                Self::new(C::DescriptorConflict, "A program with this ID exists.")
            }
            StoreError::DescriptorConflict { current } => Self::new(
                C::DescriptorConflict,
                format!(
                    "The descriptor is not the successor of the current version {current}; fetch it and try again."
                ),
            ),
            StoreError::StaleList { current } => {
                let version = current.unverified_body().version;
                Self {
                    code: C::StaleList,
                    message: format!(
                        "The recipient list changed: re-wrap the report for descriptor version {version}, which this error carries."
                    ),
                    descriptor: Some(current.to_bytes()),
                }
            }
            StoreError::NotAllowed => Self::forbidden(),
            StoreError::Disabled => Self::new(C::Disabled, "This account is disabled."),
            StoreError::ReportIdConflict => Self::new(
                C::ReportIdConflict,
                "A different report already uses this report ID.",
            ),
            StoreError::Gone => Self::new(
                C::Gone,
                "This report was purged or deleted; its ID stays reserved.",
            ),
            StoreError::UnknownReport => Self::not_found("report"),
            StoreError::InviterNotManager => Self::new(
                C::BadInviteChain,
                "The manager who signed this invite no longer manages the program; ask a current manager for a new invite.",
            ),
            StoreError::CommitmentMismatch => Self::new(
                C::BadInviteChain,
                "The enrolment does not open the commitment logged at the leaf it names; start the enrolment again.",
            ),
            StoreError::Busy => Self::new(
                C::RateLimited,
                "The server is too busy to take this now; try again in a moment.",
            ),
            StoreError::UnknownUpload => Self::not_found("upload"),
            StoreError::UploadOffset { expected } => Self::new(
                C::UploadOffset,
                format!(
                    "The server has {expected} bytes of this stream; continue from offset {expected}."
                ),
            ),
            StoreError::Incomplete => Self::new(
                C::Invalid,
                "The upload is not complete; send the missing bytes first (GET the upload to see them).",
            ),
            StoreError::Invalid(why) => Self::new(C::Invalid, format!("Refused: {why}.")),
            StoreError::Backend(detail) => {
                tracing::error!(error = %detail, "storage failure");
                Self::internal()
            }
        }
    }
}

impl From<DecodeError> for ApiError {
    fn from(e: DecodeError) -> Self {
        Self::malformed("body", e)
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(_: actix_web::error::BlockingError) -> Self {
        tracing::error!("a blocking task was cancelled");
        Self::internal()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Parses a JSON body that was read as bytes, so that handlers check the
/// caller before they look at what the caller sent.
pub fn json<T: serde::de::DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    serde_json::from_slice(body).map_err(|e| ApiError::malformed("JSON body", e))
}

/// A safety net for refusals made outside the handlers (a body over the
/// limit, a broken connection): whatever the framework answered becomes the
/// usual JSON error, with the same status.
pub fn json_refusal<B>(
    res: actix_web::dev::ServiceResponse<B>,
) -> actix_web::Result<actix_web::middleware::ErrorHandlerResponse<B>> {
    let is_json = res
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return Ok(actix_web::middleware::ErrorHandlerResponse::Response(
            res.map_into_left_body(),
        ));
    }
    let status = res.status();
    let code = match status.as_u16() {
        413 => ErrorCode::TooLarge,
        401 => ErrorCode::Unauthenticated,
        403 => ErrorCode::Forbidden,
        404 | 405 => ErrorCode::NotFound,
        500..=599 => ErrorCode::Internal,
        _ => ErrorCode::Malformed,
    };
    let message = match code {
        ErrorCode::TooLarge => "The body is larger than this server accepts.",
        ErrorCode::Internal => "The server failed and stored nothing; try again later.",
        ErrorCode::NotFound => "No such endpoint.",
        _ => "The request is malformed.",
    };
    crate::metrics::METRICS.refusal(code);
    let (req, _) = res.into_parts();
    let body = HttpResponse::build(status).json(ErrorBody {
        error: code,
        message: message.into(),
        descriptor: None,
    });
    Ok(actix_web::middleware::ErrorHandlerResponse::Response(
        actix_web::dev::ServiceResponse::new(req, body).map_into_right_body(),
    ))
}
