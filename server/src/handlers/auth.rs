//! Challenges and sessions.

use actix_web::{HttpResponse, web};
use sealdrop_api::{B64, Challenge, ErrorCode, Me, Session, SessionRequest};
use sealdrop_proto::messages::{AuthPurpose, AuthResponse};
use sealdrop_proto::signed::Signed;

use crate::auth::{Caller, check_response};
use crate::clock::now;
use crate::error::{ApiError, ApiResult};
use crate::secrets;
use crate::state::{AppState, blocking};

/// How long a challenge may be answered.
const CHALLENGE_TTL: u64 = 120;
/// How long a bearer token lives; clients sign in again after.
pub const SESSION_TTL: u64 = 15 * 60;

#[utoipa::path(post, path = "/v1/auth/challenge", tag = "auth",
    responses((status = 200, body = Challenge)))]
pub async fn challenge(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let nonce = secrets::random32();
    let hash = secrets::challenge_hash(&nonce);
    let expires_at = now() + CHALLENGE_TTL;
    blocking(&state, move |s| {
        Ok(s.store.put_challenge(hash, expires_at)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Challenge {
        nonce: B64(nonce.to_vec()),
        expires_at,
    }))
}

#[utoipa::path(post, path = "/v1/auth/session", tag = "auth", request_body = SessionRequest,
    responses((status = 200, body = Session), (status = 401, body = sealdrop_api::ErrorBody)))]
pub async fn session(
    state: web::Data<AppState>,
    body: web::Json<SessionRequest>,
) -> ApiResult<HttpResponse> {
    let response: Signed<AuthResponse> = body.response.decode()?;
    let session = blocking(&state, move |s| {
        let unknown = || {
            ApiError::new(
                ErrorCode::Unauthenticated,
                "No enrolled person has this ID on this server.",
            )
        };
        let person = s
            .store
            .person(&response.unverified_body().person)?
            .ok_or_else(unknown)?;
        check_response(s, &response, AuthPurpose::Session, &person.identity)?;
        if person.disabled {
            return Err(ApiError::new(
                ErrorCode::Disabled,
                "This account is disabled.",
            ));
        }
        let (token, hash) = secrets::new_session_token();
        let expires_at = now() + s.session_ttl;
        s.store.put_session(hash, &person.id, expires_at)?;
        Ok(Session {
            token: token.to_string(),
            expires_at,
            person: person.id.to_string(),
            role: person.role,
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(session))
}

#[utoipa::path(get, path = "/v1/me", tag = "auth",
    responses((status = 200, body = Me), (status = 401, body = sealdrop_api::ErrorBody)))]
pub async fn me(caller: Caller) -> HttpResponse {
    let p = caller.0;
    HttpResponse::Ok().json(Me {
        person: p.id.to_string(),
        role: p.role,
        organisation: p.organisation.name,
    })
}
