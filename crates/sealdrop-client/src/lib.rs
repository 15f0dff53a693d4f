//! sealdrop's HTTP client: every call the staff, auditor and shopper CLIs
//! make, over one blocking connection pool. It signs challenge responses
//! with the caller's key and keeps the bearer token it gets for them; it
//! checks nothing the server says (the callers verify what they receive
//! against keys they pinned).

/// Pure checks of the server's log proofs; they live with the other verifiers.
pub use sealdrop_verify::log_check;
pub mod restore;
pub mod tls_pin;
pub mod witnesses;

use std::fmt;
use std::time::Duration;

pub use tls_pin::{CertificatePin, pin_of_pem};
use ureq::unversioned::transport::Connector as _;

use sealdrop_api::log;
use sealdrop_api::routes as r;
use sealdrop_api::*;
use sealdrop_proto::codec::Encode;
use sealdrop_proto::descriptor::SignedDescriptor;
use sealdrop_proto::ids::{ProgramId, ReportId};
use sealdrop_proto::invite::{InviteBundle, SignedInvite};
use sealdrop_proto::keys::SecretIdentity;
use sealdrop_proto::messages::{AuthPurpose, AuthResponse, DeletionRequest};
use sealdrop_proto::report::SealedReport;
use sealdrop_proto::signed::Signed;
use serde::Serialize;
use serde::de::DeserializeOwned;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ClientError {
    /// The server refused, with its code and sentence.
    #[error("the server refused ({status} {}): {}", .body.error, .body.message)]
    Refused { status: u16, body: ErrorBody },
    #[error("cannot reach the server: {0}")]
    Transport(String),
    /// The server presented a TLS certificate other than the pinned one:
    /// someone may be in the middle, or the operator changed it.
    #[error(
        "the server's TLS certificate is not the one pinned for it; nothing was sent. Ask the program's manager whether the server's certificate changed"
    )]
    CertificateMismatch,
    #[error("the server's answer is not what the protocol allows: {0}")]
    BadAnswer(String),
    #[error("{0}")]
    Usage(&'static str),
}

impl ClientError {
    /// The refusal's code, when the server refused.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Refused { body, .. } => Some(body.error),
            _ => None,
        }
    }
}

impl From<ureq::Error> for ClientError {
    fn from(e: ureq::Error) -> Self {
        let text = e.to_string();
        if text.contains(tls_pin::PIN_MISMATCH) {
            Self::CertificateMismatch
        } else {
            Self::Transport(text)
        }
    }
}

pub type Result<T> = std::result::Result<T, ClientError>;

/// Hashes as the server sends them, each exactly 32 bytes.
pub fn digests(path: &[B64]) -> Result<Vec<[u8; 32]>> {
    path.iter()
        .map(|h| {
            h.0.as_slice()
                .try_into()
                .map_err(|_| ClientError::BadAnswer("a proof hash is not 32 bytes".into()))
        })
        .collect()
}

/// [`Client::program_current`]'s answer, its parts decoded, nothing
/// verified.
#[derive(Debug)]
pub struct ProgramCurrent {
    pub checkpoint: String,
    pub consistency: Vec<[u8; 32]>,
    pub head: log::HeadBody,
    pub current: u64,
    pub versions: Vec<SignedDescriptor>,
}

/// Whether `POST /v1/reports` stored the report now or before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    pub receipt: Receipt,
    pub duplicate: bool,
}

pub struct Client {
    agent: ureq::Agent,
    base: String,
    token: Option<String>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("signed_in", &self.token.is_some())
            .finish()
    }
}

impl Client {
    /// A client for the server at `base_url` (`http://host:port` or
    /// `https://…`). The URL is also the origin challenge responses name.
    pub fn new(base_url: &str) -> Result<Self> {
        Self::build(base_url, None)
    }

