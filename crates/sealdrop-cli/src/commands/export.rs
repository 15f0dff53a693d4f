//! `export`: the answers of every fetched report of a program as one table,
//! with each report's score from its questionnaire's weights. Computed on
//! this laptop: the server never sees answers.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;

use anyhow::{Context as _, Result, bail};
use sealdrop_questionnaire::Questionnaire;
use serde_json::{Value, json};

use super::Ctx;
use super::program::{confirmed_authority, parse_program};
use crate::cli::ExportFormat;

/// One CSV cell: formulas defused (a leading `= + - @`, tab or carriage
/// return gets an apostrophe, so a spreadsheet shows it as text), then
/// quoted per RFC 4180 when needed.
pub fn csv_cell(text: &str) -> String {
    let defused = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

fn answer_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(true) => "yes".into(),
        Value::Bool(false) => "no".into(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(answer_text).collect::<Vec<_>>().join("; "),
        other => other.to_string(),
    }
}

struct Row {
    report: String,
    received_at: Value,
    shopper: Value,
    score: Option<f64>,
    answers: BTreeMap<String, Value>,
}

pub fn export(
    ctx: &Ctx,
    program: &str,
    format: ExportFormat,
    from: Option<&Path>,
    out: Option<&Path>,
) -> Result<()> {
    let id = parse_program(program)?;
    let (mut state, _, client) = ctx.connect()?;
    let dir = from
        .map(Path::to_path_buf)
        .or_else(|| state.fetched_to.clone())
        .context(
            "no fetched reports yet: run `sealdrop fetch --out DIR` first, or give --from DIR",
        )?;
    // One verified chain for every questionnaire digest and for the
    // current version.
    let chain = confirmed_authority(&client, &mut state, &id)?;
    ctx.home.save(&state)?;
    let versions = chain.versions();
    let current = chain.current_signed();

    // Each questionnaire the reports name, checked against a digest a
    // verified descriptor signs.
    let mut questionnaires: BTreeMap<String, Questionnaire> = BTreeMap::new();
    let mut rows = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("sdr"))
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let folder = entry.path();
        let read = |name: &str| -> Result<Value> {
            let bytes = std::fs::read(folder.join(name))
                .with_context(|| format!("cannot read {}", folder.join(name).display()))?;
            Ok(serde_json::from_slice(&bytes)?)
        };
        let report = read("report.json")?;
        if report["program"] != id.to_string().as_str() {
            continue;
        }
        let verification = read("verification.json")?;
        let digest_hex = verification["questionnaire_digest"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if !questionnaires.contains_key(&digest_hex) {
            let signed = versions
                .iter()
                .find(|d| {
                    super::fetch::hex(&d.unverified_body().questionnaire_digest) == digest_hex
                })
                .with_context(|| {
                    format!(
                        "no descriptor of the program signs report {}'s questionnaire",
                        report["report"]
                    )
                })?;
            let digest = signed.unverified_body().questionnaire_digest;
            let bytes = client.questionnaire(&id, Some(&digest))?;
            if sealdrop_proto::hash::questionnaire_digest(&bytes) != digest {
                bail!("the server's questionnaire does not match the digest the descriptor signs");
            }
            let q = Questionnaire::parse(&bytes).map_err(|p| {
                anyhow::anyhow!("the signed questionnaire does not parse: {}", p[0])
            })?;
            questionnaires.insert(digest_hex.clone(), q);
        }
        let q = &questionnaires[&digest_hex];
        let answers: BTreeMap<String, Value> =
            serde_json::from_value(report["answers"].clone()).unwrap_or_default();
        rows.push(Row {
            report: report["report"].as_str().unwrap_or_default().to_owned(),
            received_at: verification["received_at"].clone(),
            shopper: verification["signer"].clone(),
            score: q.score(&answers),
            answers,
        });
    }

    // Columns: the current questionnaire's questions in order, then any
    // others that older versions asked.
    let current_digest = super::fetch::hex(&current.unverified_body().questionnaire_digest);
    let mut columns: Vec<String> = questionnaires
        .get(&current_digest)
        .map(|q| q.questions().map(|x| x.id.clone()).collect())
        .unwrap_or_default();
    for q in questionnaires.values() {
        for x in q.questions() {
            if !columns.contains(&x.id) {
                columns.push(x.id.clone());
            }
        }
    }

    let mut output = Vec::new();
    match format {
        ExportFormat::Json => {
            let list: Vec<Value> = rows
                .iter()
                .map(|r| {
                    json!({"report": r.report, "received_at": r.received_at, "shopper": r.shopper,
                               "score": r.score, "answers": r.answers})
                })
                .collect();
            output = serde_json::to_vec_pretty(&list)?;
            output.push(b'\n');
        }
        ExportFormat::Csv => {
            // A byte-order mark, so spreadsheets read the file as UTF-8.
            output.extend_from_slice("\u{feff}".as_bytes());
            let header: Vec<String> = ["report", "received_at", "shopper", "score"]
                .iter()
                .map(|s| (*s).to_owned())
                .chain(columns.iter().cloned())
                .map(|c| csv_cell(&c))
                .collect();
            output.extend_from_slice(header.join(",").as_bytes());
            output.extend_from_slice(b"\r\n");
            for r in &rows {
                let mut cells = vec![
                    csv_cell(&r.report),
                    csv_cell(&answer_text(&r.received_at)),
                    csv_cell(&answer_text(&r.shopper)),
                    r.score.map(|s| format!("{s:.1}")).unwrap_or_default(),
                ];
                cells.extend(
                    columns
                        .iter()
                        .map(|c| csv_cell(&answer_text(r.answers.get(c).unwrap_or(&Value::Null)))),
                );
                output.extend_from_slice(cells.join(",").as_bytes());
                output.extend_from_slice(b"\r\n");
            }
        }
    }
    match out {
        Some(path) => sealdrop_keystore::write_private(path, &output)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::stdout().write_all(&output)?,
    }
    if out.is_some() {
        eprintln!("Exported {} report(s).", rows.len());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::csv_cell;

    #[test]
    fn formulas_are_defused_and_cells_quoted() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("-2"), "'-2");
        assert_eq!(csv_cell("@cmd"), "'@cmd");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("line\nbreak"), "\"line\nbreak\"");
    }
}
