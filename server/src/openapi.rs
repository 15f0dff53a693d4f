//! The OpenAPI document, from the handlers' annotations.

use utoipa::OpenApi;

use crate::handlers::{audit, auth, enrol, log, meta, people, programs, reports, uploads, witness};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "sealdrop",
        description = "End-to-end encrypted report submission. Signed objects travel as canonical bytes in base64url; see docs/API.md."
    ),
    paths(
        meta::healthz,
        meta::metrics,
        meta::openapi,
        meta::server_info,
        auth::challenge,
        auth::session,
        auth::me,
        enrol::enrol,
        enrol::commit,
        enrol::enrol_shopper,
        enrol::staff_invite,
        enrol::shopper_invite,
        programs::create,
        programs::list,
        programs::descriptor,
        programs::update,
        programs::descriptors,
        programs::head,
        programs::current,
        programs::grant,
        programs::shoppers,
        programs::revoke_shopper,
        programs::put_questionnaire,
        programs::questionnaire,
        reports::submit,
        reports::inbox,
        reports::release,
        reports::stream,
        reports::deletion,
        uploads::begin,
        uploads::show,
        uploads::piece,
        uploads::finish,
        people::show,
        audit::reports,
        audit::enrolments,
        audit::grants,
        audit::releases,
        audit::bulk,
        log::checkpoint,
        log::inclusion,
        log::consistency,
        log::leaves,
        log::handover,
        log::old_log_consistency,
        witness::cosign,
        witness::cosigned,
    )
)]
struct Doc;

pub fn document() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}
