//! Submission, the inbox, release of ciphertext and envelopes, deletion.

use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};
use futures_util::StreamExt as _;
use sealdrop_api::upload::MAX_SEALED_LEN;
use sealdrop_api::{
    B64, DeletionBody, ErrorCode, InboxEntry, InboxQuery, Receipt, ReportRelease, Role,
};
use sealdrop_proto::codec::Decode;
use sealdrop_proto::descriptor::ProgramDescriptor;
use sealdrop_proto::ids::ReportId;
use sealdrop_proto::invite::CLOCK_SKEW_SECS;
use sealdrop_proto::messages::{Acknowledgement, DeletionRequest};
use sealdrop_proto::report::{CiphertextHasher, ReportError, SealedReport};
use sealdrop_proto::signed::Signed;
use sealdrop_store::sqlite::PART_LEN;
use sealdrop_store::{InboxFilter, NewDeletion, Person, StoreError, Submission, SubmitOutcome};

use crate::auth::{Caller, Submitter};
use crate::clock::now;
use crate::error::{ApiError, ApiResult, json};
use crate::metrics::METRICS;
use crate::state::{AppState, blocking};

pub(super) fn parse_report(text: &str) -> ApiResult<ReportId> {
    text.parse().map_err(|_| ApiError::not_found("report"))
}

/// Reads exact amounts from a request body as it arrives.
pub(super) struct BodyReader {
    payload: web::Payload,
    buffer: Vec<u8>,
}

pub(super) fn truncated() -> ApiError {
    ApiError::new(
        ErrorCode::Malformed,
        "The upload ended before the lengths it declares; send the whole report again.",
    )
}

impl BodyReader {
    pub(super) fn new(payload: web::Payload) -> Self {
        Self {
            payload,
            buffer: Vec::new(),
        }
    }

    async fn fill(&mut self, want: usize) -> ApiResult<()> {
        while self.buffer.len() < want {
            match self.payload.next().await {
                Some(Ok(chunk)) => self.buffer.extend_from_slice(&chunk),
                Some(Err(_)) | None => return Err(truncated()),
            }
        }
        Ok(())
    }

    pub(super) async fn take(&mut self, n: usize) -> ApiResult<Vec<u8>> {
        self.fill(n).await?;
        let rest = self.buffer.split_off(n);
        Ok(std::mem::replace(&mut self.buffer, rest))
    }

    /// Everything left, refusing more than `max` bytes.
    pub(super) async fn rest(&mut self, max: usize) -> ApiResult<Vec<u8>> {
        let mut out = std::mem::take(&mut self.buffer);
        while let Some(chunk) = self.payload.next().await {
            let chunk = chunk.map_err(|_| truncated())?;
            if out.len() + chunk.len() > max {
                return Err(ApiError::new(
                    ErrorCode::TooLarge,
                    format!("A piece is at most {max} bytes."),
                ));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    pub(super) async fn expect_end(&mut self) -> ApiResult<()> {
        if !self.buffer.is_empty() {
            return Err(trailing());
        }
        match self.payload.next().await {
            None => Ok(()),
            Some(Ok(chunk)) if chunk.is_empty() => Ok(()),
            Some(_) => Err(trailing()),
        }
    }
}

fn trailing() -> ApiError {
    ApiError::new(
        ErrorCode::Malformed,
        "The upload is longer than the lengths it declares.",
    )
}

#[utoipa::path(post, path = "/v1/reports", tag = "reports",
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "u32 sealed_len ‖ sealed report ‖ each stream's ciphertext (docs/API.md)"),
    responses(
        (status = 201, body = Receipt, description = "stored and durably committed"),
        (status = 200, body = Receipt, description = "the same report was stored before"),
        (status = 409, body = sealdrop_api::ErrorBody, description = "stale-list (with the current descriptor) or report-id-conflict"),
        (status = 410, body = sealdrop_api::ErrorBody),
        (status = 413, body = sealdrop_api::ErrorBody)))]
