//! Programs and their descriptor chains; grants.

use actix_web::{HttpResponse, web};
use sealdrop_api::{
    B64, DescriptorAccepted, DescriptorBody, DescriptorChainBody, ErrorCode, GrantAccepted,
    GrantUpload, ProgramSummary, Role,
};
use sealdrop_proto::descriptor::{
    DescriptorChain, DescriptorError, ProgramDescriptor, SignedDescriptor,
};
use sealdrop_proto::ids::{PersonId, ProgramId};
use sealdrop_proto::report::{Envelope, SignedGrant, grant};
use sealdrop_store::{NewGrant, Person, Program};

use crate::auth::Caller;
use crate::clock::now;
use crate::error::{ApiError, ApiResult, json};
use crate::state::{AppState, blocking};

/// The program, if `who` may see it: same organisation, and for a shopper
/// only their own program. Anything else is "not found", so organisations
/// cannot probe each other.
pub fn visible_program(s: &AppState, who: &Person, id: &ProgramId) -> ApiResult<Program> {
    let program = s
        .store
        .program(id)?
        .filter(|p| p.org == who.organisation.id)
        .filter(|p| who.role != Role::Shopper || who.program == Some(p.id))
        .ok_or_else(|| ApiError::not_found("program"))?;
    Ok(program)
}

/// Everyone a descriptor adds (to `before`, or all of a first version)
/// must be enrolled in the program's organisation and enabled: recipients
/// as managers or staff, managers as managers. The signatures are the
/// authority; this keeps a list from naming strangers by mistake.
fn check_people(
    s: &AppState,
    org: i64,
    before: Option<&ProgramDescriptor>,
    after: &ProgramDescriptor,
) -> ApiResult<()> {
    let added = |list: &[sealdrop_proto::PublicIdentity],
                 old: Option<&[sealdrop_proto::PublicIdentity]>| {
        list.iter()
            .filter(|p| old.is_none_or(|o| !o.contains(p)))
            .map(|p| p.id())
            .collect::<Vec<_>>()
    };
    let checks = [
        (
            added(&after.recipients, before.map(|b| b.recipients.as_slice())),
            &[Role::Manager, Role::Staff][..],
            "recipient",
        ),
        (
            added(&after.managers, before.map(|b| b.managers.as_slice())),
            &[Role::Manager][..],
            "manager",
        ),
    ];
    for (ids, roles, what) in checks {
        for id in ids {
            let ok = s.store.person(&id)?.is_some_and(|p| {
                p.organisation.id == org && !p.disabled && roles.contains(&p.role)
            });
            if !ok {
                return Err(ApiError::new(
                    ErrorCode::Invalid,
                    format!(
                        "The descriptor names {id} as a {what}, who is not an enabled {what} of this organisation on this server."
                    ),
                ));
            }
        }
    }
    Ok(())
}

pub fn parse_program(text: &str) -> ApiResult<ProgramId> {
    text.parse().map_err(|_| ApiError::not_found("program"))
}

fn descriptor_error(e: DescriptorError) -> ApiError {
    match e {
        DescriptorError::BadSignature { .. } => ApiError::new(
            ErrorCode::BadSignature,
            format!("The descriptor's signature does not verify: {e}."),
        ),
        DescriptorError::UnauthorisedSigner { .. } => ApiError::new(
            ErrorCode::Forbidden,
            format!("The descriptor is not signed by a manager of the current version: {e}."),
        ),
        DescriptorError::Rollback { .. }
        | DescriptorError::Fork { .. }
        | DescriptorError::NotSuccessor { .. }
        | DescriptorError::BrokenLink { .. } => ApiError::new(
            ErrorCode::DescriptorConflict,
            format!("The descriptor does not chain from the current version: {e}."),
        ),
        other => ApiError::new(
            ErrorCode::Invalid,
            format!("The descriptor is refused: {other}."),
        ),
    }
}

/// The answer to a descriptor change, with its `descriptor` leaf's proof.
async fn with_descriptor_proof(
    state: &web::Data<AppState>,
    (accepted, leaf): (DescriptorAccepted, u64),
) -> ApiResult<DescriptorAccepted> {
    let log = match state.cached_log_proof(leaf) {
        Some(proof) => proof?,
        None => blocking(state, move |s| s.log_proof(leaf)).await?,
    };
    Ok(DescriptorAccepted {
        log: Some(log),
        ..accepted
    })
}

