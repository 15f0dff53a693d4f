//! The log: its latest checkpoint, proofs, and leaves.
//!
//! Anyone signed in may read checkpoints and proofs: shoppers check their
//! receipts, staff their releases, auditors and witnesses the whole log.
//! Leaves name programs and people by ID across organisations, so only
//! auditors read them. A server restored with a handover serves the note
//! by which the old log key handed its clients over to this log.

use std::sync::OnceLock;

use actix_web::{HttpResponse, web};
use sealdrop_api::log::{
    ConsistencyQuery, InclusionQuery, LeavesBody, LeavesQuery, MAX_LEAVES_PER_PAGE, ProofBody,
};
use sealdrop_api::{B64, ErrorCode, Role};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, blocking};

#[utoipa::path(get, path = "/v1/log/checkpoint", tag = "log",
    responses((status = 200, description = "the latest checkpoint, a C2SP signed note", content_type = "text/plain")))]
pub async fn checkpoint(state: web::Data<AppState>, _caller: Caller) -> ApiResult<HttpResponse> {
    let signed = blocking(&state, |s| s.checkpoint_covering(0)).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(signed.note.clone()))
}

fn beyond() -> ApiError {
    ApiError::new(
        ErrorCode::Invalid,
        "The log has no such leaf or size; ask for the latest checkpoint first.",
    )
}

#[utoipa::path(get, path = "/v1/log/inclusion", tag = "log", params(InclusionQuery),
    responses((status = 200, body = ProofBody), (status = 400, body = sealdrop_api::ErrorBody)))]
pub async fn inclusion(
    state: web::Data<AppState>,
    _caller: Caller,
    query: web::Query<InclusionQuery>,
) -> ApiResult<HttpResponse> {
    let q = query.into_inner();
    let path = blocking(&state, move |s| {
        if q.index >= q.size || q.size > s.checkpoint_covering(0)?.head.size {
            return Err(beyond());
        }
        s.store.log_inclusion(q.index, q.size).map_err(|_| beyond())
    })
    .await?;
    Ok(HttpResponse::Ok().json(ProofBody {
        path: path.iter().map(|h| B64(h.to_vec())).collect(),
    }))
}

#[utoipa::path(get, path = "/v1/log/consistency", tag = "log", params(ConsistencyQuery),
    responses((status = 200, body = ProofBody), (status = 400, body = sealdrop_api::ErrorBody)))]
pub async fn consistency(
    state: web::Data<AppState>,
    _caller: Caller,
    query: web::Query<ConsistencyQuery>,
) -> ApiResult<HttpResponse> {
    let q = query.into_inner();
    let path = blocking(&state, move |s| {
        if q.from > q.to || q.to > s.checkpoint_covering(0)?.head.size {
            return Err(beyond());
        }
        s.store.log_consistency(q.from, q.to).map_err(|_| beyond())
    })
    .await?;
    Ok(HttpResponse::Ok().json(ProofBody {
        path: path.iter().map(|h| B64(h.to_vec())).collect(),
    }))
}

#[utoipa::path(get, path = "/v1/log/leaves", tag = "log", params(LeavesQuery),
    responses((status = 200, body = LeavesBody), (status = 400, body = sealdrop_api::ErrorBody)))]
pub async fn leaves(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<LeavesQuery>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Auditor])?;
    let q = query.into_inner();
    if q.start >= q.end || q.end - q.start > MAX_LEAVES_PER_PAGE {
        return Err(ApiError::new(
            ErrorCode::Invalid,
            format!("Ask for between 1 and {MAX_LEAVES_PER_PAGE} leaves, start before end."),
        ));
    }
    let leaves = blocking(&state, move |s| {
        if q.end > s.checkpoint_covering(0)?.head.size {
            return Err(beyond());
        }
        Ok(s.store.log_leaves(q.start, q.end)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(LeavesBody {
        start: q.start,
        leaves: leaves.into_iter().map(B64).collect(),
    }))
}

/// The logs this one continues, as kept by each restore (`old-log-N` in
/// the data directory: the old log's leaf hashes), so that a client who
/// saw more of an old log than a restore kept can check that what it saw
/// and what was kept are one history. Loaded on first use.
static OLD_LOGS: OnceLock<std::path::PathBuf> = OnceLock::new();
static OLD_TREES: std::sync::Mutex<
    Vec<(u32, std::sync::Arc<sealdrop_proto::log::merkle::MerkleTree>)>,
> = std::sync::Mutex::new(Vec::new());

/// Sets the data directory the old logs are read from, once, before serving.
pub fn set_old_logs(dir: std::path::PathBuf) {
    let _ = OLD_LOGS.set(dir);
}

fn old_tree(hop: u32) -> Option<std::sync::Arc<sealdrop_proto::log::merkle::MerkleTree>> {
    let mut cache = OLD_TREES.lock().ok()?;
    if let Some((_, tree)) = cache.iter().find(|(h, _)| *h == hop) {
        return Some(tree.clone());
    }
    let bytes = std::fs::read(crate::datadir::old_log_file(OLD_LOGS.get()?, hop)).ok()?;
    let mut tree = sealdrop_proto::log::merkle::MerkleTree::new();
    for hash in bytes.chunks_exact(32) {
        tree.push(hash.try_into().ok()?);
    }
    let tree = std::sync::Arc::new(tree);
    cache.push((hop, tree.clone()));
    Some(tree)
}

#[utoipa::path(get, path = "/v1/log/handover/consistency", tag = "log", params(sealdrop_api::log::OldLogConsistencyQuery),
    responses((status = 200, body = ProofBody), (status = 404, body = sealdrop_api::ErrorBody)))]
pub async fn old_log_consistency(
    state: web::Data<AppState>,
    _caller: Caller,
    query: web::Query<sealdrop_api::log::OldLogConsistencyQuery>,
) -> ApiResult<HttpResponse> {
    let q = query.into_inner();
    let path = blocking(&state, move |_| {
        let tree = old_tree(q.hop).ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                "This server keeps no such earlier log (restore kept none, or the hop is beyond its handovers).",
            )
        })?;
        if q.from > q.to || q.to > tree.len() {
            return Err(beyond());
        }
        tree.consistency_proof(q.from, q.to).map_err(|_| beyond())
    })
    .await?;
    Ok(HttpResponse::Ok().json(ProofBody {
        path: path.iter().map(|h| B64(h.to_vec())).collect(),
    }))
}

/// The handover note of this data directory, read and checked once at
/// start (`operator.rs`): `None` when the server was never restored with
/// `--handover-from`.
static HANDOVER: OnceLock<Option<String>> = OnceLock::new();

/// Sets the note `GET /v1/log/handover` serves, once, before serving.
pub fn set_handover(note: Option<String>) -> anyhow::Result<()> {
    HANDOVER
        .set(note)
        .map_err(|_| anyhow::anyhow!("the log handover was set twice"))
}

#[utoipa::path(get, path = "/v1/log/handover", tag = "log",
    responses(
        (status = 200, description = "the handover from the log this one continues after a restore: a C2SP signed note by the old log key, docs/PROTOCOL.md §14.11", content_type = "text/plain"),
        (status = 404, description = "this server's log continues no other log", body = sealdrop_api::ErrorBody)))]
pub async fn handover(_caller: Caller) -> ApiResult<HttpResponse> {
    match HANDOVER.get().and_then(Option::as_ref) {
        Some(note) => Ok(HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(note.clone())),
        None => Err(ApiError::new(
            ErrorCode::NotFound,
            "This server's log has no handover: it was not restored from a backup with --handover-from.",
        )),
    }
}