pub async fn submit(
    state: web::Data<AppState>,
    submitter: Submitter,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let shopper = Caller(submitter.0).require(&[Role::Shopper])?.clone();
    let mut body = BodyReader::new(payload);
    let prefix = body.take(4).await?;
    let sealed_len = u32::from_be_bytes(prefix.as_slice().try_into().map_err(|_| truncated())?);
    if sealed_len > MAX_SEALED_LEN {
        return Err(ApiError::new(
            ErrorCode::TooLarge,
            "The sealed report header is longer than any valid one.",
        ));
    }
    let sealed = SealedReport::from_bytes(&body.take(sealed_len as usize).await?)?;
    let declared = sealed
        .streams
        .iter()
        .try_fold(u64::from(sealed_len), |acc, s| {
            acc.checked_add(s.ciphertext_len)
        });
    if declared.is_none_or(|total| total > state.max_report_bytes) {
        return Err(ApiError::new(
            ErrorCode::TooLarge,
            format!(
                "The report is larger than this server accepts ({} bytes).",
                state.max_report_bytes
            ),
        ));
    }
    // A large report is checked before its ciphertext is read, so that a
    // stale list or a bad signature costs the shopper a round trip, not an
    // upload. A small one is checked with the write, saving a hop.
    let sealed = if declared.is_some_and(|total| total > CHECK_FIRST_ABOVE) {
        let who = shopper.clone();
        blocking(&state, move |s| {
            check_report(s, &who, &sealed).map(|()| sealed)
        })
        .await?
    } else {
        sealed
    };
    let mut streams = Vec::with_capacity(sealed.streams.len());
    for (index, digest) in sealed.streams.iter().enumerate() {
        let mut hasher = CiphertextHasher::new();
        let mut parts = Vec::new();
        let mut remaining = digest.ciphertext_len;
        while remaining > 0 {
            let n = remaining.min(PART_LEN as u64) as usize;
            let part = body.take(n).await?;
            hasher.update(&part).map_err(|_| truncated())?;
            parts.push(part);
            remaining -= n as u64;
        }
        if hasher.finish() != *digest {
            return Err(ApiError::new(
                ErrorCode::CiphertextMismatch,
                format!(
                    "Stream {index}'s ciphertext does not match the digest the shopper signed."
                ),
            ));
        }
        streams.push(parts);
    }
    body.expect_end().await?;

    let report = sealed.report_id();
    let program = sealed.header.core.program_id;
    let outcome = match state.cached_descriptor(&program, sealed.header.descriptor_version) {
        // The usual case, without a hop to the blocking pool: the checks are
        // CPU work (one signature verification), and the write is queued
        // for the next group commit, whose completion wakes this task.
        Some(current) => {
            check_sender(&shopper, &sealed)?;
            check_addressing(&sealed, current.unverified_body())?;
            let acknowledgement = acknowledge(&state, &sealed);
            let (tx, rx) = futures_channel::oneshot::channel();
            state.store.submit_queued(
                Submission {
                    sealed,
                    streams,
                    acknowledgement,
                    shopper: shopper.id,
                },
                Box::new(move |result| {
                    let _ = tx.send(result);
                }),
            );
            rx.await.map_err(|_| ApiError::internal())??
        }
        None => {
            blocking(&state, move |s| store_report(s, &shopper, sealed, streams))
                .await?
                .0
        }
    };
    receipt(&state, outcome, report).await
}

/// Everything checked before a report's ciphertext is taken: it is the
/// caller's own, for their program, signed strictly, and addressed to
/// exactly the current recipients (an older version is the store's to
/// judge: a duplicate, or `stale-list`).
pub(super) fn check_report(s: &AppState, shopper: &Person, sealed: &SealedReport) -> ApiResult<()> {
    check_sender(shopper, sealed)?;
    let core = &sealed.header.core;
    let current = s.current_descriptor(&core.program_id, sealed.header.descriptor_version)?;
    check_addressing(sealed, current.unverified_body())
}

/// The checks that need no store: the report is the caller's own, for
/// their program, and strictly signed.
fn check_sender(shopper: &Person, sealed: &SealedReport) -> ApiResult<()> {
    let core = &sealed.header.core;
    if core.shopper.id() != shopper.id {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "Submit only reports sealed under your own pseudonym.",
        ));
    }
    if shopper.program != Some(core.program_id) {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "Your pseudonym is not enrolled in this report's program.",
        ));
    }
    sealed.verify().map_err(|_| {
        ApiError::new(
            ErrorCode::BadSignature,
            "The shopper's signature on the report does not verify.",
        )
    })
}

/// Addressed to exactly the current recipients (an older version is the
/// store's to judge: a duplicate, or `stale-list`).
fn check_addressing(sealed: &SealedReport, current: &ProgramDescriptor) -> ApiResult<()> {
    let sealed_for = sealed.header.descriptor_version;
    if sealed_for > current.version {
        return Err(ApiError::new(
            ErrorCode::Invalid,
            "The report names a descriptor version this server does not have.",
        ));
    }
    if sealed_for == current.version {
        sealed.check_addressed_to(current).map_err(|e| match e {
            ReportError::WrongRecipients => ApiError::new(
                ErrorCode::Invalid,
                "The report's envelopes are not exactly the program's recipients.",
            ),
            other => ApiError::new(
                ErrorCode::Invalid,
                format!("The report is refused: {other}."),
            ),
        })?;
    }
    Ok(())
}

