use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::web;
use sealdrop_proto::descriptor::SignedDescriptor;
use sealdrop_proto::ids::ProgramId;
use sealdrop_proto::keys::SigningSecret;
use sealdrop_store::Store;

use crate::error::{ApiError, ApiResult};

/// What every handler shares.
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// Signs acknowledgements. Never printed or logged.
    pub log_key: SigningSecret,
    pub log_origin: String,
    /// The origins a challenge response may name: the URLs clients reach
    /// this server at.
    pub origins: Vec<String>,
    pub max_report_bytes: u64,
    pub max_upload_bytes: u64,
    pub session_ttl: u64,
    /// The current descriptor of each program, as last read or written.
    /// Advisory: the store re-checks the version inside every write, so a
    /// stale entry can only lead to a `stale-list` answer, never to a
    /// report stored against the wrong list.
    pub descriptors: Mutex<HashMap<ProgramId, Arc<SignedDescriptor>>>,
    /// Sessions of submitting shoppers, looked up in the last few seconds
    /// (see `auth::Submitter`).
    pub recent_submitters: Mutex<HashMap<[u8; 32], (sealdrop_store::Person, std::time::Instant)>>,
    /// The latest signed checkpoint (`checkpoints.rs`).
    pub checkpoints: crate::checkpoints::Checkpoints,
}

impl AppState {
    /// The program's current descriptor, at least version `at_least`
    /// (reading the store when the cached one is older or missing).
    pub fn current_descriptor(
        &self,
        program: &ProgramId,
        at_least: u64,
    ) -> ApiResult<Arc<SignedDescriptor>> {
        let cached = self
            .descriptors
            .lock()
            .ok()
            .and_then(|m| m.get(program).cloned());
        if let Some(d) = cached.filter(|d| d.unverified_body().version >= at_least) {
            return Ok(d);
        }
        let fresh = Arc::new(
            self.store
                .program(program)?
                .ok_or_else(|| ApiError::not_found("program"))?
                .current,
        );
        self.remember(fresh.clone());
        Ok(fresh)
    }

    /// The cached current descriptor, if it is at least `at_least`; never
    /// reads the store (for the executor threads).
    pub fn cached_descriptor(
        &self,
        program: &ProgramId,
        at_least: u64,
    ) -> Option<Arc<SignedDescriptor>> {
        self.descriptors
            .lock()
            .ok()
            .and_then(|m| m.get(program).cloned())
            .filter(|d| d.unverified_body().version >= at_least)
    }

    /// Records a descriptor this process just stored as current.
    pub fn remember(&self, descriptor: Arc<SignedDescriptor>) {
        if let Ok(mut map) = self.descriptors.lock() {
            let id = descriptor.unverified_body().program_id;
            let newer = map
                .get(&id)
                .is_none_or(|d| d.unverified_body().version < descriptor.unverified_body().version);
            if newer {
                map.insert(id, descriptor);
            }
        }
    }
}

/// Runs `f` on the blocking pool: database work and signature checks never
/// run on the async executor threads.
pub async fn blocking<T: Send + 'static>(
    state: &web::Data<AppState>,
    f: impl FnOnce(&AppState) -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    let state = state.clone();
    web::block(move || f(&state)).await?
}
