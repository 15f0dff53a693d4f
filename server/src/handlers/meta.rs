//! Health, metrics, the OpenAPI document and what clients need to know.

use actix_web::{HttpResponse, web};
use sealdrop_api::{B64, Health, ServerInfo};

use crate::metrics::METRICS;
use crate::state::AppState;

#[utoipa::path(get, path = "/healthz", tag = "meta",
    responses((status = 200, body = Health)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok".into(),
    })
}

#[utoipa::path(get, path = "/metrics", tag = "meta",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn metrics() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(METRICS.render())
}

#[utoipa::path(get, path = "/openapi.json", tag = "meta",
    responses((status = 200, description = "This document")))]
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(crate::openapi::document())
}

#[utoipa::path(get, path = "/v1/server", tag = "meta",
    responses((status = 200, body = ServerInfo)))]
pub async fn server_info(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(ServerInfo {
        log_key: B64(state.log_key.verifying_key().to_bytes().to_vec()),
        log_origin: state.log_origin.clone(),
        max_report_bytes: state.max_report_bytes,
        max_upload_bytes: state.max_upload_bytes,
        max_piece_bytes: super::uploads::MAX_PIECE as u64,
        version: env!("CARGO_PKG_VERSION").into(),
    })
}
