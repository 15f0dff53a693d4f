//! `shopper new` without `--out`: the questionnaire as a form, one question
//! at a time, on the terminal (or any stdin). Each answer is checked as it
//! is given and the draft is saved, sealed, after every answer: an
//! interrupted form resumes where it stopped. `shopper submit` with no file
//! sends the finished draft.

use std::collections::BTreeMap;
use std::io::{BufRead as _, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use sealdrop_questionnaire::{Kind, NOT_APPLICABLE, Question, Questionnaire};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Ctx;
use super::draft::questionnaire;
use crate::home::{Home, Unlocked};

/// A report being written: answers so far (null: skipped), and the photo
/// files named by photo answers.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Draft {
    pub program: String,
    pub answers: BTreeMap<String, Value>,
    pub photos: BTreeMap<String, PathBuf>,
    pub complete: bool,
}

pub fn draft_path(home: &Home, program: &str) -> PathBuf {
    home.dir.join("drafts").join(format!("{program}.sealed"))
}

pub fn load(home: &Home, un: &Unlocked, program: &str) -> Result<Option<Draft>> {
    let path = draft_path(home, program);
    if !path.exists() {
        return Ok(None);
    }
    Home::read_sealed(&un.vault, &path, "draft").map(Some)
}

fn save(home: &Home, un: &Unlocked, draft: &Draft) -> Result<()> {
    let path = draft_path(home, &draft.program);
    if let Some(dir) = path.parent() {
        Home::private_dir(dir)?;
    }
    let bytes = zeroize::Zeroizing::new(serde_json::to_vec(draft)?);
    home.write_sealed(&un.vault, &path, "draft", &bytes)
}

fn hint(q: &Question) -> String {
    let mut h = match q.kind {
        Kind::YesNo => "y or n".to_owned(),
        Kind::SingleChoice => "the number of one choice".to_owned(),
        Kind::MultipleChoice => "the numbers of all that apply, like 1,3".to_owned(),
        Kind::Scale => "1 (worst) to 5 (best)".to_owned(),
        Kind::Number => match (q.min, q.max) {
            (Some(a), Some(b)) => format!("a number from {a} to {b}"),
            _ => "a number".to_owned(),
        },
        Kind::Text => "text".to_owned(),
        Kind::Datetime => "date and time, like 2026-11-23T14:05".to_owned(),
        Kind::Photo => "the photo's file path".to_owned(),
    };
    if q.allow_na {
        h.push_str("; n/a if it does not apply");
    }
    if !q.required {
        h.push_str("; Enter to skip");
    }
    h
}

/// The answer a line gives, or why it does not fit.
fn parse(q: &Question, line: &str) -> std::result::Result<Value, String> {
    let line = line.trim();
    if q.allow_na && line.eq_ignore_ascii_case(NOT_APPLICABLE) {
        return Ok(json!(NOT_APPLICABLE));
    }
    let choice = |s: &str| -> std::result::Result<Value, String> {
        let s = s.trim();
        s.parse::<usize>()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| q.options.get(i))
            .or_else(|| q.options.iter().find(|o| o.id == s))
            .map(|o| json!(o.id))
            .ok_or_else(|| format!("{s} is not one of the choices"))
    };
    match q.kind {
        Kind::YesNo => match line.to_ascii_lowercase().as_str() {
            "y" | "yes" => Ok(json!(true)),
            "n" | "no" => Ok(json!(false)),
            _ => Err("answer y or n".into()),
        },
        Kind::SingleChoice => choice(line),
        Kind::MultipleChoice => line
            .split(',')
            .map(choice)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map(Value::Array),
        Kind::Scale | Kind::Number => {
            let x: f64 = line.parse().map_err(|_| "answer a number".to_owned())?;
            Ok(if x.fract() == 0.0 && x.abs() < 1e15 {
                json!(x as i64)
            } else {
                json!(x)
            })
        }
        Kind::Text | Kind::Datetime => Ok(json!(line)),
        Kind::Photo => {
            let path = Path::new(line);
            if !path.is_file() {
                return Err(format!("there is no file at {line}"));
            }
            Ok(json!(
                path.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            ))
        }
    }
}

