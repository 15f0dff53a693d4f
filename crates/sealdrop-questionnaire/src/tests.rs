//! The example questionnaire and report in docs/examples/, and every
//! refusal.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::*;

const EXAMPLE: &[u8] = include_bytes!("../../../docs/examples/questionnaire.json");
const REPORT: &[u8] = include_bytes!("../../../docs/examples/report.json");

fn answers(v: Value) -> BTreeMap<String, Value> {
    serde_json::from_value(v).unwrap_or_default()
}

#[test]
fn the_example_parses_and_its_report_scores_as_computed_by_hand() {
    let q = Questionnaire::parse(EXAMPLE).unwrap_or_else(|p| panic!("{p:?}"));
    let a: BTreeMap<String, Value> = serde_json::from_slice(REPORT).unwrap_or_default();
    assert_eq!(q.check_answers(&a), vec![]);
    // greeted 1×2, greeting_quality (4−1)/4×1, area 0.5×1, right min(1, 0.5+0.5)×2;
    // helpfulness is n/a (left out); entrance_photo is not asked.
    // (2 + 0.75 + 0.5 + 2) / (2 + 1 + 1 + 2) = 87.5
    let score = q.score(&a).unwrap_or_default();
    assert!((score - 87.5).abs() < 1e-9, "{score}");
}

#[test]
fn show_if_hides_and_excludes_from_the_score() {
    let q = Questionnaire::parse(EXAMPLE).unwrap_or_else(|p| panic!("{p:?}"));
    let a = answers(
        json!({"greeted": false, "wait_minutes": 10, "area": "nowhere",
                           "visited_at": "2026-11-20T14:05", "entrance_photo": "door.jpg"}),
    );
    assert_eq!(q.check_answers(&a), vec![]);
    // greeted 0×2, area 0×1 → 0 of 3.
    assert_eq!(q.score(&a), Some(0.0));
    let asked_anyway = answers(json!({"greeted": false, "wait_minutes": 1, "area": "tills",
                                      "visited_at": "2026-11-20", "greeting_quality": 5}));
    let problems = q.check_answers(&asked_anyway);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].at, "greeting_quality");
}

#[test]
fn every_problem_in_the_answers_is_listed_at_once() {
    let q = Questionnaire::parse(EXAMPLE).unwrap_or_else(|p| panic!("{p:?}"));
    let a = answers(
        json!({"greeted": "yes", "wait_minutes": 500, "area": "roof",
                           "right": ["clean_floors", "teleporter"], "notes": 7,
                           "visited_at": "yesterday", "bogus": 1, "helpfulness": 6}),
    );
    let at: Vec<String> = q.check_answers(&a).into_iter().map(|p| p.at).collect();
    for id in [
        "bogus",
        "greeted",
        "wait_minutes",
        "area",
        "right",
        "helpfulness",
        "notes",
        "visited_at",
    ] {
        assert!(at.contains(&id.to_owned()), "{id} missing from {at:?}");
    }
    let na = answers(
        json!({"greeted": true, "wait_minutes": "n/a", "area": "tills", "visited_at": "2026-11-20"}),
    );
    assert_eq!(q.check_answers(&na)[0].at, "wait_minutes");
    let missing = q.check_answers(&answers(json!({})));
    let at: Vec<&str> = missing.iter().map(|p| p.at.as_str()).collect();
    assert_eq!(at, vec!["greeted", "wait_minutes", "area", "visited_at"]);
}

#[test]
fn every_problem_in_a_questionnaire_is_listed_at_once() {
    let bad = json!({
        "format": "something-else", "version": 0, "title": "x",
        "sections": [{"id": "s", "title": "S", "questions": [
            {"id": "a", "type": "text", "text": "A", "weight": 2},
            {"id": "a", "type": "single-choice", "text": "B", "options": [{"id": "o", "label": "O", "score": 2}]},
            {"id": "c", "type": "yes-no", "text": "", "show_if": {"question": "later", "equals": true}},
            {"id": "d", "type": "number", "text": "D", "min": 5, "max": 1},
            {"id": "later", "type": "yes-no", "text": "L"}
        ]}]
    });
    let problems = Questionnaire::parse(bad.to_string().as_bytes()).unwrap_err();
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    let expect = [
        "format",
        "version",
        "a: a text question cannot carry a weight",
        "a: a second question",
        "two options",
        "score is not between",
        "c: the question has no text",
        "not an earlier question",
        "min is above max",
    ];
    for e in expect {
        assert!(
            text.iter().any(|t| t.contains(e)),
            "{e:?} missing from {text:#?}"
        );
    }
    assert!(Questionnaire::parse(b"{\"format\": 1}").is_err());
    assert!(Questionnaire::parse(b"not json").is_err());
}