/// The server's signed acknowledgement of `sealed`, received now.
pub(super) fn acknowledge(s: &AppState, sealed: &SealedReport) -> Signed<Acknowledgement> {
    Signed::sign(
        Acknowledgement {
            log_origin: s.log_origin.clone(),
            program_id: sealed.header.core.program_id,
            report_id: sealed.report_id(),
            sealed_report: sealed.hash(),
            received_at: now(),
        },
        &s.log_key,
    )
}

fn store_report(
    s: &AppState,
    shopper: &Person,
    sealed: SealedReport,
    streams: Vec<Vec<Vec<u8>>>,
) -> ApiResult<(SubmitOutcome, ReportId)> {
    check_report(s, shopper, &sealed)?;
    let report = sealed.report_id();
    let acknowledgement = acknowledge(s, &sealed);
    let outcome = s.store.submit(Submission {
        sealed,
        streams,
        acknowledgement,
        shopper: shopper.id,
    })?;
    Ok((outcome, report))
}

/// The response to a stored report: 201 when stored now, 200 when it was
/// stored before; with the acceptance leaf's inclusion proof. Most receipts
/// after a group commit find a signed checkpoint that covers them and are
/// answered on the executor (no I/O); the one that must read the new
/// entries and sign goes to the blocking pool.
pub(super) async fn receipt(
    state: &web::Data<AppState>,
    outcome: SubmitOutcome,
    report: ReportId,
) -> ApiResult<HttpResponse> {
    let status = match outcome {
        SubmitOutcome::Stored(_) => actix_web::http::StatusCode::CREATED,
        SubmitOutcome::Duplicate(_) => actix_web::http::StatusCode::OK,
    };
    let accepted = outcome.accepted();
    let log = match accepted.leaf {
        None => None,
        Some(leaf) => Some(match state.cached_log_proof(leaf) {
            Some(proof) => proof?,
            None => blocking(state, move |s| s.log_proof(leaf)).await?,
        }),
    };
    METRICS.submission(status == actix_web::http::StatusCode::OK);
    Ok(HttpResponse::build(status).json(Receipt {
        report: report.to_string(),
        acknowledgement: B64(accepted.acknowledgement.clone()),
        log,
    }))
}

/// Reports larger than this are checked before their ciphertext is read.
const CHECK_FIRST_ABOVE: u64 = 1024 * 1024;

const RECIPIENTS: &[Role] = &[Role::Manager, Role::Staff];

#[utoipa::path(get, path = "/v1/reports", tag = "reports", params(InboxQuery),
    responses((status = 200, body = Vec<InboxEntry>)))]
pub async fn inbox(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<InboxQuery>,
) -> ApiResult<HttpResponse> {
    let who = caller.require(RECIPIENTS)?.id;
    let filter = InboxFilter {
        program: query
            .program
            .as_deref()
            .map(super::programs::parse_program)
            .transpose()?,
        since: query.since,
    };
    let rows = blocking(&state, move |s| Ok(s.store.inbox(&who, &filter)?)).await?;
    Ok(HttpResponse::Ok().json(
        rows.into_iter()
            .map(|r| InboxEntry {
                report: r.report.to_string(),
                program: r.program.to_string(),
                shopper: r.shopper.to_string(),
                received_at: r.received_at,
                size: r.size,
                fetched: r.fetched,
            })
            .collect::<Vec<_>>(),
    ))
}

/// Releases and the store's "not yours" both read as "not found": a caller
/// learns nothing about reports they may not read.
///
/// That a report was purged or deleted (`410`) is told only to people of
/// its own organisation; to anyone else the ID is simply not found.
fn hide(s: &AppState, who: &Person, report: &ReportId, e: StoreError) -> ApiError {
    match e {
        StoreError::NotAllowed | StoreError::UnknownReport => ApiError::not_found("report"),
        StoreError::Gone => {
            let own = s
                .store
                .report(report)
                .ok()
                .flatten()
                .and_then(|r| s.store.program(&r.program).ok().flatten())
                .is_some_and(|p| p.org == who.organisation.id);
            if own {
                StoreError::Gone.into()
            } else {
                ApiError::not_found("report")
            }
        }
        other => other.into(),
    }
}

#[utoipa::path(get, path = "/v1/reports/{report}", tag = "reports",
    params(("report" = String, Path, description = "report ID (sdr…)")),
    responses((status = 200, body = ReportRelease), (status = 404, body = sealdrop_api::ErrorBody), (status = 410, body = sealdrop_api::ErrorBody)))]