#[utoipa::path(post, path = "/v1/programs", tag = "programs", request_body = DescriptorBody,
    responses((status = 201, body = DescriptorAccepted), (status = 403, body = sealdrop_api::ErrorBody)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let manager = caller.require(&[Role::Manager])?.clone();
    let body: DescriptorBody = json(&body)?;
    let first: SignedDescriptor = body.descriptor.decode()?;
    let accepted = blocking(&state, move |s| {
        let chain = DescriptorChain::genesis(first).map_err(descriptor_error)?;
        let d = chain.current();
        check_people(s, manager.organisation.id, None, d)?;
        if !d.is_manager(&manager.id) {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "Name yourself as a manager of the programs you create.",
            ));
        }
        let at = now();
        let leaf = s
            .store
            .create_program(manager.organisation.id, chain.current_signed(), at)?;
        Ok((
            DescriptorAccepted {
                program: d.program_id.to_string(),
                version: d.version,
                revoked: Vec::new(),
                logged_at: at,
                log: None,
            },
            leaf,
        ))
    })
    .await?;
    let accepted = with_descriptor_proof(&state, accepted).await?;
    Ok(HttpResponse::Created().json(accepted))
}

#[utoipa::path(get, path = "/v1/programs", tag = "programs",
    responses((status = 200, body = Vec<ProgramSummary>)))]
pub async fn list(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    let who = caller
        .require(&[Role::Manager, Role::Staff, Role::Auditor, Role::Shopper])?
        .clone();
    let programs = blocking(&state, move |s| {
        let programs = s.store.programs(who.organisation.id)?;
        Ok(programs
            .into_iter()
            .filter(|p| match who.role {
                Role::Shopper => who.program == Some(p.id),
                Role::Staff => p.current.unverified_body().is_recipient(&who.id),
                _ => true,
            })
            .map(|p| {
                let d = p.current.unverified_body();
                ProgramSummary {
                    program: p.id.to_string(),
                    name: d.name.clone(),
                    version: d.version,
                    report_count: p.report_count,
                }
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(HttpResponse::Ok().json(programs))
}

const READERS: &[Role] = &[Role::Manager, Role::Staff, Role::Auditor, Role::Shopper];

#[utoipa::path(get, path = "/v1/programs/{program}/descriptor", tag = "programs",
    params(("program" = String, Path, description = "program ID (sdp…)")),
    responses((status = 200, body = DescriptorBody), (status = 404, body = sealdrop_api::ErrorBody)))]
pub async fn descriptor(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let who = caller.require(READERS)?.clone();
    let id = parse_program(&path)?;
    let current = blocking(&state, move |s| Ok(visible_program(s, &who, &id)?.current)).await?;
    Ok(HttpResponse::Ok().json(DescriptorBody {
        descriptor: B64::of(&current),
    }))
}

#[utoipa::path(get, path = "/v1/programs/{program}/descriptors", tag = "programs",
    params(("program" = String, Path, description = "program ID (sdp…)")),
    responses((status = 200, body = DescriptorChainBody), (status = 404, body = sealdrop_api::ErrorBody)))]
pub async fn descriptors(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let who = caller.require(READERS)?.clone();
    let id = parse_program(&path)?;
    let versions = blocking(&state, move |s| {
        visible_program(s, &who, &id)?;
        Ok(s.store.descriptors(&id)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(DescriptorChainBody {
        versions: versions.iter().map(B64::of).collect(),
    }))
}

#[utoipa::path(get, path = "/v1/programs/{program}/head", tag = "programs",
    params(("program" = String, Path, description = "program ID"), sealdrop_api::log::HeadQuery),
    responses((status = 200, body = sealdrop_api::log::HeadBody), (status = 404, body = sealdrop_api::ErrorBody)))]
pub async fn head(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<sealdrop_api::log::HeadQuery>,
) -> ApiResult<HttpResponse> {
    let who = caller.require(READERS)?.clone();
    let id = parse_program(&path)?;
    let size = query.into_inner().size;
    let proof = blocking(&state, move |s| {
        visible_program(s, &who, &id)?;
        if size == 0 || size > s.store.log_head()?.size {
            return Err(ApiError::new(
                ErrorCode::Invalid,
                "The log has no checkpoint of that size; ask for the latest checkpoint first.",
            ));
        }
        s.store
            .log_heads_at(size)?
            .prove(&id)
            .ok_or_else(|| ApiError::not_found("program head at that size"))
    })
    .await?;
    Ok(HttpResponse::Ok().json(head_body(&proof)))
}

fn head_body(proof: &sealdrop_proto::log::heads::HeadProof) -> sealdrop_api::log::HeadBody {
    sealdrop_api::log::HeadBody {
        version: proof.head.version,
        descriptor: B64(proof.head.descriptor.to_vec()),
        index: proof.index,
        count: proof.count,
        path: proof.path.iter().map(|h| B64(h.to_vec())).collect(),
    }
}

#[utoipa::path(get, path = "/v1/programs/{program}/current", tag = "programs",
    params(("program" = String, Path, description = "program ID"), sealdrop_api::log::CurrentQuery),
    responses((status = 200, body = sealdrop_api::log::CurrentBody), (status = 404, body = sealdrop_api::ErrorBody)))]
