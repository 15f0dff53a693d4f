//! Every path the server serves. `{…}` segments are IDs in their typed text
//! form (`sdp…`, `sdr…`, `sd…`).

pub const HEALTHZ: &str = "/healthz";
pub const METRICS: &str = "/metrics";
pub const OPENAPI: &str = "/openapi.json";

pub const SERVER: &str = "/v1/server";
pub const CHALLENGE: &str = "/v1/auth/challenge";
pub const SESSION: &str = "/v1/auth/session";
pub const ENROL: &str = "/v1/enrol";
pub const ENROL_SHOPPER: &str = "/v1/enrol/shopper";
pub const ENROL_COMMIT: &str = "/v1/enrol/commit";
pub const ME: &str = "/v1/me";
pub const STAFF_INVITES: &str = "/v1/invites/staff";
pub const SHOPPER_INVITES: &str = "/v1/invites/shopper";
pub const PROGRAMS: &str = "/v1/programs";
pub const PROGRAM_DESCRIPTOR: &str = "/v1/programs/{program}/descriptor";
pub const PROGRAM_DESCRIPTORS: &str = "/v1/programs/{program}/descriptors";
pub const PROGRAM_HEAD: &str = "/v1/programs/{program}/head";
pub const PROGRAM_CURRENT: &str = "/v1/programs/{program}/current";
pub const PROGRAM_QUESTIONNAIRE: &str = "/v1/programs/{program}/questionnaire";
pub const PROGRAM_SHOPPERS: &str = "/v1/programs/{program}/shoppers";
pub const PROGRAM_SHOPPER_REVOCATION: &str = "/v1/programs/{program}/shoppers/{person}/revocation";
pub const PROGRAM_GRANTS: &str = "/v1/programs/{program}/grants";
pub const REPORTS: &str = "/v1/reports";
pub const REPORT: &str = "/v1/reports/{report}";
pub const REPORT_STREAM: &str = "/v1/reports/{report}/streams/{stream}";
pub const REPORT_DELETION: &str = "/v1/reports/{report}/deletion";
pub const UPLOADS: &str = "/v1/uploads";
pub const UPLOAD: &str = "/v1/uploads/{report}";
pub const UPLOAD_STREAM: &str = "/v1/uploads/{report}/streams/{stream}";
pub const UPLOAD_FINISH: &str = "/v1/uploads/{report}/finish";
pub const PERSON: &str = "/v1/people/{person}";
pub const AUDIT_REPORTS: &str = "/v1/audit/reports";
pub const AUDIT_ENROLMENTS: &str = "/v1/audit/enrolments";
pub const AUDIT_GRANTS: &str = "/v1/audit/grants";
pub const AUDIT_BULK: &str = "/v1/audit/bulk";
pub const AUDIT_RELEASES: &str = "/v1/audit/releases";
pub const LOG_CHECKPOINT: &str = "/v1/log/checkpoint";
pub const LOG_INCLUSION: &str = "/v1/log/inclusion";
pub const LOG_CONSISTENCY: &str = "/v1/log/consistency";
pub const LOG_LEAVES: &str = "/v1/log/leaves";
pub const LOG_COSIGNATURES: &str = "/v1/log/cosignatures";
pub const LOG_CHECKPOINT_COSIGNED: &str = "/v1/log/checkpoint/cosigned";
pub const LOG_HANDOVER: &str = "/v1/log/handover";
pub const LOG_HANDOVER_CONSISTENCY: &str = "/v1/log/handover/consistency";

/// Fills `{name}` segments in `route` with `values`, in order.
pub fn fill(route: &str, values: &[&str]) -> String {
    let mut out = String::with_capacity(route.len() + 64);
    let mut values = values.iter();
    let mut rest = route;
    while let Some(start) = rest.find('{') {
        out.push_str(rest.get(..start).unwrap_or_default());
        let end = rest
            .get(start..)
            .and_then(|r| r.find('}'))
            .map_or(rest.len(), |e| start + e + 1);
        out.push_str(values.next().copied().unwrap_or_default());
        rest = rest.get(end..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn fill_replaces_segments_in_order() {
        assert_eq!(
            super::fill(super::REPORT_STREAM, &["sdr1", "0"]),
            "/v1/reports/sdr1/streams/0"
        );
        assert_eq!(super::fill(super::PROGRAMS, &[]), "/v1/programs");
    }
}
