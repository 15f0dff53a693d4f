//! Questionnaires (`docs/QUESTIONNAIRE.md`): the JSON format managers
//! write, checked with every problem listed at once; answers checked against
//! it; show-if logic; and the score from the weights. Pure: no I/O. The
//! server never sees answers: scoring happens on the reviewer's laptop, and
//! the shopper CLI checks answers before sealing.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const FORMAT: &str = "sealdrop-questionnaire";
/// What an answer of "not applicable" is, where a question allows it.
pub const NOT_APPLICABLE: &str = "n/a";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Questionnaire {
    pub format: String,
    /// The questionnaire's own version; a program's descriptor signs it.
    pub version: u32,
    pub title: String,
    pub sections: Vec<Section>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    pub id: String,
    pub title: String,
    pub questions: Vec<Question>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    YesNo,
    SingleChoice,
    MultipleChoice,
    Scale,
    Number,
    Text,
    Datetime,
    Photo,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: Kind,
    pub text: String,
    #[serde(default)]
    pub required: bool,
    /// "Not applicable" is a valid answer, left out of the score.
    #[serde(default)]
    pub allow_na: bool,
    /// Weight in the report's score; only yes/no, choices and scales score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    /// Choices, for single- and multiple-choice questions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<Choice>,
    /// Bounds, for numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// For free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<usize>,
    /// Asked only when an earlier question has this answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_if: Option<ShowIf>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    pub id: String,
    pub label: String,
    /// The choice's score, 0 to 1 (default 0).
    #[serde(default)]
    pub score: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShowIf {
    pub question: String,
    /// Shown when that question's answer equals this (for multiple choice:
    /// includes this option).
    pub equals: Value,
}

/// One problem, naming where it is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub at: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

fn problem(at: &str, message: impl Into<String>) -> Problem {
    Problem {
        at: at.to_owned(),
        message: message.into(),
    }
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Self::YesNo => "yes-no",
            Self::SingleChoice => "single-choice",
            Self::MultipleChoice => "multiple-choice",
            Self::Scale => "scale",
            Self::Number => "number",
            Self::Text => "text",
            Self::Datetime => "datetime",
            Self::Photo => "photo",
        }
    }

    fn scores(self) -> bool {
        matches!(
            self,
            Self::YesNo | Self::SingleChoice | Self::MultipleChoice | Self::Scale
        )
    }
}

impl Questionnaire {
    /// Parses and checks a questionnaire; every problem is listed.
    pub fn parse(bytes: &[u8]) -> Result<Self, Vec<Problem>> {
        let q: Self = serde_json::from_slice(bytes)
            .map_err(|e| vec![problem("questionnaire", format!("not valid: {e}"))])?;
        let problems = q.problems();
        if problems.is_empty() {
            Ok(q)
        } else {
            Err(problems)
        }
    }

    pub fn questions(&self) -> impl Iterator<Item = &Question> {
        self.sections.iter().flat_map(|s| s.questions.iter())
    }

    fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        if self.format != FORMAT {
            out.push(problem("format", format!("must be {FORMAT:?}")));
        }
        if self.version == 0 {
            out.push(problem("version", "versions start at 1"));
        }
        if self.sections.is_empty() {
            out.push(problem(
                "sections",
                "a questionnaire has at least one section",
            ));
        }
        let mut seen: BTreeMap<&str, &Question> = BTreeMap::new();
        let mut sections = BTreeSet::new();
        for s in &self.sections {
            if !sections.insert(s.id.as_str()) {
                out.push(problem(&s.id, "a second section has this ID"));
            }
            for q in &s.questions {
                let at = q.id.as_str();
                if q.id.is_empty() || q.id.contains(char::is_whitespace) {
                    out.push(problem(at, "a question ID is one word"));
                }
                if seen.contains_key(at) {
                    out.push(problem(at, "a second question has this ID"));
                }
                if q.text.trim().is_empty() {
                    out.push(problem(at, "the question has no text"));
                }
                match q.weight {
                    Some(w) if !q.kind.scores() => {
                        out.push(problem(
                            at,
                            format!("a {} question cannot carry a weight ({w})", q.kind.name()),
                        ));
                    }
                    Some(w) if !(w.is_finite() && w > 0.0) => {
                        out.push(problem(at, "a weight is a positive number"));
                    }
                    _ => {}
                }
                let choice = matches!(q.kind, Kind::SingleChoice | Kind::MultipleChoice);
                if choice && q.options.len() < 2 {
                    out.push(problem(at, "a choice question needs at least two options"));
                }
                if !choice && !q.options.is_empty() {
                    out.push(problem(at, "only choice questions have options"));
                }
                let mut ids = BTreeSet::new();
                for o in &q.options {
                    if !ids.insert(o.id.as_str()) {
                        out.push(problem(at, format!("option {:?} appears twice", o.id)));
                    }
                    if !(0.0..=1.0).contains(&o.score) {
                        out.push(problem(
                            at,
                            format!("option {:?}'s score is not between 0 and 1", o.id),
                        ));
                    }
                }
                if q.min.zip(q.max).is_some_and(|(min, max)| min > max) {
                    out.push(problem(at, "min is above max"));
                }
                if let Some(cond) = &q.show_if {
                    match seen.get(cond.question.as_str()) {
                        None => out.push(problem(
                            at,
                            format!(
                                "show_if names {:?}, which is not an earlier question",
                                cond.question
                            ),
                        )),
                        Some(earlier) => {
                            if let Err(why) = check_value(earlier, &cond.equals) {
                                out.push(problem(
                                    at,
                                    format!("show_if's value does not fit {:?}: {why}", earlier.id),
                                ));
                            }
                        }
                    }
                }
                seen.insert(at, q);
            }
        }
        out
    }

    /// Whether `q` is asked, given the answers so far.
    pub fn shown(&self, q: &Question, answers: &BTreeMap<String, Value>) -> bool {
        let Some(cond) = &q.show_if else {
            return true;
        };
        let Some(earlier) = self.questions().find(|e| e.id == cond.question) else {
            return false;
        };
        if !self.shown(earlier, answers) {
            return false;
        }
        match answers.get(&cond.question) {
            Some(Value::Array(items)) => items.contains(&cond.equals),
            Some(v) => *v == cond.equals,
            None => false,
        }
    }

    /// Checks answers: every problem listed, each naming its question.
    pub fn check_answers(&self, answers: &BTreeMap<String, Value>) -> Vec<Problem> {
        let mut out = Vec::new();
        let known: BTreeSet<&str> = self.questions().map(|q| q.id.as_str()).collect();
        for id in answers.keys() {
            if !known.contains(id.as_str()) {
                out.push(problem(id, "no such question in this questionnaire"));
            }
        }
        for q in self.questions() {
            let shown = self.shown(q, answers);
            match answers.get(&q.id) {
                None | Some(Value::Null) => {
                    if shown && q.required {
                        out.push(problem(&q.id, format!("required: {}", q.text)));
                    }
                }
                Some(v) if !shown => {
                    let _ = v;
                    out.push(problem(
                        &q.id,
                        "answered, but not asked given the earlier answers",
                    ));
                }
                Some(Value::String(s)) if s == NOT_APPLICABLE => {
                    if !q.allow_na {
                        out.push(problem(&q.id, "\"not applicable\" is not allowed here"));
                    }
                }
                Some(v) => {
                    if let Err(why) = check_value(q, v) {
                        out.push(problem(&q.id, why));
                    }
                }
            }
        }
        out
    }

    /// The report's score from 0 to 100, from the weights of the questions
    /// asked and answered; `None` when no weighted question was. Answers
    /// "not applicable", unasked and unanswered questions are left out.
    pub fn score(&self, answers: &BTreeMap<String, Value>) -> Option<f64> {
        let (mut got, mut possible) = (0.0, 0.0);
        for q in self.questions() {
            let Some(weight) = q.weight else { continue };
            if !self.shown(q, answers) {
                continue;
            }
            let Some(s) = answers.get(&q.id).and_then(|v| question_score(q, v)) else {
                continue;
            };
            got += weight * s;
            possible += weight;
        }
        (possible > 0.0).then(|| 100.0 * got / possible)
    }
}