    /// A client that trusts only `root_pem` (a PEM certificate) for TLS: for
    /// a server with a self-signed certificate.
    pub fn with_root_certificate(base_url: &str, root_pem: &[u8]) -> Result<Self> {
        let cert = ureq::tls::Certificate::from_pem(root_pem)
            .map_err(|_| ClientError::Usage("the root certificate is not PEM"))?;
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::new_with_certs(&[cert]))
            .build();
        Self::build(base_url, Some(tls))
    }

    /// A client that trusts exactly the TLS certificate whose SHA-256 is
    /// `pin` (see [`tls_pin`]), and no certificate authority.
    pub fn with_pinned_certificate(base_url: &str, pin: CertificatePin) -> Result<Self> {
        // Plain HTTP would silently skip the pin.
        if !base_url.starts_with("https://") {
            return Err(ClientError::Usage(
                "a pinned TLS certificate needs an https:// server URL",
            ));
        }
        let tls = tls_pin::PinnedTlsConnector::new(pin)
            .map_err(|e| ClientError::Transport(format!("TLS set-up failed: {e}")))?;
        let connector = ureq::unversioned::transport::TcpConnector::default().chain(tls);
        let mut client = Self::build(base_url, None)?;
        let config = client.agent.config().clone();
        client.agent = ureq::Agent::with_parts(
            config,
            connector,
            ureq::unversioned::resolver::DefaultResolver::default(),
        );
        Ok(client)
    }

    /// [`Client::with_pinned_certificate`] when there is a pin,
    /// [`Client::new`] otherwise.
    pub fn connect(base_url: &str, pin: Option<CertificatePin>) -> Result<Self> {
        match pin {
            Some(pin) => Self::with_pinned_certificate(base_url, pin),
            None => Self::new(base_url),
        }
    }

    fn build(base_url: &str, tls: Option<ureq::tls::TlsConfig>) -> Result<Self> {
        let base = base_url.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ClientError::Usage(
                "the server URL must start with http:// or https://",
            ));
        }
        let mut config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_recv_response(Some(Duration::from_secs(120)));
        if let Some(tls) = tls {
            config = config.tls_config(tls);
        }
        Ok(Self {
            agent: config.build().new_agent(),
            base,
            token: None,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Uses `token` as the bearer token (tests and callers that keep one).
    pub fn set_token(&mut self, token: Option<String>) {
        self.token = token;
    }

    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn auth<B>(&self, req: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match &self.token {
            Some(t) => req.header("Authorization", format!("Bearer {t}")),
            None => req,
        }
    }

    fn answer<T: DeserializeOwned>(mut res: ureq::http::Response<ureq::Body>) -> Result<T> {
        let status = res.status().as_u16();
        if (200..300).contains(&status) {
            res.body_mut()
                .read_json::<T>()
                .map_err(|e| ClientError::BadAnswer(e.to_string()))
        } else {
            Err(Self::refusal(status, res))
        }
    }

    fn refusal(status: u16, mut res: ureq::http::Response<ureq::Body>) -> ClientError {
        match res.body_mut().read_json::<ErrorBody>() {
            Ok(body) => ClientError::Refused { status, body },
            Err(_) => ClientError::BadAnswer(format!("status {status} without an error body")),
        }
    }

    fn empty(res: ureq::http::Response<ureq::Body>) -> Result<()> {
        let status = res.status().as_u16();
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(Self::refusal(status, res))
        }
    }

    fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        Self::answer(self.auth(self.agent.get(self.url(path))).call()?)
    }

    fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        Self::answer(self.auth(self.agent.post(self.url(path))).send_json(body)?)
    }

    pub fn server_info(&self) -> Result<ServerInfo> {
        self.get(r::SERVER)
    }

    fn respond(&self, me: &SecretIdentity, purpose: AuthPurpose) -> Result<Signed<AuthResponse>> {
        let challenge: Challenge =
            Self::answer(self.agent.post(self.url(r::CHALLENGE)).send_empty()?)?;
        let nonce: [u8; 32] = challenge
            .nonce
            .0
            .as_slice()
            .try_into()
            .map_err(|_| ClientError::BadAnswer("a challenge nonce is 32 bytes".into()))?;
        Ok(Signed::sign(
            AuthResponse {
                origin: self.base.clone(),
                purpose,
                nonce,
                time: now(),
                person: me.id(),
            },
            me.signing(),
        ))
    }

    /// Signs in with `me`'s key and keeps the bearer token.
    pub fn sign_in(&mut self, me: &SecretIdentity) -> Result<Session> {
        let response = self.respond(me, AuthPurpose::Session)?;
        let session: Session = self.post(
            r::SESSION,
            &SessionRequest {
                response: B64::of(&response),
            },
        )?;
        self.token = Some(session.token.clone());
        Ok(session)
    }

    /// Enrols `me` with a one-time token from an operator or a manager.
    pub fn enrol(&self, token: &str, me: &SecretIdentity) -> Result<Enrolled> {
        let response = self.respond(me, AuthPurpose::Enrol)?;
        self.post(
            r::ENROL,
            &EnrolRequest {
                token: token.to_owned(),
                identity: me.public().to_bundle(),
                response: B64::of(&response),
            },
        )
    }

    /// Enrols a shopper pseudonym under a manager's invite, commit then
    /// reveal: first the server logs a commitment to the invite's token and
    /// the pseudonym's keys, proven under the log key and origin the invite
    /// pins; only then does the enrolment reveal the token, naming that
    /// commitment's leaf; the enrolment's own `enrolled` leaf is proven the
    /// same way before this returns. A server that sees the token at the
    /// reveal can only log a commitment of its own after this one.
    pub fn enrol_shopper(
        &self,
        invite: &InviteBundle,
        pseudonym: &SecretIdentity,
    ) -> Result<Enrolled> {
        use sealdrop_proto::log::entry::{LogEntry, LoggedRole};
        let pins = invite.invite.unverified_body();
        let unproven = |what: &str, e: log_check::LogCheckError| {
            ClientError::BadAnswer(format!(
                "the server does not prove that its log records {what}: {e}"
            ))
        };
        let commitment = sealdrop_proto::invite::enrolment_commitment(
            invite.token.expose_bytes(),
            &pseudonym.public(),
        );
        let logged: CommitmentLogged = self.post(
            r::ENROL_COMMIT,
            &EnrolCommitment {
                token_hash: B64(invite.token.hash().to_vec()),
                commitment: B64(commitment.to_vec()),
            },
        )?;
        log_check::included(
            &logged.log,
            &LogEntry::Committed {
                commitment,
                at: logged.committed_at,
            },
            &pins.log_origin,
            &pins.log_key,
        )
        .map_err(|e| unproven("your commitment", e))?;
        let enrolment = sealdrop_proto::invite::Enrolment::sign(
            invite,
            pseudonym,
            now(),
            logged.log.leaf_index,
        );
        let enrolled: Enrolled = self.post(
            r::ENROL_SHOPPER,
            &ShopperEnrolRequest {
                invite: B64::of(&invite.invite),
                enrolment: B64::of(&enrolment),
            },
        )?;
        let (Some(at), Some(proof)) = (enrolled.enrolled_at, enrolled.log.as_ref()) else {
            return Err(ClientError::BadAnswer(
                "the server enrolled you without proving it in its log".into(),
            ));
        };
        log_check::included(
            proof,
            &LogEntry::Enrolled {
                person: pseudonym.id(),
                role: LoggedRole::Shopper,
                program: Some(pins.program_id),
                enrolment: Some(enrolment.hash(sealdrop_proto::labels::HASH_ENROLMENT_RECORD)),
                at,
            },
            &pins.log_origin,
            &pins.log_key,
        )
        .map_err(|e| unproven("your enrolment", e))?;
        Ok(enrolled)
    }

    pub fn me(&self) -> Result<Me> {
        self.get(r::ME)
    }

    pub fn issue_staff_token(&self) -> Result<TokenIssued> {
        Self::answer(
            self.auth(self.agent.post(self.url(r::STAFF_INVITES)))
                .send_empty()?,
        )
    }

    /// Registers what the server needs to recognise an invite's token: the
    /// program, the token's hash and the expiry. Never the signed invite.
    pub fn register_invite(&self, invite: &SignedInvite) -> Result<()> {
        let body = invite.unverified_body();
        Self::empty(
            self.auth(self.agent.post(self.url(r::SHOPPER_INVITES)))
                .send_json(&InviteRegistration {
                    program: body.program_id.to_string(),
                    token_hash: B64(body.token_hash.to_vec()),
                    expires_at: body.expires_at,
                })?,
        )
    }

    pub fn create_program(&self, first: &SignedDescriptor) -> Result<DescriptorAccepted> {
        self.post(
            r::PROGRAMS,
            &DescriptorBody {
                descriptor: B64::of(first),
            },
        )
    }

    pub fn programs(&self) -> Result<Vec<ProgramSummary>> {
        self.get(r::PROGRAMS)
    }

    pub fn descriptor(&self, program: &ProgramId) -> Result<SignedDescriptor> {
        let body: DescriptorBody =
            self.get(&r::fill(r::PROGRAM_DESCRIPTOR, &[&program.to_string()]))?;
        body.descriptor
            .decode()
            .map_err(|e| ClientError::BadAnswer(e.to_string()))
    }

    pub fn descriptors(&self, program: &ProgramId) -> Result<Vec<SignedDescriptor>> {
        let body: DescriptorChainBody =
            self.get(&r::fill(r::PROGRAM_DESCRIPTORS, &[&program.to_string()]))?;
        body.versions
            .iter()
            .map(|b| {
                b.decode()
                    .map_err(|e| ClientError::BadAnswer(e.to_string()))
            })
            .collect()
    }

    pub fn update_descriptor(&self, next: &SignedDescriptor) -> Result<DescriptorAccepted> {
        let program = next.unverified_body().program_id;
        Self::answer(
            self.auth(
                self.agent
                    .put(self.url(&r::fill(r::PROGRAM_DESCRIPTOR, &[&program.to_string()]))),
            )
            .send_json(&DescriptorBody {
                descriptor: B64::of(next),
            })?,
        )
    }

    /// Uploads the questionnaire a descriptor of the program signs.
    pub fn put_questionnaire(&self, program: &ProgramId, body: &[u8]) -> Result<()> {
        Self::empty(
            self.auth(
                self.agent
                    .put(self.url(&r::fill(r::PROGRAM_QUESTIONNAIRE, &[&program.to_string()]))),
            )
            .content_type("application/json")
            .send(body)?,
        )
    }

    /// The program's current questionnaire, byte for byte. The caller
    /// checks it against the digest its verified descriptor signs.
    pub fn questionnaire(&self, program: &ProgramId, digest: Option<&[u8; 32]>) -> Result<Vec<u8>> {
        let mut path = r::fill(r::PROGRAM_QUESTIONNAIRE, &[&program.to_string()]);
        if let Some(d) = digest {
            path.push_str("?digest=");
            path.push_str(&data_encoding::HEXLOWER.encode(d));
        }
        let mut res = self.auth(self.agent.get(self.url(&path))).call()?;
        let status = res.status().as_u16();
        if status != 200 {
            return Err(Self::refusal(status, res));
        }
        res.body_mut()
            .read_to_vec()
            .map_err(|e| ClientError::Transport(e.to_string()))
    }

    pub fn shoppers(&self, program: &ProgramId) -> Result<Vec<ShopperEntry>> {
        self.get(&r::fill(r::PROGRAM_SHOPPERS, &[&program.to_string()]))
    }

    /// Disables a shopper of the program (a lost laptop, a dismissed shopper).
    /// Revokes a shopper; the answer carries the proof of its `disabled`
    /// leaf, unverified.
    pub fn revoke_shopper(
        &self,
        program: &ProgramId,
        shopper: &sealdrop_proto::PersonId,
    ) -> Result<sealdrop_api::ShopperRevoked> {
        let response = self
            .auth(self.agent.post(self.url(&r::fill(
                r::PROGRAM_SHOPPER_REVOCATION,
                &[&program.to_string(), &shopper.to_string()],
            ))))
            .send_empty()?;
        Self::answer(response)
    }

    pub fn grant(&self, program: &ProgramId, upload: &GrantUpload) -> Result<GrantAccepted> {
        self.post(&r::fill(r::PROGRAM_GRANTS, &[&program.to_string()]), upload)
    }

    /// Uploads a sealed report and its ciphertext streams.
    pub fn submit(&self, sealed: &SealedReport, streams: &[&[u8]]) -> Result<Submitted> {
        let body = upload::body(&sealed.to_bytes(), streams);
        self.submit_raw(&body)
    }

    /// Uploads a prepared body as it is (see `sealdrop_api::upload`).
    pub fn submit_raw(&self, body: &[u8]) -> Result<Submitted> {
        let res = self
            .auth(self.agent.post(self.url(r::REPORTS)))
            .content_type("application/octet-stream")
            .send(body)?;
        let duplicate = res.status().as_u16() == 200;
        Ok(Submitted {
            receipt: Self::answer(res)?,
            duplicate,
        })
    }

    /// Begins (or resumes) a resumable upload of `sealed`.
    pub fn begin_upload(&self, sealed: &SealedReport) -> Result<UploadStatus> {
        Self::answer(
            self.auth(self.agent.post(self.url(r::UPLOADS)))
                .content_type("application/octet-stream")
                .send(&sealed.to_bytes()[..])?,
        )
    }

    pub fn upload_status(&self, report: &ReportId) -> Result<UploadStatus> {
        self.get(&r::fill(r::UPLOAD, &[&report.to_string()]))
    }

    /// Sends `data` as the piece of `stream` starting at `offset`.
    pub fn upload_piece(
        &self,
        report: &ReportId,
        stream: u32,
        offset: u64,
        data: &[u8],
    ) -> Result<UploadStream> {
        let path = r::fill(
            r::UPLOAD_STREAM,
            &[&report.to_string(), &stream.to_string()],
        );
        Self::answer(
            self.auth(self.agent.put(self.url(&format!("{path}?offset={offset}"))))
                .content_type("application/octet-stream")
                .send(data)?,
        )
    }

    pub fn finish_upload(&self, report: &ReportId) -> Result<Submitted> {
        let res = self
            .auth(
                self.agent
                    .post(self.url(&r::fill(r::UPLOAD_FINISH, &[&report.to_string()]))),
            )
            .send_empty()?;
        let duplicate = res.status().as_u16() == 200;
        Ok(Submitted {
            receipt: Self::answer(res)?,
            duplicate,
        })
    }

    /// Uploads a report through the resumable path, continuing wherever the
    /// server says each stream stands, in pieces of at most `piece` bytes.
    pub fn upload(
        &self,
        sealed: &SealedReport,
        streams: &[&[u8]],
        piece: usize,
    ) -> Result<Submitted> {
        let report = sealed.report_id();
        let status = self.begin_upload(sealed)?;
        if let Some(ack) = status.acknowledgement {
            return Ok(Submitted {
                receipt: Receipt {
                    report: report.to_string(),
                    acknowledgement: ack,
                    log: status.log,
                },
                duplicate: true,
            });
        }
        for (index, (stream, data)) in status.streams.iter().zip(streams).enumerate() {
            let mut offset = stream.received;
            while offset < stream.length {
                let start = usize::try_from(offset)
                    .map_err(|_| ClientError::Usage("a stream is too long for this machine"))?;
                let end = start.saturating_add(piece.max(1)).min(data.len());
                let chunk = data.get(start..end).ok_or(ClientError::Usage(
                    "a stream is shorter than its signed length",
                ))?;
                offset = self
                    .upload_piece(&report, index as u32, offset, chunk)?
                    .received;
            }
        }
        self.finish_upload(&report)
    }

    /// A person's public keys, role and (for shoppers) signed enrolment.
    /// The caller checks the keys against the ID and a fingerprint.
    pub fn person(&self, id: &sealdrop_proto::PersonId) -> Result<AuditEnrolment> {
        self.get(&r::fill(r::PERSON, &[&id.to_string()]))
    }

    pub fn inbox(
        &self,
        program: Option<&ProgramId>,
        since: Option<u64>,
    ) -> Result<Vec<InboxEntry>> {
        let mut path = r::REPORTS.to_owned();
        let mut sep = '?';
        if let Some(p) = program {
            path.push_str(&format!("{sep}program={p}"));
            sep = '&';
        }
        if let Some(s) = since {
            path.push_str(&format!("{sep}since={s}"));
        }
        self.get(&path)
    }

    pub fn release(&self, report: &ReportId) -> Result<ReportRelease> {
        self.get(&r::fill(r::REPORT, &[&report.to_string()]))
    }

    /// One stream's ciphertext as a reader, for streams too large to hold
    /// in memory.
    pub fn stream_reader(
        &self,
        report: &ReportId,
        stream: u32,
    ) -> Result<impl std::io::Read + use<>> {
        let res = self
            .auth(self.agent.get(self.url(&r::fill(
                r::REPORT_STREAM,
                &[&report.to_string(), &stream.to_string()],
            ))))
            .call()?;
        let status = res.status().as_u16();
        if status != 200 {
            return Err(Self::refusal(status, res));
        }
        Ok(res.into_body().into_with_config().limit(u64::MAX).reader())
    }

    /// Downloads one stream's ciphertext.
    pub fn stream(&self, report: &ReportId, stream: u32) -> Result<Vec<u8>> {
        let mut res = self
            .auth(self.agent.get(self.url(&r::fill(
                r::REPORT_STREAM,
                &[&report.to_string(), &stream.to_string()],
            ))))
            .call()?;
        let status = res.status().as_u16();
        if status != 200 {
            return Err(Self::refusal(status, res));
        }
        res.body_mut()
            .with_config()
            .limit(u64::MAX)
            .read_to_vec()
            .map_err(|e| ClientError::Transport(e.to_string()))
    }

    pub fn request_deletion(&self, request: &Signed<DeletionRequest>) -> Result<()> {
        let report = request.unverified_body().report_id;
        Self::empty(
            self.auth(
                self.agent
                    .post(self.url(&r::fill(r::REPORT_DELETION, &[&report.to_string()]))),
            )
            .send_json(&DeletionBody {
                request: B64::of(request),
            })?,
        )
    }

    fn page<T: DeserializeOwned>(&self, route: &str, after: Option<u64>) -> Result<Listing<T>> {
        match after {
            Some(a) => self.get(&format!("{route}?after={a}")),
            None => self.get(route),
        }
    }

    pub fn audit_reports(&self, after: Option<u64>) -> Result<Listing<AuditReport>> {
        self.page(r::AUDIT_REPORTS, after)
    }

    pub fn audit_enrolments(&self, after: Option<u64>) -> Result<Listing<AuditEnrolment>> {
        self.page(r::AUDIT_ENROLMENTS, after)
    }

    pub fn audit_grants(&self, after: Option<u64>) -> Result<Listing<AuditGrant>> {
        self.page(r::AUDIT_GRANTS, after)
    }

    /// A signed note the server serves as text at `path`, unverified.
    fn note(&self, path: &str) -> Result<Vec<u8>> {
        self.text(path, sealdrop_proto::log::checkpoint::MAX_NOTE_LEN as u64)
    }

    /// A text answer of at most `limit` bytes.
    fn text(&self, path: &str, limit: u64) -> Result<Vec<u8>> {
        let mut res = self.auth(self.agent.get(self.url(path))).call()?;
        let status = res.status().as_u16();
        if status != 200 {
            return Err(Self::refusal(status, res));
        }
        res.body_mut()
            .with_config()
            .limit(limit)
            .read_to_vec()
            .map_err(|e| ClientError::BadAnswer(format!("the checkpoint is unreadable: {e}")))
    }

    /// The log's latest checkpoint note, unverified: check it with
    /// `SignedCheckpoint::parse_and_verify` under the pinned log key.
    pub fn log_checkpoint(&self) -> Result<Vec<u8>> {
        self.note(r::LOG_CHECKPOINT)
    }

    /// Each witness's newest cosigned checkpoint (a note with its
    /// cosignature), unverified.
    pub fn log_checkpoints_cosigned(&self) -> Result<Vec<String>> {
        let body: log::CosignedBody = self.get(r::LOG_CHECKPOINT_COSIGNED)?;
        if body.notes.len() > log::MAX_COSIGNED_NOTES as usize {
            return Err(ClientError::BadAnswer(
                "too many cosigned checkpoints".into(),
            ));
        }
        Ok(body.notes)
    }

    /// Gives the server a witness's cosignature: `note` is its checkpoint
    /// with the witness's line added.
    pub fn log_cosign(&self, note: &str) -> Result<()> {
        Self::empty(
            self.auth(self.agent.post(self.url(r::LOG_COSIGNATURES)))
                .send_json(log::CosignatureBody {
                    note: note.to_owned(),
                })?,
        )
    }

    /// `program`'s head at the checkpoint of `size` leaves and its proof
    /// in that checkpoint's heads tree, unverified: check it with
    /// `log_check::head`.
    pub fn program_head(&self, program: &ProgramId, size: u64) -> Result<log::HeadBody> {
        let path = r::fill(r::PROGRAM_HEAD, &[&program.to_string()]);
        let body: log::HeadBody = self.get(&format!("{path}?size={size}"))?;
        // A heads tree of 2^64 programs has a 64-hash path.
        if body.path.len() > 64 {
            return Err(ClientError::BadAnswer("the head proof is too long".into()));
        }
        Ok(body)
    }

    /// What a shopper checks before sealing or sending, in one request
    /// (`log::CurrentBody`), unverified: the checkpoint note, the
    /// consistency proof from `kept` leaves, the program's head, the
    /// server's current version and the versions after `after`.
    pub fn program_current(
        &self,
        program: &ProgramId,
        kept: Option<u64>,
        after: u64,
    ) -> Result<ProgramCurrent> {
        let path = r::fill(r::PROGRAM_CURRENT, &[&program.to_string()]);
        let kept = kept.map_or(String::new(), |k| format!("&kept={k}"));
        let body: log::CurrentBody = self.get(&format!("{path}?after={after}{kept}"))?;
        let too_long = body.checkpoint.len() > sealdrop_proto::log::checkpoint::MAX_NOTE_LEN
            || body.consistency.len() > 128
            || body.head.path.len() > 64;
        if too_long {
            return Err(ClientError::BadAnswer(
                "the program's current state is too long".into(),
            ));
        }
        let versions = body
            .versions
            .iter()
            .map(|b| {
                b.decode()
                    .map_err(|e| ClientError::BadAnswer(e.to_string()))
            })
            .collect::<Result<Vec<SignedDescriptor>>>()?;
        Ok(ProgramCurrent {
            checkpoint: body.checkpoint,
            consistency: digests(&body.consistency)?,
            head: body.head,
            current: body.current,
            versions,
        })
    }

    /// The audit path of leaf `index` in the tree of `size` leaves.
    pub fn log_inclusion(&self, index: u64, size: u64) -> Result<Vec<[u8; 32]>> {
        let body: log::ProofBody =
            self.get(&format!("{}?index={index}&size={size}", r::LOG_INCLUSION))?;
        digests(&body.path)
    }

    /// The consistency proof from `from` leaves to `to` leaves.
    pub fn log_consistency(&self, from: u64, to: u64) -> Result<Vec<[u8; 32]>> {
        let body: log::ProofBody =
            self.get(&format!("{}?from={from}&to={to}", r::LOG_CONSISTENCY))?;
        digests(&body.path)
    }

    /// A consistency proof from `from` to `to` leaves in the log that
    /// handover `hop` (1 = the chain's first) handed over from, which the
    /// restore kept (`sealdrop_verify::handover::OldProof`).
    pub fn old_log_consistency(&self, hop: u32, from: u64, to: u64) -> Result<Vec<[u8; 32]>> {
        let body: log::ProofBody = self.get(&format!(
            "{}?hop={hop}&from={from}&to={to}",
            r::LOG_HANDOVER_CONSISTENCY
        ))?;
        digests(&body.path)
    }

    /// Leaves `[start, end)` as stored (auditors only).
    pub fn log_leaves(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>> {
        let body: log::LeavesBody =
            self.get(&format!("{}?start={start}&end={end}", r::LOG_LEAVES))?;
        if body.start != start {
            return Err(ClientError::BadAnswer(
                "the leaves start elsewhere than asked".into(),
            ));
        }
        Ok(body.leaves.into_iter().map(|b| b.0).collect())
    }

    /// The handover note by which the log this server's log continues (after
    /// a restore) handed over to it, unverified: check it with
    /// `Handover::verify` under the old log key and origin you pinned.
    /// `None` when the server has no handover (it answers 404).
    pub fn log_handover(&self) -> Result<Option<Vec<u8>>> {
        // One note per restore, up to the chain's limit.
        let limit = (sealdrop_proto::log::handover::MAX_CHAIN
            * sealdrop_proto::log::checkpoint::MAX_NOTE_LEN) as u64;
        match self.text(r::LOG_HANDOVER, limit) {
            Ok(note) => Ok(Some(note)),
            Err(ClientError::Refused { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A page of live reports' ciphertext (`sealdrop_api::bulk`) and the
    /// cursor for the next one.
    pub fn audit_bulk(&self, after: Option<u64>) -> Result<(Vec<bulk::Entry>, Option<u64>)> {
        let path = match after {
            Some(a) => format!("{}?after={a}", r::AUDIT_BULK),
            None => r::AUDIT_BULK.to_owned(),
        };
        let mut res = self.auth(self.agent.get(self.url(&path))).call()?;
        let status = res.status().as_u16();
        if status != 200 {
            return Err(Self::refusal(status, res));
        }
        let next = res
            .headers()
            .get(bulk::NEXT_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let bytes = res
            .body_mut()
            .with_config()
            .limit(1 << 30)
            .read_to_vec()
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        let entries = bulk::decode(&bytes)
            .ok_or_else(|| ClientError::BadAnswer("a ciphertext page is malformed".into()))?;
        Ok((entries, next))
    }

    pub fn audit_releases(&self, after: Option<u64>) -> Result<Listing<AuditRelease>> {
        self.page(r::AUDIT_RELEASES, after)
    }

    /// A raw request, for tests that probe every endpoint: method, path,
    /// optional JSON body. Returns the status and the body bytes.
    pub fn raw(&self, method: &str, path: &str, json: Option<&str>) -> Result<(u16, Vec<u8>)> {
        let url = self.url(path);
        let res = match (method, json) {
            ("GET", _) => self.auth(self.agent.get(url)).call()?,
            ("POST", Some(b)) => self
                .auth(self.agent.post(url))
                .content_type("application/json")
                .send(b.as_bytes())?,
            ("POST", None) => self.auth(self.agent.post(url)).send_empty()?,
            ("PUT", Some(b)) => self
                .auth(self.agent.put(url))
                .content_type("application/json")
                .send(b.as_bytes())?,
            ("PUT", None) => self.auth(self.agent.put(url)).send_empty()?,
            _ => return Err(ClientError::Usage("raw supports GET, POST and PUT")),
        };
        let status = res.status().as_u16();
        let mut res = res;
        let body = res
            .body_mut()
            .read_to_vec()
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        Ok((status, body))
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
