//! `GET /v1/people/{person}`: a person's public keys and role, for the
//! people of their organisation. Clients check the keys against the ID
//! (which commits to them) and against a fingerprint read aloud; for a
//! shopper the signed invite and enrolment come too, so a reviewer can check
//! the chain to a manager before trusting a report.

use actix_web::{HttpResponse, web};
use sealdrop_api::{AuditEnrolment, B64, Role};
use sealdrop_proto::ids::PersonId;
use sealdrop_store::Person;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, blocking};

#[utoipa::path(get, path = "/v1/people/{person}", tag = "people",
    params(("person" = String, Path, description = "person ID (sd…)")),
    responses((status = 200, body = AuditEnrolment), (status = 404, body = sealdrop_api::ErrorBody)))]
pub async fn show(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let org = caller
        .require(&[Role::Manager, Role::Staff, Role::Auditor])?
        .organisation
        .id;
    let id: PersonId = path.parse().map_err(|_| ApiError::not_found("person"))?;
    let person = blocking(&state, move |s| {
        s.store
            .person_record(&id)?
            .filter(|p| p.organisation.id == org)
            .ok_or_else(|| ApiError::not_found("person"))
    })
    .await?;
    Ok(HttpResponse::Ok().json(public_record(&person)))
}

/// A person as others may see them: keys, role, status, and for a shopper
/// the signed invite and enrolment.
pub fn public_record(person: &Person) -> AuditEnrolment {
    AuditEnrolment {
        person: person.id.to_string(),
        role: person.role,
        identity: person.identity.to_bundle(),
        enrolled_at: person.enrolled_at,
        disabled: person.disabled,
        invite: person.shopper.as_ref().map(|r| B64::of(&r.invite)),
        enrolment: person.shopper.as_ref().map(|r| B64::of(&r.enrolment)),
    }
}
