//! What auditors read: public records only, never an envelope.

use actix_web::{HttpResponse, web};
use sealdrop_api::bulk;
use sealdrop_api::{
    AuditEnrolment, AuditGrant, AuditRelease, AuditReport, B64, Listing, Page, Role, Tombstone,
};
use sealdrop_store::{AuditPage, BulkCiphertext, StoreError, Tombstone as StoredTombstone};

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::state::{AppState, blocking};

const DEFAULT_LIMIT: u32 = 500;
const MAX_LIMIT: u32 = 5000;

fn page(q: &Page) -> AuditPage {
    AuditPage {
        after: q.after.unwrap_or(0),
        limit: q.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT),
    }
}

fn listing<T>(rows: Vec<(u64, T)>, limit: u32) -> Listing<T> {
    let next = (rows.len() == limit as usize)
        .then(|| rows.last().map(|(seq, _)| *seq))
        .flatten();
    Listing {
        items: rows.into_iter().map(|(_, item)| item).collect(),
        next,
    }
}

fn tombstone(t: StoredTombstone, received_at: u64) -> Tombstone {
    match t {
        StoredTombstone::Retention {
            descriptor_version,
            retention_days,
            purged_at,
        } => Tombstone::Retention {
            descriptor_version,
            retention_days,
            received_at,
            purged_at,
        },
        StoredTombstone::Deletion {
            request,
            deleted_at,
        } => Tombstone::Deletion {
            request: B64(request),
            deleted_at,
        },
    }
}

/// One page of an audit list for the calling auditor's organisation:
/// `fetch` reads it from the store, `show` turns each row into its JSON.
async fn audit_page<R: Send + 'static, T: serde::Serialize>(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<Page>,
    fetch: impl FnOnce(&AppState, i64, AuditPage) -> Result<Vec<(u64, R)>, StoreError> + Send + 'static,
    show: impl Fn(R) -> T,
) -> ApiResult<HttpResponse> {
    let org = caller.require(&[Role::Auditor])?.organisation.id;
    let p = page(&query);
    let rows = blocking(&state, move |s| Ok(fetch(s, org, p)?)).await?;
    let rows = rows.into_iter().map(|(seq, r)| (seq, show(r))).collect();
    Ok(HttpResponse::Ok().json(listing(rows, p.limit)))
}

#[utoipa::path(get, path = "/v1/audit/reports", tag = "audit", params(Page),
    responses((status = 200, body = Listing<AuditReport>)))]
pub async fn reports(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<Page>,
) -> ApiResult<HttpResponse> {
    audit_page(
        state,
        caller,
        query,
        |s, org, p| s.store.audit_reports(org, p),
        |r| AuditReport {
            report: r.id.to_string(),
            program: r.program.to_string(),
            received_at: r.received_at,
            record: B64(r.record),
            acknowledgement: B64(r.acknowledgement),
            tombstone: r.tombstone.map(|t| tombstone(t, r.received_at)),
        },
    )
    .await
}

#[utoipa::path(get, path = "/v1/audit/enrolments", tag = "audit", params(Page),
    responses((status = 200, body = Listing<AuditEnrolment>)))]
pub async fn enrolments(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<Page>,
) -> ApiResult<HttpResponse> {
    audit_page(
        state,
        caller,
        query,
        |s, org, p| s.store.audit_people(org, p),
        |person| super::people::public_record(&person),
    )
    .await
}

#[utoipa::path(get, path = "/v1/audit/grants", tag = "audit", params(Page),
    responses((status = 200, body = Listing<AuditGrant>)))]
pub async fn grants(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<Page>,
) -> ApiResult<HttpResponse> {
    audit_page(
        state,
        caller,
        query,
        |s, org, p| s.store.audit_grants(org, p),
        |g| AuditGrant {
            program: g.program.to_string(),
            grant: B64(g.grant),
            accepted_at: g.accepted_at,
        },
    )
    .await
}

#[utoipa::path(get, path = "/v1/audit/releases", tag = "audit", params(Page),
    responses((status = 200, body = Listing<AuditRelease>)))]
pub async fn releases(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<Page>,
) -> ApiResult<HttpResponse> {
    audit_page(
        state,
        caller,
        query,
        |s, org, p| s.store.audit_releases(org, p),
        |r| AuditRelease {
            report: r.report.to_string(),
            person: r.person.to_string(),
            released_at: r.released_at,
        },
    )
    .await
}

/// Bulk pages stop after about this many bytes of ciphertext.
const CIPHERTEXT_PAGE_BYTES: u64 = 32 * 1024 * 1024;

#[utoipa::path(get, path = "/v1/audit/bulk", tag = "audit", params(Page),
    responses((status = 200, description = "every report's record, acknowledgement and (when live) ciphertext, in binary (docs/API.md, sealdrop_api::bulk); the next cursor in the sealdrop-next header", content_type = "application/octet-stream")))]
pub async fn bulk(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<Page>,
) -> ApiResult<HttpResponse> {
    let org = caller.require(&[Role::Auditor])?.organisation.id;
    let p = page(&query);
    let rows = blocking(&state, move |s| {
        Ok(s.store.audit_bulk(org, p, CIPHERTEXT_PAGE_BYTES)?)
    })
    .await?;
    let next = rows.last().map(|row| row.seq);
    let entries: Vec<bulk::Entry> = rows
        .into_iter()
        .map(|row| bulk::Entry {
            report: *row.report.as_bytes(),
            seq: row.seq,
            leaf: row.leaf,
            record: row.record,
            acknowledgement: row.acknowledgement,
            ciphertext: match row.ciphertext {
                BulkCiphertext::Included(streams) => bulk::Ciphertext::Included(streams),
                BulkCiphertext::TooLarge => bulk::Ciphertext::TooLarge,
                BulkCiphertext::Tombstoned => bulk::Ciphertext::Tombstoned,
            },
        })
        .collect();
    let mut response = HttpResponse::Ok();
    response.content_type("application/octet-stream");
    if let Some(next) = next {
        response.insert_header((bulk::NEXT_HEADER, next.to_string()));
    }
    Ok(response.body(bulk::encode(&entries)))
}
