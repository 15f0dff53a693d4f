//! Resumable uploads, for reports too large for one request: begin with the
//! sealed report (checked at once, like a submission), send each stream in
//! pieces at the offsets the server reports, then finish, which checks
//! every digest and stores the report as `POST /v1/reports` would.

use actix_web::{HttpResponse, web};
use sealdrop_api::upload::MAX_SEALED_LEN;
use sealdrop_api::{B64, ErrorCode, PieceQuery, Role, UploadStatus, UploadStream};
use sealdrop_proto::codec::Decode;
use sealdrop_proto::ids::ReportId;
use sealdrop_proto::report::{CiphertextHasher, SealedReport};
use sealdrop_store::{
    FinishUpload, NewUpload, Person, StoreError, SubmitOutcome, UploadPiece, UploadStart,
    UploadState,
};

use super::reports::{BodyReader, acknowledge, check_report, parse_report, receipt};
use crate::auth::Caller;
use crate::clock::now;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, blocking};

/// The largest piece one request carries.
pub const MAX_PIECE: usize = 8 * 1024 * 1024;

fn status(report: ReportId, state: &UploadState) -> UploadStatus {
    UploadStatus {
        report: report.to_string(),
        streams: state
            .sealed
            .streams
            .iter()
            .zip(&state.received)
            .map(|(d, r)| UploadStream {
                length: d.ciphertext_len,
                received: *r,
            })
            .collect(),
        acknowledgement: None,
        log: None,
    }
}

fn shopper(caller: &Caller) -> ApiResult<Person> {
    Ok(caller.require(&[Role::Shopper])?.clone())
}

#[utoipa::path(post, path = "/v1/uploads", tag = "uploads",
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the sealed report"),
    responses((status = 200, body = UploadStatus, description = "in progress, or stored already (with its acknowledgement)"),
              (status = 409, body = sealdrop_api::ErrorBody), (status = 413, body = sealdrop_api::ErrorBody)))]
pub async fn begin(
    state: web::Data<AppState>,
    caller: Caller,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let shopper = shopper(&caller)?;
    let bytes = BodyReader::new(payload)
        .rest(MAX_SEALED_LEN as usize)
        .await?;
    let sealed = SealedReport::from_bytes(&bytes)?;
    let total = sealed
        .streams
        .iter()
        .try_fold(0u64, |acc, s| acc.checked_add(s.ciphertext_len));
    if total.is_none_or(|t| t > state.max_upload_bytes) {
        return Err(ApiError::new(
            ErrorCode::TooLarge,
            format!(
                "The report is larger than this server accepts ({} bytes).",
                state.max_upload_bytes
            ),
        ));
    }
    let body = blocking(&state, move |s| {
        check_report(s, &shopper, &sealed)?;
        let report = sealed.report_id();
        Ok(
            match s.store.begin_upload(NewUpload {
                sealed,
                shopper: shopper.id,
                now: now(),
            })? {
                UploadStart::Started(state) => status(report, &state),
                UploadStart::Stored(accepted) => UploadStatus {
                    report: report.to_string(),
                    streams: Vec::new(),
                    acknowledgement: Some(B64(accepted.acknowledgement)),
                    log: accepted.leaf.map(|leaf| s.log_proof(leaf)).transpose()?,
                },
            },
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}

#[utoipa::path(get, path = "/v1/uploads/{report}", tag = "uploads",
    params(("report" = String, Path, description = "report ID (sdr…)")),
    responses((status = 200, body = UploadStatus), (status = 404, body = sealdrop_api::ErrorBody)))]
pub async fn show(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let shopper = shopper(&caller)?;
    let report = parse_report(&path)?;
    let body = blocking(&state, move |s| {
        Ok(status(report, &s.store.upload_state(&report, &shopper.id)?))
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}

#[utoipa::path(put, path = "/v1/uploads/{report}/streams/{stream}", tag = "uploads",
    params(("report" = String, Path, description = "report ID (sdr…)"),
           ("stream" = u32, Path, description = "stream index"), PieceQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = UploadStream), (status = 409, body = sealdrop_api::ErrorBody, description = "upload-offset: continue where the message says")))]
pub async fn piece(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, u32)>,
    query: web::Query<PieceQuery>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let shopper = shopper(&caller)?;
    let (report, stream) = path.into_inner();
    let report = parse_report(&report)?;
    let data = BodyReader::new(payload).rest(MAX_PIECE).await?;
    let offset = query.offset;
    let body = blocking(&state, move |s| {
        let received = s.store.append_upload(UploadPiece {
            report,
            shopper: shopper.id,
            stream,
            offset,
            data,
            now: now(),
        })?;
        let state = s.store.upload_state(&report, &shopper.id)?;
        let length = state
            .sealed
            .streams
            .get(stream as usize)
            .map_or(0, |d| d.ciphertext_len);
        Ok(UploadStream { length, received })
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}

#[utoipa::path(post, path = "/v1/uploads/{report}/finish", tag = "uploads",
    params(("report" = String, Path, description = "report ID (sdr…)")),
    responses((status = 201, body = sealdrop_api::Receipt), (status = 200, body = sealdrop_api::Receipt),
              (status = 400, body = sealdrop_api::ErrorBody, description = "incomplete, or ciphertext-mismatch (the upload is discarded)"),
              (status = 409, body = sealdrop_api::ErrorBody)))]
pub async fn finish(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let shopper = shopper(&caller)?;
    let report = parse_report(&path)?;
    let outcome = blocking(&state, move |s| {
        let upload = match s.store.upload_state(&report, &shopper.id) {
            Ok(upload) => upload,
            // A finish retried after its answer was lost: the report is
            // stored, and the answer is its acknowledgement.
            Err(StoreError::UnknownUpload) => {
                return match s.store.report(&report)? {
                    Some(r)
                        if r.tombstone.is_none()
                            && r.decoded()?.header.shopper_id() == shopper.id =>
                    {
                        Ok(SubmitOutcome::Duplicate(sealdrop_store::Accepted {
                            acknowledgement: r.acknowledgement,
                            leaf: s.store.accepted_leaf(&report)?,
                        }))
                    }
                    _ => Err(ApiError::not_found("upload")),
                };
            }
            Err(e) => return Err(e.into()),
        };
        for (index, digest) in upload.sealed.streams.iter().enumerate() {
            let stream = index as u32;
            let mut hasher = CiphertextHasher::new();
            let mut part = 0;
            while let Some(data) = s.store.upload_part(&report, &shopper.id, stream, part)? {
                hasher.update(&data).map_err(|_| ApiError::internal())?;
                part += 1;
            }
            if hasher.len() != digest.ciphertext_len {
                return Err(ApiError::new(
                    ErrorCode::Invalid,
                    "The upload is not complete; send the missing bytes first (GET the upload to see them).",
                ));
            }
            if hasher.finish() != *digest {
                // The bytes are wrong somewhere: keeping them would only
                // make every resume fail the same way.
                s.store.discard_upload(&report, &shopper.id)?;
                return Err(ApiError::new(
                    ErrorCode::CiphertextMismatch,
                    format!("Stream {index}'s ciphertext does not match the signed digest; the upload was discarded, start it again."),
                ));
            }
        }
        let acknowledgement = acknowledge(s, &upload.sealed);
        Ok(s.store.finish_upload(FinishUpload {
            report,
            shopper: shopper.id,
            sealed_hash: upload.sealed.hash(),
            blob: upload.blob,
            acknowledgement,
        })?)
    })
    .await?;
    receipt(&state, outcome, report).await
}
