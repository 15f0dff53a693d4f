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

pub fn enroll(ctx: &Ctx, server: &str, token: &str) -> Result<()> {
    let me = ctx.identity()?;
    let client = sealdrop_client::Client::new(server)?;
    let enrolled = client
        .enrol(token, &me)
        .with_context(|| format!("{server} refused the enrolment"))?;
    let mut state = ctx.home.state()?;
    state.server = Some(client.base_url().to_owned());
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