pub async fn release(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let who = caller.require(RECIPIENTS)?.clone();
    let report = parse_report(&path)?;
    let (release, log) = blocking(&state, move |s| {
        let release = s
            .store
            .release(&report, &who.id, now())
            .map_err(|e| hide(s, &who, &report, e))?;
        let log = s.log_proof(release.leaf)?;
        Ok((release, log))
    })
    .await?;
    METRICS.release();
    tracing::info!("envelope released");
    Ok(HttpResponse::Ok().json(ReportRelease {
        record: B64(release.record),
        envelope: B64::of(&release.envelope),
        grant: release.grant.map(B64),
        acknowledgement: B64(release.acknowledgement),
        released_at: release.released_at,
        log,
    }))
}

#[utoipa::path(get, path = "/v1/reports/{report}/streams/{stream}", tag = "reports",
    params(("report" = String, Path, description = "report ID (sdr…)"),
           ("stream" = u32, Path, description = "0 for the content, n for attachment n")),
    responses((status = 200, description = "the stream's ciphertext", content_type = "application/octet-stream"),
              (status = 404, body = sealdrop_api::ErrorBody)))]
pub async fn stream(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, u32)>,
) -> ApiResult<HttpResponse> {
    let who = caller
        .require(&[Role::Manager, Role::Staff, Role::Auditor])?
        .clone();
    let (report, index) = path.into_inner();
    let report = parse_report(&report)?;
    let first = blocking(&state, move |s| {
        let allowed = if who.role == Role::Auditor {
            s.store
                .report(&report)?
                .and_then(|r| s.store.program(&r.program).ok().flatten())
                .is_some_and(|p| p.org == who.organisation.id)
        } else {
            s.store
                .holds_envelope(&report, &who.id)
                .map_err(|e| hide(s, &who, &report, e))?
        };
        if !allowed {
            return Err(ApiError::not_found("report"));
        }
        let first = s
            .store
            .stream_part(&report, index, 0)
            .map_err(|e| hide(s, &who, &report, e))?
            .ok_or_else(|| ApiError::not_found("stream"))?;
        let more = s.store.stream_part(&report, index, 1)?.is_some();
        Ok((first, more))
    })
    .await?;
    let (first, more) = first;
    if !more {
        // One part (every stream under 1 MiB): one body with a length, sent
        // in one write, rather than a chunked stream.
        return Ok(HttpResponse::Ok()
            .content_type("application/octet-stream")
            .body(first));
    }
    let state = state.clone();
    let rest = futures_util::stream::unfold(1u32, move |part| {
        let state = state.clone();
        async move {
            let next = blocking(&state, move |s| {
                Ok(s.store.stream_part(&report, index, part)?)
            })
            .await;
            match next {
                Ok(Some(data)) => Some((Ok::<_, ApiError>(Bytes::from(data)), part + 1)),
                Ok(None) => None,
                Err(e) => Some((Err(e), u32::MAX)),
            }
        }
    })
    .take_while(|r| std::future::ready(r.is_ok()));
    let body = futures_util::stream::once(std::future::ready(Ok(Bytes::from(first)))).chain(rest);
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .streaming(body))
}

#[utoipa::path(post, path = "/v1/reports/{report}/deletion", tag = "reports",
    params(("report" = String, Path, description = "report ID (sdr…)")),
    request_body = DeletionBody,
    responses((status = 204), (status = 403, body = sealdrop_api::ErrorBody), (status = 410, body = sealdrop_api::ErrorBody)))]
pub async fn deletion(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let shopper = caller.require(&[Role::Shopper])?.clone();
    let report = parse_report(&path)?;
    let body: DeletionBody = json(&body)?;
    let request: Signed<DeletionRequest> = body.request.decode()?;
    blocking(&state, move |s| {
        let r = request.unverified_body();
        let stored = s
            .store
            .report(&report)?
            .ok_or_else(|| ApiError::not_found("report"))?;
        if r.report_id != report
            || r.shopper != shopper.id
            || stored.decoded()?.header.shopper_id() != shopper.id
            || stored.program != r.program_id
        {
            return Err(ApiError::not_found("report"));
        }
        request.verify_by(&shopper.identity).map_err(|_| {
            ApiError::new(
                ErrorCode::BadSignature,
                "The deletion request's signature does not verify.",
            )
        })?;
        if r.requested_at.abs_diff(now()) > CLOCK_SKEW_SECS {
            return Err(ApiError::new(
                ErrorCode::Invalid,
                "The deletion request's time is too far from the server's clock.",
            ));
        }
        Ok(s.store.delete_report(NewDeletion {
            report,
            request: request.clone(),
            now: now(),
        })?)
    })
    .await?;
    tracing::info!("report deleted at the shopper's request");
    Ok(HttpResponse::NoContent().finish())
}
