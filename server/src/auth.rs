//! Who is calling: a bearer token from `POST /v1/auth/session`, looked up by
//! hash, and the person's current status.

use std::time::{Duration, Instant};

use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use futures_util::future::LocalBoxFuture;
use sealdrop_api::{ErrorCode, Role};
use sealdrop_proto::messages::{AuthPurpose, AuthResponse};
use sealdrop_proto::signed::Signed;
use sealdrop_store::Person;

use crate::clock::now;
use crate::error::{ApiError, ApiResult};
use crate::secrets;
use crate::state::{AppState, blocking};

/// An authenticated, enabled person.
#[derive(Debug)]
pub struct Caller(pub Person);

fn unauthenticated() -> ApiError {
    ApiError::new(
        ErrorCode::Unauthenticated,
        "Sign in first: the bearer token is missing, unknown or expired.",
    )
}

impl Caller {
    /// Refuses unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> ApiResult<&Person> {
        if roles.contains(&self.0.role) {
            Ok(&self.0)
        } else {
            Err(ApiError::forbidden())
        }
    }
}

/// The hash of the request's bearer token, if it carries a well-formed one.
fn bearer_hash(req: &HttpRequest) -> Option<[u8; 32]> {
    req.headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(secrets::session_hash)
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let hash = bearer_hash(req);
        Box::pin(async move {
            let state = state.ok_or_else(ApiError::internal)?;
            let hash = hash.ok_or_else(unauthenticated)?;
            let person = blocking(&state, move |s| {
                let id = s.store.session(hash, now())?.ok_or_else(unauthenticated)?;
                s.store.person(&id)?.ok_or_else(unauthenticated)
            })
            .await?;
            if person.disabled {
                return Err(ApiError::new(
                    ErrorCode::Disabled,
                    "This account is disabled.",
                ));
            }
            Ok(Caller(person))
        })
    }
}

/// How long a submitting shopper's session lookup is reused.
const SUBMITTER_REUSE: Duration = Duration::from_secs(5);
const SUBMITTERS_MAX: usize = 100_000;

/// A shopper on the submission path, where each request's session lookup
/// would otherwise cost a hop to the blocking pool. A lookup is reused for
/// a few seconds. That is safe here and nowhere else: the store re-checks,
/// inside the very transaction that stores a report, that the shopper is
/// enrolled in the program and enabled. A disabled shopper's report is
/// refused either way; only the code differs (`disabled` rather than
/// `unauthenticated`) for those few seconds.
#[derive(Debug)]
pub struct Submitter(pub Person);

impl FromRequest for Submitter {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let hash = bearer_hash(req);
        let recent = state.as_ref().zip(hash).and_then(|(s, h)| {
            let map = s.recent_submitters.lock().ok()?;
            map.get(&h)
                .filter(|(_, at)| at.elapsed() < SUBMITTER_REUSE)
                .map(|(p, _)| p.clone())
        });
        let full = Caller::from_request(req, payload);
        Box::pin(async move {
            if let Some(person) = recent {
                return Ok(Submitter(person));
            }
            let Caller(person) = full.await?;
            let cache = state
                .as_ref()
                .filter(|_| person.role == Role::Shopper)
                .and_then(|s| s.recent_submitters.lock().ok());
            if let (Some(mut map), Some(hash)) = (cache, hash) {
                if map.len() >= SUBMITTERS_MAX {
                    map.clear();
                }
                map.insert(hash, (person.clone(), Instant::now()));
            }
            Ok(Submitter(person))
        })
    }
}

/// Checks a signed challenge response: for this server's origin, for
/// `purpose`, fresh, signed by `signer`'s key, and over a challenge this
/// server issued and nobody used. Consumes the challenge.
pub fn check_response(
    s: &AppState,
    response: &Signed<AuthResponse>,
    purpose: AuthPurpose,
    signer: &sealdrop_proto::keys::PublicIdentity,
) -> ApiResult<()> {
    let body = response.unverified_body();
    let bad = |why: &str| ApiError::new(ErrorCode::BadChallenge, why.to_owned());
    if body.purpose != purpose {
        return Err(bad("The challenge response is for another purpose."));
    }
    if !s.origins.contains(&body.origin) {
        return Err(bad("The challenge response names another server."));
    }
    if !body.is_fresh(now()) {
        return Err(bad(
            "The challenge response's time is too far from the server's clock; check your clock.",
        ));
    }
    if body.person != signer.id() {
        return Err(bad("The challenge response names another person."));
    }
    response.verify_by(signer).map_err(|_| {
        ApiError::new(
            ErrorCode::BadSignature,
            "The challenge response's signature does not verify.",
        )
    })?;
    if !s
        .store
        .take_challenge(secrets::challenge_hash(&body.nonce), now())?
    {
        return Err(bad(
            "The challenge is unknown, used or expired; ask for a new one.",
        ));
    }
    Ok(())
}
