//! Bearer tokens, enrolment tokens and challenges: random, shown once, and
//! stored only as labelled SHA-256 hashes (docs/SERVER.md, "Tokens").

use data_encoding::BASE64URL_NOPAD;
use rand_core::{Rng, UnwrapErr};
use sealdrop_proto::hash;
use zeroize::Zeroizing;

pub const SESSION_PREFIX: &str = "sds_";
pub const ENROLMENT_PREFIX: &str = "sde_";

const SESSION_LABEL: &[u8] = b"sealdrop/server/session-token\0";
const ENROLMENT_LABEL: &[u8] = b"sealdrop/server/enrolment-token\0";
const CHALLENGE_LABEL: &[u8] = b"sealdrop/server/challenge\0";

pub fn random32() -> Zeroizing<[u8; 32]> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    UnwrapErr(getrandom::SysRng).fill_bytes(bytes.as_mut());
    bytes
}

/// A new token with `prefix`, and the hash the server keeps.
fn new_token(prefix: &str, label: &[u8]) -> (Zeroizing<String>, [u8; 32]) {
    let bytes = random32();
    let hash = hash::labelled(label, &[bytes.as_ref()]);
    let text = Zeroizing::new(format!(
        "{prefix}{}",
        BASE64URL_NOPAD.encode(bytes.as_ref())
    ));
    (text, hash)
}

fn hash_token(text: &str, prefix: &str, label: &[u8]) -> Option<[u8; 32]> {
    let body = text.trim().strip_prefix(prefix)?;
    let bytes = Zeroizing::new(BASE64URL_NOPAD.decode(body.as_bytes()).ok()?);
    if bytes.len() != 32 {
        return None;
    }
    Some(hash::labelled(label, &[&bytes]))
}

pub fn new_session_token() -> (Zeroizing<String>, [u8; 32]) {
    new_token(SESSION_PREFIX, SESSION_LABEL)
}

pub fn session_hash(text: &str) -> Option<[u8; 32]> {
    hash_token(text, SESSION_PREFIX, SESSION_LABEL)
}

pub fn new_enrolment_token() -> (Zeroizing<String>, [u8; 32]) {
    new_token(ENROLMENT_PREFIX, ENROLMENT_LABEL)
}

pub fn enrolment_hash(text: &str) -> Option<[u8; 32]> {
    hash_token(text, ENROLMENT_PREFIX, ENROLMENT_LABEL)
}

pub fn challenge_hash(nonce: &[u8; 32]) -> [u8; 32] {
    hash::labelled(CHALLENGE_LABEL, &[nonce])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_hashes_to_what_was_stored_and_a_changed_one_does_not() {
        let (text, hash) = new_session_token();
        assert_eq!(session_hash(&text), Some(hash));
        let mut changed = text.to_string();
        let last = changed.pop();
        changed.push(if last == Some('A') { 'B' } else { 'A' });
        assert_ne!(session_hash(&changed), Some(hash));
        assert_eq!(
            enrolment_hash(&text),
            None,
            "a session token is not an enrolment token"
        );
    }
}
