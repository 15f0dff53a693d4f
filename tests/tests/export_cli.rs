//! `sealdrop export`: scores from the questionnaire's weights (with "not
//! applicable" and show-if) match the hand computation in
//! docs/QUESTIONNAIRE.md, and a formula in a CSV cell comes out defused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;

#[test]
fn export_scores_and_defuses_formulas() {
    let server = Server::start();
    let ada = Staff::new("ada");
    ada.json(&["keygen", "--name", "Ada"]);
    ada.json(&[
        "enroll",
        "--server",
        &server.url,
        "--token",
        &server.first_token,
    ]);

    // A questionnaire with a problem is refused, listing it.
    let broken = ada.home.path().join("broken.json");
    std::fs::write(
        &broken,
        br#"{"format":"sealdrop-questionnaire","version":1,"title":"t","sections":[]}"#,
    )
    .unwrap();
    let err = ada.fails(&[
        "program",
        "create",
        "X",
        "--questionnaire",
        broken.to_str().unwrap(),
    ]);
    assert!(err.contains("at least one section"), "{err}");

    let q = example_questionnaire(ada.home.path(), 1);
    let program = ada.json(&[
        "program",
        "create",
        "Visits",
        "--questionnaire",
        q.to_str().unwrap(),
    ])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (shopper, key) = new_shopper(&server, &ada, &program);
    // The shopper's CLI will fetch the questionnaire and check its digest.
    let fetched_q = shopper
        .questionnaire(&program.parse().unwrap(), None)
        .unwrap();
    assert_eq!(fetched_q, std::fs::read(&q).unwrap());

    // The example report (87.5), and one where the greeting was missed:
    // greeting_quality is not asked, helpfulness is n/a; greeted 0×2,
    // area tills 1×1, right all three (clamped to 1)×2: (0+1+2)/(2+1+2) = 60.
    let first = submit(&shopper, &key, &program, &example_report(), &[]);
    let second_answers = br#"{"greeted": false, "wait_minutes": 12, "entrance_photo": "door.jpg",
        "area": "tills", "right": ["clean_floors", "stocked_shelves", "working_lights"],
        "helpfulness": "n/a", "visited_at": "2026-11-21"}"#;
    let second = submit(
        &shopper,
        &key,
        &program,
        second_answers,
        &[("door.jpg", b"JPEG")],
    );

    // The same, but also answering greeting_quality, which show-if hides
    // when greeted is false: it must not count (it would give 66.7).
    let third_answers = br#"{"greeted": false, "greeting_quality": 5, "wait_minutes": 12,
        "entrance_photo": "door.jpg", "area": "tills",
        "right": ["clean_floors", "stocked_shelves", "working_lights"],
        "helpfulness": "n/a", "visited_at": "2026-11-21"}"#;
    let third = submit(
        &shopper,
        &key,
        &program,
        third_answers,
        &[("door.jpg", b"JPEG")],
    );

    let out = ada.home.path().join("findings");
    ada.json(&["fetch", "--out", out.to_str().unwrap()]);
    let rows = ada.json(&["export", "--program", &program, "--format", "json"]);
    let score = |id: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["report"] == id)
            .unwrap()["score"]
            .as_f64()
            .unwrap()
    };
    assert!((score(&first) - 87.5).abs() < 1e-9);
    assert!((score(&second) - 60.0).abs() < 1e-9);
    assert!(
        (score(&third) - 60.0).abs() < 1e-9,
        "a hidden answer was scored"
    );

    let csv_path = ada.home.path().join("findings.csv");
    let o = ada.run(&[
        "export",
        "--program",
        &program,
        "--format",
        "csv",
        "--out",
        csv_path.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = std::fs::read(&csv_path).unwrap();
    assert!(csv.starts_with("\u{feff}".as_bytes()), "a byte-order mark");
    let text = String::from_utf8(csv).unwrap();
    assert!(text.contains("87.5") && text.contains("60.0"));
    assert!(
        text.contains("\"'=HYPERLINK(\"\"http://example.com\"\",\"\"click\"\") Friendly"),
        "{text}"
    );
    assert!(
        !text
            .lines()
            .any(|l| l.split(',').any(|c| c.starts_with('=')))
    );
}
