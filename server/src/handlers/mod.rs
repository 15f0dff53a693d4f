//! HTTP handlers: parse, check the caller, call the store on the blocking
//! pool, map errors. [`ROUTES`] is the one table of what is served; the
//! OpenAPI document is checked against it in a test.

pub mod audit;
pub mod auth;
pub mod enrol;
pub mod log;
pub mod meta;
pub mod people;
pub mod programs;
pub mod reports;
pub mod uploads;
pub mod witness;

use actix_web::http::Method;
use actix_web::{Route, web};
use sealdrop_api::routes as r;

pub type RouteFn = fn() -> Route;

pub const ROUTES: &[(Method, &str, RouteFn)] = &[
    (Method::GET, r::HEALTHZ, || web::get().to(meta::healthz)),
    (Method::GET, r::METRICS, || web::get().to(meta::metrics)),
    (Method::GET, r::OPENAPI, || web::get().to(meta::openapi)),
    (Method::GET, r::SERVER, || web::get().to(meta::server_info)),
    (Method::POST, r::CHALLENGE, || {
        web::post().to(auth::challenge)
    }),
    (Method::POST, r::SESSION, || web::post().to(auth::session)),
    (Method::GET, r::ME, || web::get().to(auth::me)),
    (Method::POST, r::ENROL, || web::post().to(enrol::enrol)),
    (Method::POST, r::ENROL_COMMIT, || {
        web::post().to(enrol::commit)
    }),
    (Method::POST, r::ENROL_SHOPPER, || {
        web::post().to(enrol::enrol_shopper)
    }),
    (Method::POST, r::STAFF_INVITES, || {
        web::post().to(enrol::staff_invite)
    }),
    (Method::POST, r::SHOPPER_INVITES, || {
        web::post().to(enrol::shopper_invite)
    }),
    (Method::POST, r::PROGRAMS, || {
        web::post().to(programs::create)
    }),
    (Method::GET, r::PROGRAMS, || web::get().to(programs::list)),
    (Method::GET, r::PROGRAM_DESCRIPTOR, || {
        web::get().to(programs::descriptor)
    }),
    (Method::PUT, r::PROGRAM_DESCRIPTOR, || {
        web::put().to(programs::update)
    }),
    (Method::GET, r::PROGRAM_DESCRIPTORS, || {
        web::get().to(programs::descriptors)
    }),
    (Method::GET, r::PROGRAM_HEAD, || {
        web::get().to(programs::head)
    }),
    (Method::GET, r::PROGRAM_CURRENT, || {
        web::get().to(programs::current)
    }),
    (Method::PUT, r::PROGRAM_QUESTIONNAIRE, || {
        web::put().to(programs::put_questionnaire)
    }),
    (Method::GET, r::PROGRAM_QUESTIONNAIRE, || {
        web::get().to(programs::questionnaire)
    }),
    (Method::GET, r::PROGRAM_SHOPPERS, || {
        web::get().to(programs::shoppers)
    }),
    (Method::POST, r::PROGRAM_SHOPPER_REVOCATION, || {
        web::post().to(programs::revoke_shopper)
    }),
    (Method::POST, r::PROGRAM_GRANTS, || {
        web::post().to(programs::grant)
    }),
    (Method::POST, r::REPORTS, || web::post().to(reports::submit)),
    (Method::GET, r::REPORTS, || web::get().to(reports::inbox)),
    (Method::GET, r::REPORT, || web::get().to(reports::release)),
    (Method::GET, r::REPORT_STREAM, || {
        web::get().to(reports::stream)
    }),
    (Method::POST, r::REPORT_DELETION, || {
        web::post().to(reports::deletion)
    }),
    (Method::POST, r::UPLOADS, || web::post().to(uploads::begin)),
    (Method::GET, r::UPLOAD, || web::get().to(uploads::show)),
    (Method::PUT, r::UPLOAD_STREAM, || {
        web::put().to(uploads::piece)
    }),
    (Method::POST, r::UPLOAD_FINISH, || {
        web::post().to(uploads::finish)
    }),
    (Method::GET, r::PERSON, || web::get().to(people::show)),
    (Method::GET, r::AUDIT_REPORTS, || {
        web::get().to(audit::reports)
    }),
    (Method::GET, r::AUDIT_ENROLMENTS, || {
        web::get().to(audit::enrolments)
    }),
    (Method::GET, r::AUDIT_GRANTS, || {
        web::get().to(audit::grants)
    }),
    (Method::GET, r::AUDIT_BULK, || web::get().to(audit::bulk)),
    (Method::GET, r::AUDIT_RELEASES, || {
        web::get().to(audit::releases)
    }),
    (Method::GET, r::LOG_CHECKPOINT, || {
        web::get().to(log::checkpoint)
    }),
    (Method::GET, r::LOG_INCLUSION, || {
        web::get().to(log::inclusion)
    }),
    (Method::GET, r::LOG_CONSISTENCY, || {
        web::get().to(log::consistency)
    }),
    (Method::GET, r::LOG_LEAVES, || web::get().to(log::leaves)),
    (Method::GET, r::LOG_HANDOVER, || {
        web::get().to(log::handover)
    }),
    (Method::GET, r::LOG_HANDOVER_CONSISTENCY, || {
        web::get().to(log::old_log_consistency)
    }),
    (Method::POST, r::LOG_COSIGNATURES, || {
        web::post().to(witness::cosign)
    }),
    (Method::GET, r::LOG_CHECKPOINT_COSIGNED, || {
        web::get().to(witness::cosigned)
    }),
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    /// The OpenAPI document describes exactly the routes served.
    #[test]
    fn openapi_matches_the_route_table() {
        let served: BTreeSet<String> = super::ROUTES
            .iter()
            .map(|(m, p, _)| format!("{} {p}", m.as_str().to_lowercase()))
            .collect();
        let doc = serde_json::to_value(crate::openapi::document()).unwrap();
        let documented: BTreeSet<String> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, ops)| {
                ops.as_object()
                    .unwrap()
                    .keys()
                    .map(move |m| format!("{m} {path}"))
            })
            .collect();
        assert_eq!(served, documented);
    }
}
