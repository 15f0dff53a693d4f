//! Witnesses: auditors who cosign checkpoints they verified as consistent
//! with the last one they cosigned (C2SP `tlog-cosignature`).
//!
//! The server keeps each verified cosignature and serves each witness's
//! newest cosigned checkpoint, so that a client who trusts some witnesses
//! can require k of them (one witness cosigning often never hides another). A server that showed a
//! witness one history and a client another cannot make the witnesses'
//! lines verify on the other: the checkpoint bodies differ.

use actix_web::{HttpResponse, web};
use sealdrop_api::log::{CosignatureBody, CosignedBody, MAX_COSIGNED_NOTES};
use sealdrop_api::{ErrorCode, Role};
use sealdrop_proto::log::checkpoint::{SignedCheckpoint, Witness, verify_cosignature};

use crate::auth::Caller;
use crate::clock::now;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, blocking};

/// The key name a witness cosigns under: its person ID, under a fixed
/// prefix, so that a cosignature names who made it.
pub fn witness_name(person: &sealdrop_proto::PersonId) -> String {
    format!("sealdrop-witness/{person}")
}

#[utoipa::path(post, path = "/v1/log/cosignatures", tag = "log", request_body = CosignatureBody,
    responses((status = 201, description = "the cosignature is kept"),
              (status = 400, body = sealdrop_api::ErrorBody)))]
pub async fn cosign(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<CosignatureBody>,
) -> ApiResult<HttpResponse> {
    let witness = caller.require(&[Role::Auditor])?.clone();
    let note = body.into_inner().note;
    if note.len() > sealdrop_proto::log::checkpoint::MAX_NOTE_LEN {
        return Err(ApiError::new(ErrorCode::TooLarge, "The note is too long."));
    }
    blocking(&state, move |s| {
        let refused = |why: &str| ApiError::new(ErrorCode::Invalid, why.to_owned());
        let signed = SignedCheckpoint::parse_and_verify(
            note.as_bytes(),
            &s.log_origin,
            &s.log_key.verifying_key().to_bytes(),
        )
        .map_err(|_| refused("The note is not a checkpoint this server signed."))?;
        let cp = signed.checkpoint();
        let head = s.checkpoint_covering(0)?.head;
        if cp.size() > head.size || s.store.log_root_at(cp.size())? != *cp.root() {
            return Err(refused("The checkpoint is not of this server's log."));
        }
        let name = witness_name(&witness.id);
        let key = Witness::new(name.clone(), witness.identity.signing_key())
            .map_err(|_| ApiError::internal())?;
        let line = signed
            .signatures()
            .iter()
            .find(|l| l.is_by(&name, &key.key_id()))
            .ok_or_else(|| refused("The note carries no cosignature by your key."))?;
        verify_cosignature(cp, line, &key)
            .map_err(|_| refused("Your cosignature does not verify."))?;
        s.store
            .put_cosignature(&witness.id, cp.size(), line.to_line().trim_end(), now())?;
        Ok(())
    })
    .await?;
    tracing::info!("cosignature kept");
    Ok(HttpResponse::Created().finish())
}

#[utoipa::path(get, path = "/v1/log/checkpoint/cosigned", tag = "log",
    responses((status = 200, body = CosignedBody, description = "each witness's newest cosigned checkpoint, as a C2SP signed note with that witness's cosignature")))]
pub async fn cosigned(state: web::Data<AppState>, _caller: Caller) -> ApiResult<HttpResponse> {
    let notes = blocking(&state, |s| {
        s.store
            .newest_cosignatures(MAX_COSIGNED_NOTES)?
            .into_iter()
            .map(|(size, line)| {
                let mut note = s.checkpoint_at(size)?.to_text();
                note.push_str(&line);
                note.push('\n');
                Ok(note)
            })
            .collect::<ApiResult<Vec<String>>>()
    })
    .await?;
    Ok(HttpResponse::Ok().json(CosignedBody { notes }))
}