/// The questionnaire's own check of one answer, given the others.
fn check(
    q: &Questionnaire,
    answers: &BTreeMap<String, Value>,
    id: &str,
    v: &Value,
) -> Option<String> {
    let mut trial = answers.clone();
    trial.insert(id.to_owned(), v.clone());
    q.check_answers(&trial)
        .into_iter()
        .find(|p| p.at == id)
        .map(|p| p.message)
}

pub fn interactive(ctx: &Ctx, program: Option<&str>) -> Result<()> {
    let un = ctx.unlock()?;
    let (id, p) = un.state.program(program)?;
    let q = questionnaire(p)?;
    let mut draft = match load(&ctx.home, &un, &id)? {
        Some(d) if !d.complete => {
            println!(
                "Resuming your draft for \"{}\" ({} answer(s) so far).",
                p.name,
                d.answers.len()
            );
            d
        }
        _ => Draft {
            program: id.clone(),
            ..Draft::default()
        },
    };
    println!(
        "{} (version {}). Your answers are saved as you go; stop any time and run `shopper new` again to continue.",
        q.title, q.version
    );
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    for section in &q.sections {
        let mut titled = false;
        for question in &section.questions {
            if !q.shown(question, &draft.answers) {
                draft.answers.remove(&question.id);
                draft.photos.remove(&question.id);
                continue;
            }
            if draft.answers.contains_key(&question.id) {
                continue;
            }
            if !titled {
                println!("\n== {} ==", section.title);
                titled = true;
            }
            loop {
                println!(
                    "\n{}{}",
                    question.text,
                    if question.required { " (required)" } else { "" }
                );
                for (n, o) in question.options.iter().enumerate() {
                    println!("  {}. {}", n + 1, o.label);
                }
                print!("[{}] > ", hint(question));
                std::io::stdout().flush()?;
                let Some(line) = lines.next().transpose()? else {
                    save(&ctx.home, &un, &draft)?;
                    println!("\nSaved your draft; run `shopper new` again to continue.");
                    return Ok(());
                };
                if line.trim().is_empty() {
                    if question.required {
                        println!("This question needs an answer.");
                        continue;
                    }
                    draft.answers.insert(question.id.clone(), Value::Null);
                    break;
                }
                let answer = parse(question, &line).and_then(|v| {
                    match check(&q, &draft.answers, &question.id, &v) {
                        Some(why) => Err(why),
                        None => Ok(v),
                    }
                });
                match answer {
                    Ok(v) => {
                        if question.kind == Kind::Photo && v != json!(NOT_APPLICABLE) {
                            let path = std::fs::canonicalize(line.trim())
                                .with_context(|| format!("cannot find {}", line.trim()))?;
                            draft.photos.insert(question.id.clone(), path);
                        }
                        draft.answers.insert(question.id.clone(), v);
                        break;
                    }
                    Err(why) => println!("{why}; try again."),
                }
            }
            save(&ctx.home, &un, &draft)?;
        }
    }
    draft.complete = true;
    save(&ctx.home, &un, &draft)?;
    println!(
        "\nThe report is complete. Send it with `shopper submit` (add --program {id} if you are in several programs)."
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse;
    use sealdrop_questionnaire::Questionnaire;

    #[test]
    fn lines_become_answers_or_say_why_not() {
        let q = Questionnaire::parse(include_bytes!("../../../docs/examples/questionnaire.json"))
            .unwrap();
        let by_id = |id: &str| q.questions().find(|x| x.id == id).unwrap().clone();
        assert_eq!(parse(&by_id("greeted"), "Y"), Ok(serde_json::json!(true)));
        assert!(parse(&by_id("greeted"), "maybe").is_err());
        let area = by_id("area");
        assert_eq!(parse(&area, "1"), Ok(serde_json::json!(area.options[0].id)));
        assert!(parse(&area, "99").is_err());
        let right = by_id("right");
        assert_eq!(
            parse(&right, "1, 2"),
            Ok(serde_json::json!([
                right.options[0].id,
                right.options[1].id
            ]))
        );
        assert_eq!(
            parse(&by_id("wait_minutes"), "12"),
            Ok(serde_json::json!(12))
        );
        assert!(parse(&by_id("entrance_photo"), "/no/such/file.jpg").is_err());
    }
}
