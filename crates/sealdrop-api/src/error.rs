use serde::{Deserialize, Serialize};

use crate::B64;

/// Every refusal the server can give, with its HTTP status: the one place
/// where error classes meet wire codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum ErrorCode {
    /// The body is not the JSON or binary it should be.
    Malformed,
    /// The body or an upload is larger than the server accepts.
    TooLarge,
    /// No bearer token, or one the server does not know or that expired.
    Unauthenticated,
    /// The caller is authenticated but may not do this.
    Forbidden,
    /// The account is disabled.
    Disabled,
    /// No such thing, or none the caller may see.
    NotFound,
    /// The challenge is unknown, used or expired, or the response is stale.
    BadChallenge,
    /// A signature does not verify, or was made by the wrong key.
    BadSignature,
    /// The one-time enrolment token is unknown, used or expired.
    BadToken,
    /// The shopper's enrolment does not chain to a manager's invite.
    BadInviteChain,
    /// The person is already enrolled.
    AlreadyEnrolled,
    /// The report was sealed to a recipient list that has since changed.
    StaleList,
    /// A different report already uses this ID.
    ReportIdConflict,
    /// The report was purged or deleted; its ID stays reserved.
    Gone,
    /// A descriptor that does not chain from the current version.
    DescriptorConflict,
    /// A descriptor, grant or report that is well-formed but wrong.
    Invalid,
    /// Uploaded ciphertext that does not match the signed digest.
    CiphertextMismatch,
    /// An upload continued at the wrong offset.
    UploadOffset,
    /// Too many requests.
    RateLimited,
    /// The server failed; nothing was stored.
    Internal,
}

impl ErrorCode {
    pub fn status(self) -> u16 {
        match self {
            Self::Malformed | Self::BadSignature | Self::Invalid | Self::CiphertextMismatch => 400,
            Self::Unauthenticated | Self::BadChallenge => 401,
            Self::Forbidden | Self::Disabled | Self::BadToken | Self::BadInviteChain => 403,
            Self::NotFound => 404,
            Self::AlreadyEnrolled
            | Self::StaleList
            | Self::ReportIdConflict
            | Self::DescriptorConflict
            | Self::UploadOffset => 409,
            Self::Gone => 410,
            Self::TooLarge => 413,
            Self::RateLimited => 429,
            Self::Internal => 500,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::TooLarge => "too-large",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::Disabled => "disabled",
            Self::NotFound => "not-found",
            Self::BadChallenge => "bad-challenge",
            Self::BadSignature => "bad-signature",
            Self::BadToken => "bad-token",
            Self::BadInviteChain => "bad-invite-chain",
            Self::AlreadyEnrolled => "already-enrolled",
            Self::StaleList => "stale-list",
            Self::ReportIdConflict => "report-id-conflict",
            Self::Gone => "gone",
            Self::DescriptorConflict => "descriptor-conflict",
            Self::Invalid => "invalid",
            Self::CiphertextMismatch => "ciphertext-mismatch",
            Self::UploadOffset => "upload-offset",
            Self::RateLimited => "rate-limited",
            Self::Internal => "internal",
        }
    }

    pub const ALL: [Self; 20] = [
        Self::Malformed,
        Self::TooLarge,
        Self::Unauthenticated,
        Self::Forbidden,
        Self::Disabled,
        Self::NotFound,
        Self::BadChallenge,
        Self::BadSignature,
        Self::BadToken,
        Self::BadInviteChain,
        Self::AlreadyEnrolled,
        Self::StaleList,
        Self::ReportIdConflict,
        Self::Gone,
        Self::DescriptorConflict,
        Self::Invalid,
        Self::CiphertextMismatch,
        Self::UploadOffset,
        Self::RateLimited,
        Self::Internal,
    ];
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of every refusal: `{"error": "<code>", "message": "<one sentence>"}`.
/// A `stale-list` refusal also carries the current descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub descriptor: Option<B64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_names_match_as_str() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert!((400..600).contains(&code.status()), "{code}");
        }
    }

    #[test]
    fn stale_list_is_409() {
        assert_eq!(ErrorCode::StaleList.status(), 409);
        assert_eq!(ErrorCode::Gone.status(), 410);
    }
}
