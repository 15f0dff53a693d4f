//! Every caller against every endpoint, asserting the exact set allowed.
//! "Denied" is 401, 403 or 404 (a resource the caller may not see is not
//! found); anything else means the request got past authorisation. Bodies
//! are `{}` on purpose: authorised callers then get `400 malformed`, which
//! also proves that authorisation runs before the body is read.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;

use common::*;
use sealdrop_client::Client;

const SIGNED_IN: [&str; 5] = ["manager", "staff", "auditor", "shopper", "other-org"];

const CALLERS: [&str; 8] = [
    "none",
    "manager",
    "staff",
    "auditor",
    "shopper",
    "other-org",
    "disabled",
    "expired",
];

fn allowed(status: u16) -> bool {
    !matches!(status, 401 | 403 | 404)
}

#[test]
fn every_role_against_every_endpoint() {
    let d = Deployment::new();
    let sealed = seal(&d.shopper.key, &d.v2, b"{}", &[]);
    d.shopper
        .client
        .submit(&sealed.report, &sealed.stream_refs())
        .unwrap();

    // A second shopper, for the revocation endpoint.
    let spare = invite_shopper(&d.server, &d.manager, &d.v2);

    // An upload in progress, for the upload endpoints.
    let pending = seal(&d.shopper.key, &d.v2, b"{}", &[]);
    d.shopper.client.begin_upload(&pending.report).unwrap();
    let u = pending.report.report_id().to_string();

    let other = enrol(
        &d.server,
        &d.server.operator_token("manager", Some("other-co")),
    );
    let staff_token = d.manager.client.issue_staff_token().unwrap().token;
    let disabled = enrol(&d.server, &staff_token);
    let out = d
        .server
        .operator(&["user", "disable", &disabled.key.id().to_string()]);
    assert!(out.status.success());

    // An expired token, from a server whose sessions last one second.
    let dir = tempfile::tempdir().unwrap();
    let short = TestServer::start_on(&dir.path().join("d"), &["--session-ttl", "1"]);
    let expired = enrol(&short, short.first_token.as_deref().unwrap());
    std::thread::sleep(std::time::Duration::from_millis(2100));

    let p = d.program.to_string();
    let r = sealed.report.report_id().to_string();
    let note = d.shopper.client.log_checkpoint().unwrap();
    let log_size: u64 = String::from_utf8(note)
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let endpoints: Vec<(&str, String, Option<&str>, &[&str])> = vec![
        ("GET", "/healthz".into(), None, &CALLERS),
        ("GET", "/metrics".into(), None, &CALLERS),
        ("GET", "/openapi.json".into(), None, &CALLERS),
        ("GET", "/v1/server".into(), None, &CALLERS),
        ("POST", "/v1/auth/challenge".into(), None, &CALLERS),
        ("POST", "/v1/auth/session".into(), Some("{}"), &CALLERS),
        ("POST", "/v1/enrol".into(), Some("{}"), &CALLERS),
        ("POST", "/v1/enrol/commit".into(), Some("{}"), &CALLERS),
        ("POST", "/v1/enrol/shopper".into(), Some("{}"), &CALLERS),
        (
            "GET",
            "/v1/me".into(),
            None,
            &["manager", "staff", "auditor", "shopper", "other-org"],
        ),
        (
            "POST",
            "/v1/invites/staff".into(),
            None,
            &["manager", "other-org"],
        ),
        (
            "POST",
            "/v1/invites/shopper".into(),
            Some("{}"),
            &["manager", "other-org"],
        ),
        (
            "POST",
            "/v1/programs".into(),
            Some("{}"),
            &["manager", "other-org"],
        ),
        (
            "GET",
            "/v1/programs".into(),
            None,
            &["manager", "staff", "auditor", "shopper", "other-org"],
        ),
        (
            "GET",
            format!("/v1/programs/{p}/descriptor"),
            None,
            &["manager", "staff", "auditor", "shopper"],
        ),
        (
            "PUT",
            format!("/v1/programs/{p}/descriptor"),
            Some("{}"),
            &["manager"],
        ),
        (
            "GET",
            format!("/v1/programs/{p}/descriptors"),
            None,
            &["manager", "staff", "auditor", "shopper"],
        ),
        (
            "GET",
            format!("/v1/programs/{p}/head?size={log_size}"),
            None,
            &["manager", "staff", "auditor", "shopper"],
        ),
        (
            "GET",
            format!("/v1/programs/{p}/current?after=1&kept={log_size}"),
            None,
            &["manager", "staff", "auditor", "shopper"],
        ),
        (
            "POST",
            format!("/v1/programs/{p}/grants"),
            Some("{}"),
            &["manager"],
        ),
        (
            "PUT",
            format!("/v1/programs/{p}/questionnaire"),
            Some("{}"),
            &["manager"],
        ),
        (
            "GET",
            format!("/v1/programs/{p}/questionnaire"),
            None,
            &["manager", "staff", "auditor", "shopper"],
        ),
        (
            "GET",
            format!("/v1/programs/{p}/shoppers"),
            None,
            &["manager", "auditor"],
        ),
        (
            "POST",
            format!("/v1/programs/{p}/shoppers/{}/revocation", spare.key.id()),
            None,
            &["manager"],
        ),
        ("POST", "/v1/reports".into(), None, &["shopper"]),
        (
            "GET",
            "/v1/reports".into(),
            None,
            &["manager", "staff", "other-org"],
        ),
        (
            "GET",
            format!("/v1/reports/{r}"),
            None,
            &["manager", "staff"],
        ),
        (
            "GET",
            format!("/v1/reports/{r}/streams/0"),
            None,
            &["manager", "staff", "auditor"],
        ),
        (
            "POST",
            format!("/v1/reports/{r}/deletion"),
            Some("{}"),
            &["shopper"],
        ),
        ("POST", "/v1/uploads".into(), None, &["shopper"]),
        ("GET", format!("/v1/uploads/{u}"), None, &["shopper"]),
        (
            "PUT",
            format!("/v1/uploads/{u}/streams/0?offset=0"),
            None,
            &["shopper"],
        ),
        (
            "POST",
            format!("/v1/uploads/{u}/finish"),
            None,
            &["shopper"],
        ),
        (
            "GET",
            format!("/v1/people/{}", d.shopper.key.id()),
            None,
            &["manager", "staff", "auditor"],
        ),
        ("GET", "/v1/audit/reports".into(), None, &["auditor"]),
        ("GET", "/v1/audit/enrolments".into(), None, &["auditor"]),
        ("GET", "/v1/audit/grants".into(), None, &["auditor"]),
        ("GET", "/v1/audit/releases".into(), None, &["auditor"]),
        ("GET", "/v1/audit/bulk".into(), None, &["auditor"]),
        // Checkpoints and proofs for anyone signed in, of any organisation
        // (one log per server); leaves for auditors.
        ("GET", "/v1/log/checkpoint".into(), None, &SIGNED_IN),
        (
            "GET",
            "/v1/log/inclusion?index=0&size=1".into(),
            None,
            &SIGNED_IN,
        ),
        (
            "GET",
            "/v1/log/consistency?from=1&to=2".into(),
            None,
            &SIGNED_IN,
        ),
        (
            "GET",
            "/v1/log/leaves?start=0&end=2".into(),
            None,
            &["auditor"],
        ),
        // The handover is for anyone signed in too, but a server never
        // restored has none: 404 for them, 401 for the rest.
        // `log_handover.rs` checks who may read a served one.
        ("GET", "/v1/log/handover".into(), None, &[]),
        (
            "GET",
            "/v1/log/handover/consistency?hop=1&from=0&to=1".into(),
            None,
            &[],
        ),
        // Only auditors cosign (a body that is no note is then refused
        // as invalid, not as forbidden); the cosigned checkpoints are for
        // anyone signed in (an empty list here).
        (
            "POST",
            "/v1/log/cosignatures".into(),
            Some("{\"note\": \"x\"}"),
            &["auditor"],
        ),
        (
            "GET",
            "/v1/log/checkpoint/cosigned".into(),
            None,
            &SIGNED_IN,
        ),
    ];

    // Every served route is in the table (the OpenAPI document lists them).
    let (_, doc) = d.manager.client.raw("GET", "/openapi.json", None).unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&doc).unwrap();
    let documented: BTreeSet<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| format!("{} {path}", m.to_uppercase()))
        })
        .collect();
    assert_eq!(documented.len(), endpoints.len(), "{documented:?}");

    let anonymous = d.server.client();
    let mut expired_client = Client::new(&d.server.url).unwrap();
    expired_client.set_token(expired.client.token().map(str::to_owned));
    let clients: Vec<(&str, &Client)> = vec![
        ("none", &anonymous),
        ("manager", &d.manager.client),
        ("staff", &d.staff.client),
        ("auditor", &d.auditor.client),
        ("shopper", &d.shopper.client),
        ("other-org", &other.client),
        ("disabled", &disabled.client),
        ("expired", &expired_client),
    ];
    // The expired token really is expired on its own server.
    let (status, _) = expired.client.raw("GET", "/v1/me", None).unwrap();
    assert_eq!(status, 401);

    let mut failures = Vec::new();
    for (method, path, body, expected) in &endpoints {
        let expected: BTreeSet<&str> = expected.iter().copied().collect();
        let mut got = BTreeSet::new();
        for (name, client) in &clients {
            let (status, bytes) = client.raw(method, path, *body).unwrap();
            if status >= 400 {
                let e: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                    panic!("{method} {path} as {name}: {status} without a JSON error")
                });
                assert!(e["error"].is_string() && e["message"].is_string());
            }
            if allowed(status) {
                got.insert(*name);
            }
        }
        if got != expected {
            failures.push(format!(
                "{method} {path}: allowed {got:?}, expected {expected:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // Organisations are isolated: the other company sees none of ours.
    let theirs = other.client.programs().unwrap();
    assert!(theirs.iter().all(|x| x.program != p));
}
