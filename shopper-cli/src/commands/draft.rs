//! `new --out FILE`: a report to fill in, in any editor.
//!
//! The file holds the program, every question for reference (type, text,
//! choices, when it is asked) and an `answers` object with each question's
//! ID set to null. `shopper submit` reads `answers` and ignores the rest.

use std::path::Path;

use anyhow::{Context as _, Result, bail};
use sealdrop_questionnaire::Questionnaire;
use serde_json::{Map, Value, json};

use super::Ctx;
use crate::home::Program;

pub fn questionnaire(program: &Program) -> Result<Questionnaire> {
    let text = program.questionnaire.as_deref().context(
        "this program's questionnaire is not in your home yet; run `shopper sync` online",
    )?;
    Questionnaire::parse(text.as_bytes()).map_err(|problems| {
        anyhow::anyhow!(
            "the program's questionnaire does not parse: {}",
            problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        )
    })
}

pub fn new(ctx: &Ctx, program: Option<&str>, out: &Path) -> Result<()> {
    if out.exists() {
        bail!("{} exists already; choose another file name", out.display());
    }
    let un = ctx.unlock()?;
    let (id, p) = un.state.program(program)?;
    let q = questionnaire(p)?;
    let mut answers = Map::new();
    let mut reference = Vec::new();
    for section in &q.sections {
        for question in &section.questions {
            answers.insert(question.id.clone(), Value::Null);
            let mut help = json!({
                "id": question.id, "section": section.title, "type": question.kind,
                "question": question.text, "required": question.required,
            });
            if question.allow_na {
                help["not_applicable"] = json!("answer \"n/a\" if it does not apply");
            }
            if !question.options.is_empty() {
                help["choices"] = json!(
                    question
                        .options
                        .iter()
                        .map(|c| json!({"id": c.id, "label": c.label}))
                        .collect::<Vec<_>>()
                );
            }
            if let Some(s) = &question.show_if {
                help["asked_only_if"] = json!({"question": s.question, "equals": s.equals});
            }
            reference.push(help);
        }
    }
    let file = json!({
        "program": id,
        "questionnaire": q.title,
        "questionnaire_version": q.version,
        "how_to": "Replace each null in \"answers\" with your answer (leave questions that were not asked as null). Photos: the file name you attach with --attach.",
        "answers": answers,
        "questions": reference,
    });
    let text = serde_json::to_vec_pretty(&file)?;
    sealdrop_keystore::write_private(out, &text)
        .with_context(|| format!("cannot write {}", out.display()))?;
    ctx.show(
        || {
            format!(
                "Wrote {}: fill in the answers, then `shopper submit {}`.",
                out.display(),
                out.display()
            )
        },
        || json!({"file": out.display().to_string(), "program": id}),
    );
    Ok(())
}
