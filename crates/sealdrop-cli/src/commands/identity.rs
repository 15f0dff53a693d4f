//! `keygen` and `enroll`.

use anyhow::{Context as _, Result};
use sealdrop_keystore::{KdfParams, Keystore};
use sealdrop_proto::SecretIdentity;
use serde_json::json;

use super::Ctx;

pub fn keygen(ctx: &Ctx, name: &str) -> Result<()> {
    if ctx.home.keystore().is_ok() {
        anyhow::bail!(
            "{} already holds a keystore; use another --home for another person",
            ctx.home.dir.display()
        );
    }
    let pass = crate::unlock::passphrase(ctx.passphrase_file.as_deref(), true)?;
    let me = SecretIdentity::generate(&mut rand_core::UnwrapErr(getrandom::SysRng));
    let keystore = Keystore::create(name, &me, &pass, KdfParams::DEFAULT)?;
    ctx.home.write_keystore(&keystore)?;
    let id = me.id();
    ctx.out.show(
        || {
            format!(
                "Created your keys in {}.\nID:          {id}\nFingerprint: {}\nRead the fingerprint aloud to whoever adds you to a program.",
                ctx.home.dir.display(),
                id.fingerprint()
            )
        },
        || json!({"id": id.to_string(), "fingerprint": id.fingerprint().to_string()}),
    );
    Ok(())
}

/// A certificate's SHA-256 as the operator reads it: 64 hex digits, with
/// or without the colons `openssl x509 -fingerprint -sha256` puts in.
fn parse_tls_pin(text: &str) -> Result<[u8; 32]> {
    let digits: String = text.chars().filter(|c| *c != ':').collect();
    data_encoding::HEXLOWER_PERMISSIVE
        .decode(digits.as_bytes())
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .with_context(|| format!("{text:?} is not a certificate's SHA-256: give its 64 hex digits"))
}

pub fn enroll(ctx: &Ctx, server: &str, token: &str, tls_pin: Option<&str>) -> Result<()> {
    let pin = tls_pin.map(parse_tls_pin).transpose()?;
    if pin.is_some() && !server.starts_with("https://") {
        anyhow::bail!("--tls-pin needs an https:// server URL");
    }
    let me = ctx.identity()?;
    let client = sealdrop_client::Client::connect(server, pin)?;
    let enrolled = client
        .enrol(token, &me)
        .with_context(|| format!("{server} refused the enrolment"))?;
    let mut state = ctx.home.state()?;
    state.server = Some(client.base_url().to_owned());
    state.tls_pin = pin.map(|p| sealdrop_api::B64(p.to_vec()));
    let info = client.server_info()?;
    state.log_key = Some(info.log_key);
    state.log_origin = Some(info.log_origin);
    state.role = Some(enrolled.role);
    state.organisation = Some(enrolled.organisation.clone());
    ctx.home.save(&state)?;
    let id = me.id();
    ctx.out.show(
        || {
            format!(
                "Enrolled at {server} as {} of {:?}.\nID:          {id}\nFingerprint: {}",
                enrolled.role,
                enrolled.organisation,
                id.fingerprint()
            )
        },
        || {
            json!({"id": id.to_string(), "fingerprint": id.fingerprint().to_string(),
                   "role": enrolled.role, "organisation": enrolled.organisation})
        },
    );
    Ok(())
}
