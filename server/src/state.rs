use std::sync::Arc;

use actix_web::web;
use sealdrop_proto::keys::SigningSecret;
use sealdrop_store::Store;

use crate::error::ApiResult;

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
