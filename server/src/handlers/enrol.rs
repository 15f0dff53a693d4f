//! Enrolment of staff, managers and auditors (one-time tokens) and of
//! shoppers (manager-signed invites), and the invites themselves.

use actix_web::{HttpResponse, web};
use sealdrop_api::{
    CommitmentLogged, EnrolCommitment, EnrolRequest, Enrolled, ErrorCode, InviteRegistration, Role,
    ShopperEnrolRequest, TokenIssued,
};
use sealdrop_proto::ids::ProgramId;
use sealdrop_proto::invite::{self, SignedEnrolment, SignedInvite};
use sealdrop_proto::keys::PublicIdentity;
use sealdrop_proto::messages::{AuthPurpose, AuthResponse};
use sealdrop_proto::signed::Signed;
use sealdrop_store::{
    EnrolledShopper, EnrolmentToken, NewCommitment, NewInvite, NewPerson, NewShopper, Person,
};

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
        enrolled_at: None,
        log: None,
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

#[utoipa::path(post, path = "/v1/enrol/commit", tag = "enrolment", request_body = EnrolCommitment,
    responses((status = 201, body = CommitmentLogged), (status = 403, body = sealdrop_api::ErrorBody)))]
pub async fn commit(
    state: web::Data<AppState>,
    body: web::Json<EnrolCommitment>,
) -> ApiResult<HttpResponse> {
    let digest = |b: &sealdrop_api::B64, field: &'static str| -> ApiResult<[u8; 32]> {
        b.0.as_slice().try_into().map_err(|_| {
            ApiError::new(
                ErrorCode::Malformed,
                format!("The {field} must be 32 bytes."),
            )
        })
    };
    let token_hash = digest(&body.token_hash, "token hash")?;
    let commitment = digest(&body.commitment, "commitment")?;
    let committed_at = now();
    let leaf = blocking(&state, move |s| {
        Ok(s.store.commit_enrolment(NewCommitment {
            token_hash,
            commitment,
            now: committed_at,
        })?)
    })
    .await
    .map_err(|e| match e.code {
        ErrorCode::BadToken => bad_token(),
        _ => e,
    })?;
    let log = match state.cached_log_proof(leaf) {
        Some(proof) => proof?,
        None => blocking(&state, move |s| s.log_proof(leaf)).await?,
    };
    Ok(HttpResponse::Created().json(CommitmentLogged { committed_at, log }))
}

#[utoipa::path(post, path = "/v1/enrol/shopper", tag = "enrolment", request_body = ShopperEnrolRequest,
    responses((status = 201, body = Enrolled), (status = 403, body = sealdrop_api::ErrorBody)))]
pub async fn enrol_shopper(
    state: web::Data<AppState>,
    body: web::Json<ShopperEnrolRequest>,
) -> ApiResult<HttpResponse> {
    let invite: SignedInvite = body.invite.decode()?;
    let enrolment: SignedEnrolment = body.enrolment.decode()?;
    let outcome = blocking(&state, move |s| {
        let i = invite.unverified_body();
        if enrolment.unverified_body().token_hash() != i.token_hash {
            return Err(bad_token());
        }
        let now = now();
        if now > i.expires_at {
            return Err(bad_token());
        }
        if i.log_key != s.log_key.verifying_key().to_bytes() || i.log_origin != s.log_origin {
            return Err(ApiError::new(
                ErrorCode::Invalid,
                "The invite pins another server's log key or origin; ask the program's manager for a new invite.",
            ));
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
        let shopper = s.store.enrol_shopper(NewShopper {
            invite,
            enrolment,
            now,
        })?;
        Ok((shopper, now))
    })
    .await?;
    let (EnrolledShopper { person, leaf }, at) = outcome;
    let log = match state.cached_log_proof(leaf) {
        Some(proof) => proof?,
        None => blocking(&state, move |s| s.log_proof(leaf)).await?,
    };
    METRICS.enrolment();
    tracing::info!(role = "shopper", "person enrolled");
    Ok(HttpResponse::Created().json(Enrolled {
        enrolled_at: Some(at),
        log: Some(log),
        ..enrolled(&person)
    }))
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
    let program: ProgramId = body
        .program
        .parse()
        .map_err(|e| ApiError::malformed("program", e))?;
    let token_hash: [u8; 32] = body
        .token_hash
        .0
        .as_slice()
        .try_into()
        .map_err(|_| ApiError::new(ErrorCode::Malformed, "The token hash must be 32 bytes."))?;
    let expires_at = body.expires_at;
    blocking(&state, move |s| {
        super::programs::visible_program(s, &manager, &program)?;
        let current = s.current_descriptor(&program, 0)?;
        if !current.unverified_body().is_manager(&manager.id) {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "Only a manager of the program registers its invites.",
            ));
        }
        if expires_at <= now() {
            return Err(ApiError::new(
                ErrorCode::Invalid,
                "The invite has expired already.",
            ));
        }
        Ok(s.store.register_invite(NewInvite {
            program,
            token_hash,
            expires_at,
        })?)
    })
    .await?;
    Ok(HttpResponse::Created().finish())
}