pub async fn current(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<sealdrop_api::log::CurrentQuery>,
) -> ApiResult<HttpResponse> {
    let who = caller.require(READERS)?.clone();
    let id = parse_program(&path)?;
    let q = query.into_inner();
    let body = blocking(&state, move |s| {
        let program = visible_program(s, &who, &id)?;
        let signed = s.checkpoint_covering(0)?;
        let size = signed.head.size;
        let consistency = match q.kept {
            Some(kept) if kept <= size => s.store.log_consistency(kept, size)?,
            _ => Vec::new(),
        };
        let head = s
            .store
            .log_heads_at(size)?
            .prove(&id)
            .ok_or_else(|| ApiError::not_found("program head"))?;
        let current = program.current.unverified_body().version;
        let versions = if q.after < current {
            s.store
                .descriptors(&id)?
                .iter()
                .filter(|d| d.unverified_body().version > q.after)
                .map(B64::of)
                .collect()
        } else {
            Vec::new()
        };
        Ok(sealdrop_api::log::CurrentBody {
            checkpoint: signed.note.clone(),
            consistency: consistency.iter().map(|h| B64(h.to_vec())).collect(),
            head: head_body(&head),
            current,
            versions,
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// Checks that `next` is the successor of the program's current descriptor,
/// signed by one of its managers, adding only enabled people of the
/// organisation, and names who it removes.
fn check_successor(
    s: &AppState,
    program: &Program,
    next: SignedDescriptor,
) -> ApiResult<(SignedDescriptor, Vec<PersonId>)> {
    let mut chain = DescriptorChain::resume_trusted(program.current.clone());
    chain.advance(next).map_err(descriptor_error)?;
    let before = program.current.unverified_body();
    let after = chain.current();
    check_people(s, program.org, Some(before), after)?;
    let revoked = before
        .recipients
        .iter()
        .map(|r| r.id())
        .filter(|id| !after.is_recipient(id))
        .collect();
    Ok((chain.current_signed().clone(), revoked))
}

#[utoipa::path(put, path = "/v1/programs/{program}/descriptor", tag = "programs",
    params(("program" = String, Path, description = "program ID (sdp…)")),
    request_body = DescriptorBody,
    responses((status = 200, body = DescriptorAccepted), (status = 409, body = sealdrop_api::ErrorBody)))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let manager = caller.require(&[Role::Manager])?.clone();
    let id = parse_program(&path)?;
    let accepted = blocking(&state, move |s| {
        let program = visible_program(s, &manager, &id)?;
        let body: DescriptorBody = json(&body)?;
        let next: SignedDescriptor = body.descriptor.decode()?;
        if next.unverified_body().program_id != id {
            return Err(ApiError::new(
                ErrorCode::Invalid,
                "The descriptor is for another program.",
            ));
        }
        let (next, revoked) = check_successor(s, &program, next)?;
        let at = now();
        let leaf = s.store.advance_descriptor(&next, &revoked, at)?;
        s.remember(std::sync::Arc::new(next.clone()));
        if !revoked.is_empty() {
            tracing::info!(count = revoked.len(), "recipients revoked");
        }
        Ok((
            DescriptorAccepted {
                program: id.to_string(),
                version: next.unverified_body().version,
                revoked: revoked.iter().map(ToString::to_string).collect(),
                logged_at: at,
                log: None,
            },
            leaf,
        ))
    })
    .await?;
    let accepted = with_descriptor_proof(&state, accepted).await?;
    Ok(HttpResponse::Ok().json(accepted))
}

#[utoipa::path(post, path = "/v1/programs/{program}/grants", tag = "programs",
    params(("program" = String, Path, description = "program ID (sdp…)")),
    request_body = GrantUpload,
    responses((status = 200, body = GrantAccepted), (status = 409, body = sealdrop_api::ErrorBody)))]
pub async fn grant(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let manager = caller.require(&[Role::Manager])?.clone();
    let id = parse_program(&path)?;
    let accepted = blocking(&state, move |s| {
        let program = visible_program(s, &manager, &id)?;
        let body: GrantUpload = json(&body)?;
        let next: Option<SignedDescriptor> =
            body.descriptor.as_ref().map(B64::decode).transpose()?;
        let signed_grant: SignedGrant = body.grant.decode()?;
        let envelopes: Vec<Envelope> = body
            .envelopes
            .iter()
            .map(B64::decode)
            .collect::<Result<_, _>>()?;
        let (descriptor, revoked) = match next {
            Some(next) => {
                let (next, revoked) = check_successor(s, &program, next)?;
                (Some(next), revoked)
            }
            None => (None, Vec::new()),
        };
        if !revoked.is_empty() {
            return Err(ApiError::new(
                ErrorCode::Invalid,
                "A grant's descriptor may add a recipient, not remove one; revoke separately.",
            ));
        }
        let target = descriptor.as_ref().unwrap_or(&program.current);
        let record = grant::verify_grant(&signed_grant, target.unverified_body()).map_err(|e| {
            ApiError::new(ErrorCode::Invalid, format!("The grant is refused: {e}."))
        })?;
        let recipient = record.recipient.id();
        if envelopes.len() != record.envelopes.len()
            || record
                .envelopes
                .iter()
                .zip(&envelopes)
                .any(|((report, hash), e)| {
                    e.recipient != recipient
                        || !record.covers(report, &e.hash())
                        || *hash != e.hash()
                })
        {
            return Err(ApiError::new(
                ErrorCode::Invalid,
                "The envelopes are not exactly those the grant record names, in its order.",
            ));
        }
        let version = target.unverified_body().version;
        let stored = descriptor.clone();
        let logged_at = now();
        let done = s.store.grant(NewGrant {
            descriptor,
            grant: signed_grant,
            envelopes,
            now: logged_at,
        })?;
        if let Some(d) = stored {
            s.remember(std::sync::Arc::new(d));
        }
        Ok(GrantAccepted {
            version,
            missing: done.missing.iter().map(ToString::to_string).collect(),
            logged_at,
            log: Some(s.log_proof(done.granted_leaf)?),
            descriptor_log: done.descriptor_leaf.map(|l| s.log_proof(l)).transpose()?,
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(accepted))
}

/// The largest questionnaire accepted.
const MAX_QUESTIONNAIRE: usize = 1024 * 1024;

#[utoipa::path(put, path = "/v1/programs/{program}/questionnaire", tag = "programs",
    params(("program" = String, Path, description = "program ID (sdp…)")),
    request_body(content = Vec<u8>, content_type = "application/json", description = "the questionnaire document, byte for byte"),
    responses((status = 204), (status = 400, body = sealdrop_api::ErrorBody)))]
pub async fn put_questionnaire(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let manager = caller.require(&[Role::Manager])?.clone();
    let id = parse_program(&path)?;
    if body.len() > MAX_QUESTIONNAIRE {
        return Err(ApiError::new(
            ErrorCode::TooLarge,
            "A questionnaire is at most 1 MiB.",
        ));
    }
    blocking(&state, move |s| {
        visible_program(s, &manager, &id)?;
        let digest = sealdrop_proto::hash::questionnaire_digest(&body);
        let signed = s
            .store
            .descriptors(&id)?
            .iter()
            .any(|d| d.unverified_body().questionnaire_digest == digest);
        if !signed {
            return Err(ApiError::new(
                ErrorCode::Invalid,
                "No descriptor version of this program signs this questionnaire's digest.",
            ));
        }
        Ok(s.store.put_questionnaire(&id, digest, body.to_vec())?)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /v1/programs/{program}/questionnaire?digest=HEX`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct QuestionnaireQuery {
    /// An earlier version's digest (hex); default: the current one.
    pub digest: Option<String>,
}

#[utoipa::path(get, path = "/v1/programs/{program}/questionnaire", tag = "programs",
    params(("program" = String, Path, description = "program ID (sdp…)"), QuestionnaireQuery),
    responses((status = 200, description = "the current descriptor's questionnaire, byte for byte; check its digest", content_type = "application/json"),
              (status = 404, body = sealdrop_api::ErrorBody)))]
pub async fn questionnaire(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<QuestionnaireQuery>,
) -> ApiResult<HttpResponse> {
    let who = caller.require(READERS)?.clone();
    let id = parse_program(&path)?;
    let wanted = query
        .digest
        .as_deref()
        .map(|hex| {
            data_encoding::HEXLOWER_PERMISSIVE
                .decode(hex.as_bytes())
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
                .ok_or_else(|| ApiError::malformed("digest", "not 64 hex digits"))
        })
        .transpose()?;
    let body = blocking(&state, move |s| {
        let program = visible_program(s, &who, &id)?;
        let digest = wanted.unwrap_or(program.current.unverified_body().questionnaire_digest);
        s.store
            .questionnaire(&id, digest)?
            .ok_or_else(|| ApiError::not_found("questionnaire"))
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body))
}

#[utoipa::path(get, path = "/v1/programs/{program}/shoppers", tag = "programs",
    params(("program" = String, Path, description = "program ID (sdp…)")),
    responses((status = 200, body = Vec<sealdrop_api::ShopperEntry>)))]
pub async fn shoppers(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let who = caller.require(&[Role::Manager, Role::Auditor])?.clone();
    let id = parse_program(&path)?;
    let list = blocking(&state, move |s| {
        visible_program(s, &who, &id)?;
        Ok(s.store.shoppers(&id)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(
        list.into_iter()
            .map(|p| sealdrop_api::ShopperEntry {
                person: p.id.to_string(),
                enrolled_at: p.enrolled_at,
                disabled: p.disabled,
            })
            .collect::<Vec<_>>(),
    ))
}

#[utoipa::path(post, path = "/v1/programs/{program}/shoppers/{person}/revocation", tag = "programs",
    params(("program" = String, Path, description = "program ID (sdp…)"),
           ("person" = String, Path, description = "the shopper's pseudonym (sd…)")),
    responses((status = 200, body = sealdrop_api::ShopperRevoked), (status = 404, body = sealdrop_api::ErrorBody)))]
pub async fn revoke_shopper(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let manager = caller.require(&[Role::Manager])?.clone();
    let (program, person) = path.into_inner();
    let id = parse_program(&program)?;
    let person: PersonId = person.parse().map_err(|_| ApiError::not_found("shopper"))?;
    let revoked = blocking(&state, move |s| {
        let program = visible_program(s, &manager, &id)?;
        if !program.current.unverified_body().is_manager(&manager.id) {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "Only a manager of this program may revoke its shoppers.",
            ));
        }
        let shopper = s
            .store
            .person(&person)?
            .filter(|p| p.role == Role::Shopper && p.program == Some(id))
            .ok_or_else(|| ApiError::not_found("shopper"))?;
        let disabled = s
            .store
            .disable_person(&shopper.id, now())?
            .ok_or_else(|| ApiError::not_found("shopper"))?;
        let log = disabled.leaf.map(|leaf| s.log_proof(leaf)).transpose()?;
        Ok(sealdrop_api::ShopperRevoked {
            person: shopper.id.to_string(),
            logged_at: disabled.at,
            log,
        })
    })
    .await?;
    tracing::info!("shopper revoked by a manager");
    Ok(HttpResponse::Ok().json(revoked))
}
