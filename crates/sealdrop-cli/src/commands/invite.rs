//! `invite staff|shopper`.

use anyhow::{Context as _, Result, bail};
use sealdrop_proto::invite::{InviteBundle, ServerPins};
use serde_json::json;

use super::program::{confirmed_authority, parse_program};
use super::{Ctx, now};

pub fn staff(ctx: &Ctx) -> Result<()> {
    let (_, _, client) = ctx.connect()?;
    let issued = client.issue_staff_token().context("the server refused")?;
    ctx.out.show(
        || {
            format!(
                "One-time staff enrolment token (give it to that person only; it works once):\n{}",
                issued.token
            )
        },
        || json!({"token": issued.token}),
    );
    Ok(())
}

/// Parses `30m`, `12h`, `7d` into seconds.
pub fn parse_duration(text: &str) -> Result<u64> {
    let text = text.trim();
    // Split before the last character, wherever its bytes start: a unit
    // typed in another script must be an error, not a panic.
    let cut = text.char_indices().last().map_or(0, |(i, _)| i);
    let (number, unit) = text.split_at(cut);
    let n: u64 = number
        .parse()
        .with_context(|| format!("{text:?} is not a duration like 30m, 12h or 7d"))?;
    let seconds = match unit {
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => bail!("{text:?} is not a duration like 30m, 12h or 7d"),
    };
    if n == 0 || n > 365 * 86_400 / seconds {
        bail!("an invite is valid for a minute to a year");
    }
    Ok(n * seconds)
}

pub fn shopper(ctx: &Ctx, program: &str, expires: &str) -> Result<()> {
    let id = parse_program(program)?;
    let valid_for = parse_duration(expires)?;
    let (mut state, me, client) = ctx.connect()?;
    let current = confirmed_authority(&client, &mut state, &id)?
        .current_signed()
        .clone();
    ctx.home.save(&state)?;
    let info = client.server_info()?;
    let pins = ServerPins {
        server_url: client.base_url().to_owned(),
        tls_cert_sha256: state.tls_pin()?,
        log_key: info
            .log_key
            .0
            .as_slice()
            .try_into()
            .context("the server's log key is not 32 bytes")?,
        log_origin: info.log_origin,
    };
    let issued = now();
    let bundle = InviteBundle::create(
        &current,
        &me,
        &pins,
        issued,
        issued + valid_for,
        &mut rand_core::UnwrapErr(getrandom::SysRng),
    )
    .context("cannot sign the invite (are you a manager of this program?)")?;
    client
        .register_invite(&bundle.invite)
        .context("the server refused the invite")?;
    let text = bundle.to_text();
    ctx.out.show(
        || {
            format!(
                "Invite for program {id}, valid for {expires}. Send it to the shopper privately; it works once:\n{text}"
            )
        },
        || json!({"invite": text}),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30m").unwrap(), 1800);
        assert_eq!(parse_duration("12h").unwrap(), 43_200);
        assert_eq!(parse_duration("7d").unwrap(), 604_800);
        for bad in ["", "d", "7", "0d", "7w", "7д", "д", "400d", "-1d"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}
