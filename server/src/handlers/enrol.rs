//! Enrolment of staff, managers and auditors (one-time tokens) and of
//! shoppers (manager-signed invites), and the invites themselves.

use actix_web::{HttpResponse, web};
use sealdrop_api::{
    EnrolRequest, Enrolled, ErrorCode, InviteRegistration, Role, ShopperEnrolRequest, TokenIssued,
};
use sealdrop_proto::invite::{self, InviteToken, SignedEnrolment, SignedInvite};
use sealdrop_proto::keys::PublicIdentity;
use sealdrop_proto::messages::{AuthPurpose, AuthResponse};
use sealdrop_proto::signed::Signed;
use sealdrop_store::{EnrolmentToken, NewInvite, NewPerson, NewShopper, Person};

use crate::auth::{Caller, check_response};
use crate::clock::now;
use crate::error::{ApiError, ApiResult, json};
use crate::metrics::METRICS;
use crate::secrets;
use crate::state::{AppState, blocking};

/// How long a staff enrolment token a manager issues stays valid.
const STAFF_TOKEN_TTL: u64 = 7 * 24 * 3600;

fn enrolled(p: &Person) -> Enrolled {
    Enrolled {
        person: p.id.to_string(),
        role: p.role,
        organisation: p.organisation.name.clone(),
    }
}

fn bad_token() -> ApiError {
    ApiError::new(
        ErrorCode::BadToken,
        "The enrolment token is unknown, already used or expired; ask for a new one.",
    )
}

#[utoipa::path(post, path = "/v1/enrol", tag = "enrolment", request_body = EnrolRequest,
    responses((status = 201, body = Enrolled), (status = 403, body = sealdrop_api::ErrorBody)))]
pub async fn enrol(
    state: web::Data<AppState>,
    body: web::Json<EnrolRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let token_hash = secrets::enrolment_hash(&body.token).ok_or_else(bad_token)?;
    let identity = PublicIdentity::from_bundle(&body.identity)
        .map_err(|e| ApiError::malformed("identity", e))?;
    let response: Signed<AuthResponse> = body.response.decode()?;
    let person = blocking(&state, move |s| {
        check_response(s, &response, AuthPurpose::Enrol, &identity)?;
        Ok(s.store.enrol(NewPerson {
            token_hash,
            identity,
            now: now(),
        })?)
    })
    .await?;
    METRICS.enrolment();
    tracing::info!(role = %person.role, "person enrolled");
    Ok(HttpResponse::Created().json(enrolled(&person)))
}

#[utoipa::path(post, path = "/v1/enrol/shopper", tag = "enrolment", request_body = ShopperEnrolRequest,
    responses((status = 201, body = Enrolled), (status = 403, body = sealdrop_api::ErrorBody)))]
pub async fn enrol_shopper(
    state: web::Data<AppState>,
    body: web::Json<ShopperEnrolRequest>,
) -> ApiResult<HttpResponse> {
    let invite: SignedInvite = body.invite.decode()?;
    let enrolment: SignedEnrolment = body.enrolment.decode()?;
    let token: [u8; 32] = body
        .token
        .0
        .as_slice()
        .try_into()
        .map_err(|_| bad_token())?;
    let token_hash = InviteToken::from_bytes(token).hash();
    let person = blocking(&state, move |s| {
        let i = invite.unverified_body();
        if token_hash != i.token_hash {
            return Err(bad_token());
        }
        let now = now();
        if now > i.expires_at {
            return Err(bad_token());
        }
        let chain_error = |why: String| ApiError::new(ErrorCode::BadInviteChain, why);
        let descriptor = s
            .store
            .descriptor(&i.program_id, i.descriptor_version)?
            .ok_or_else(|| {
                chain_error("The invite names a program version this server does not hold.".into())
            })?;
        invite::verify_shopper_chain(&enrolment, &invite, &descriptor).map_err(|e| {
            chain_error(format!(
                "The enrolment does not chain to a manager's invite: {e}."
            ))
        })?;
        if enrolment.unverified_body().enrolled_at.abs_diff(now) > invite::CLOCK_SKEW_SECS {
            return Err(chain_error(
                "The enrolment's time is too far from the server's clock; check your clock.".into(),
            ));
        }
        Ok(s.store.enrol_shopper(NewShopper {
            token_hash,
            invite,
            enrolment,
            now,
        })?)
    })
    .await?;
    METRICS.enrolment();
    tracing::info!(role = "shopper", "person enrolled");
    Ok(HttpResponse::Created().json(enrolled(&person)))
}

#[utoipa::path(post, path = "/v1/invites/staff", tag = "enrolment",
    responses((status = 201, body = TokenIssued), (status = 403, body = sealdrop_api::ErrorBody)))]
pub async fn staff_invite(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    let org = caller.require(&[Role::Manager])?.organisation.id;
    let (token, hash) = secrets::new_enrolment_token();
    let expires_at = now() + STAFF_TOKEN_TTL;
    blocking(&state, move |s| {
        Ok(s.store.issue_enrolment_token(EnrolmentToken {
            hash,
            org,
            role: Role::Staff,
            expires_at,
        })?)
    })
    .await?;
    Ok(HttpResponse::Created().json(TokenIssued {
        token: token.to_string(),
        expires_at,
    }))
}

#[utoipa::path(post, path = "/v1/invites/shopper", tag = "enrolment", request_body = InviteRegistration,
    responses((status = 201), (status = 403, body = sealdrop_api::ErrorBody)))]
pub async fn shopper_invite(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let manager = caller.require(&[Role::Manager])?.clone();
    let body: InviteRegistration = json(&body)?;
    let invite: SignedInvite = body.invite.decode()?;
    blocking(&state, move |s| {
        let i = invite.unverified_body();
        super::programs::visible_program(s, &manager, &i.program_id)?;
        let descriptor = s
            .store
            .descriptor(&i.program_id, i.descriptor_version)?
            .ok_or_else(|| ApiError::not_found("descriptor version"))?;
        let signer = invite::verify_invite_against(&invite, &descriptor).map_err(|e| {
            ApiError::new(ErrorCode::BadSignature, format!("The invite does not verify: {e}."))
        })?;
        if signer != manager.id {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "Register only invites you signed.",
            ));
        }
        let current = s.current_descriptor(&i.program_id, 0)?;
        if !current.unverified_body().is_manager(&manager.id) {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "You no longer manage this program, so your invites are not accepted.",
            ));
        }
        if i.log_key != s.log_key.verifying_key().to_bytes() || i.log_origin != s.log_origin {
            return Err(ApiError::new(
                ErrorCode::Invalid,
                "The invite pins another server's log key or origin; fetch /v1/server and sign again.",
            ));
        }
        Ok(s.store.register_invite(NewInvite {
            invite,
            now: now(),
        })?)
    })
    .await?;
    Ok(HttpResponse::Created().finish())
}