/// 0 to 1 for a scored answer; `None` for N/A or an unscored answer.
fn question_score(q: &Question, v: &Value) -> Option<f64> {
    let option_score = |id: &Value| {
        q.options
            .iter()
            .find(|o| id.as_str() == Some(o.id.as_str()))
            .map(|o| o.score)
    };
    match (q.kind, v) {
        (Kind::YesNo, Value::Bool(b)) => Some(if *b { 1.0 } else { 0.0 }),
        (Kind::Scale, Value::Number(n)) => n.as_f64().map(|x| (x - 1.0) / 4.0),
        (Kind::SingleChoice, id @ Value::String(_)) => option_score(id),
        (Kind::MultipleChoice, Value::Array(ids)) => {
            Some(ids.iter().filter_map(option_score).sum::<f64>().min(1.0))
        }
        _ => None,
    }
}

/// Checks one answer's shape against its question.
fn check_value(q: &Question, v: &Value) -> Result<(), String> {
    let is_option = |x: &Value| {
        x.as_str()
            .is_some_and(|s| q.options.iter().any(|o| o.id == s))
    };
    match (q.kind, v) {
        (Kind::YesNo, Value::Bool(_)) => Ok(()),
        (Kind::YesNo, _) => Err("answer true or false".into()),
        (Kind::Scale, Value::Number(n)) if n.as_u64().is_some_and(|x| (1..=5).contains(&x)) => {
            Ok(())
        }
        (Kind::Scale, _) => Err("answer a whole number from 1 to 5".into()),
        (Kind::SingleChoice, x) if is_option(x) => Ok(()),
        (Kind::SingleChoice, _) => Err(format!(
            "answer one of: {}",
            q.options
                .iter()
                .map(|o| o.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
        (Kind::MultipleChoice, Value::Array(items)) if items.iter().all(is_option) => Ok(()),
        (Kind::MultipleChoice, Value::String(_)) if is_option(v) => Ok(()),
        (Kind::MultipleChoice, _) => Err("answer a list of the options".into()),
        (Kind::Number, Value::Number(n)) => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            if q.min.is_some_and(|m| x < m) || q.max.is_some_and(|m| x > m) {
                Err(format!(
                    "answer a number from {} to {}",
                    q.min.unwrap_or(f64::MIN),
                    q.max.unwrap_or(f64::MAX)
                ))
            } else {
                Ok(())
            }
        }
        (Kind::Number, _) => Err("answer a number".into()),
        (Kind::Text, Value::String(s)) if q.max_length.is_none_or(|m| s.chars().count() <= m) => {
            Ok(())
        }
        (Kind::Text, _) => Err(format!(
            "answer text of at most {} characters",
            q.max_length.unwrap_or(usize::MAX)
        )),
        (Kind::Datetime, Value::String(s)) if looks_like_datetime(s) => Ok(()),
        (Kind::Datetime, _) => Err("answer a date and time like 2026-11-23T14:05".into()),
        (Kind::Photo, Value::String(s)) if !s.is_empty() => Ok(()),
        (Kind::Photo, _) => Err("answer the attached photo's file name".into()),
    }
}

fn looks_like_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 10
        && b.iter().take(10).enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}

#[cfg(test)]
mod tests;
