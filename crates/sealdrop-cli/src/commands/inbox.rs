//! `inbox`.

use anyhow::{Context as _, Result, bail};
use serde_json::json;

use super::Ctx;
use super::program::parse_program;

/// Parses `YYYY-MM-DD` (midnight UTC) or Unix seconds.
pub fn parse_date(text: &str) -> Result<u64> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(seconds);
    }
    let parts: Vec<&str> = text.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        bail!("{text:?} is not a date like 2026-11-23");
    };
    let (y, m, d): (i64, i64, i64) = (
        y.parse().context("the year is not a number")?,
        m.parse().context("the month is not a number")?,
        d.parse().context("the day is not a number")?,
    );
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        bail!("{text:?} is not a date like 2026-11-23");
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok(u64::try_from(days * 86_400)?)
}

pub fn inbox(ctx: &Ctx, program: Option<&str>, since: Option<&str>) -> Result<()> {
    let program = program.map(parse_program).transpose()?;
    let since = since.map(parse_date).transpose()?;
    let (_, _, client) = ctx.connect()?;
    let entries = client.inbox(program.as_ref(), since)?;
    ctx.out.show(
        || {
            if entries.is_empty() {
                return "No reports for you.".into();
            }
            entries
                .iter()
                .map(|e| {
                    format!(
                        "{}  {}  shopper {}  received {}  {} bytes  {}",
                        e.report,
                        e.program,
                        e.shopper,
                        e.received_at,
                        e.size,
                        if e.fetched { "fetched" } else { "new" }
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        },
        || json!(entries),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_date;

    #[test]
    fn dates() {
        assert_eq!(parse_date("1970-01-01").unwrap(), 0);
        assert_eq!(parse_date("2026-11-23").unwrap(), 1_795_392_000);
        assert_eq!(parse_date("2000-03-01").unwrap(), 951_868_800);
        assert_eq!(parse_date("12345").unwrap(), 12345);
        assert!(parse_date("2026-13-01").is_err());
        assert!(parse_date("yesterday").is_err());
    }
}
