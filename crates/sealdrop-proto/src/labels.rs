//! Domain-separation labels: every signed, hashed or derived input begins with
//! exactly one of these.
//!
//! Each label is ASCII, names the protocol, its version and the purpose, and
//! ends with a NUL byte. Because no label contains NUL before its end, no
//! label is a prefix of another, so the bytes signed for one purpose can never
//! be read as the bytes of another purpose. `tests::labels_are_prefix_free`
//! checks it.

// Signatures (Ed25519 over label ‖ canonical encoding).
pub const SIG_AUTH_RESPONSE: &[u8] = b"sealdrop/v1/sig/auth-response\0";
pub const SIG_DESCRIPTOR: &[u8] = b"sealdrop/v1/sig/program-descriptor\0";
pub const SIG_INVITE: &[u8] = b"sealdrop/v1/sig/shopper-invite\0";
pub const SIG_ENROLMENT: &[u8] = b"sealdrop/v1/sig/enrolment\0";
pub const SIG_REPORT: &[u8] = b"sealdrop/v1/sig/report\0";
pub const SIG_GRANT: &[u8] = b"sealdrop/v1/sig/grant-record\0";
pub const SIG_DELETION: &[u8] = b"sealdrop/v1/sig/deletion-request\0";
pub const SIG_ACKNOWLEDGEMENT: &[u8] = b"sealdrop/v1/sig/acknowledgement\0";

// Hashes (SHA-256 over label ‖ input).
pub const HASH_PERSON_ID: &[u8] = b"sealdrop/v1/hash/person-id\0";
pub const HASH_ID_CHECKSUM: &[u8] = b"sealdrop/v1/hash/id-checksum\0";
pub const HASH_DESCRIPTOR: &[u8] = b"sealdrop/v1/hash/program-descriptor\0";
pub const HASH_INVITE: &[u8] = b"sealdrop/v1/hash/shopper-invite\0";
pub const HASH_INVITE_TOKEN: &[u8] = b"sealdrop/v1/hash/invite-token\0";
pub const HASH_HEADER: &[u8] = b"sealdrop/v1/hash/report-header\0";
pub const HASH_CORE: &[u8] = b"sealdrop/v1/hash/report-core\0";
pub const HASH_ENVELOPE: &[u8] = b"sealdrop/v1/hash/envelope\0";
pub const HASH_ENVELOPE_SET: &[u8] = b"sealdrop/v1/hash/envelope-set\0";
pub const HASH_CIPHERTEXT: &[u8] = b"sealdrop/v1/hash/stream-ciphertext\0";
pub const HASH_QUESTIONNAIRE: &[u8] = b"sealdrop/v1/hash/questionnaire\0";
pub const HASH_SEALED_REPORT: &[u8] = b"sealdrop/v1/hash/sealed-report\0";
pub const HASH_ENROLMENT_COMMITMENT: &[u8] = b"sealdrop/v1/hash/enrolment-commitment\0";

// What the log's leaves name signed messages by (SHA-256(label ‖ the
// whole signed encoding)).
pub const HASH_ENROLMENT_RECORD: &[u8] = b"sealdrop/v1/hash/enrolment-record\0";
pub const HASH_GRANT_RECORD: &[u8] = b"sealdrop/v1/hash/grant-record\0";
pub const HASH_DELETION_RECORD: &[u8] = b"sealdrop/v1/hash/deletion-record\0";

// The log's leaf data (hashed by RFC 9162 as SHA-256(0x00 ‖ label ‖ entry)).
pub const LOG_LEAF: &[u8] = b"sealdrop/v1/log/leaf\0";
// A program head's leaf in the heads tree (crate::log::heads).
pub const HEADS_LEAF: &[u8] = b"sealdrop/v1/log/program-head\0";

// Key derivation (HKDF-SHA256 info strings) and HPKE info.
pub const KDF_KEY_COMMITMENT: &[u8] = b"sealdrop/v1/kdf/key-commitment\0";
pub const KDF_STREAM_KEY: &[u8] = b"sealdrop/v1/kdf/stream-key\0";
pub const HPKE_ENVELOPE_INFO: &[u8] = b"sealdrop/v1/hpke/envelope\0";

/// Every label, for the prefix-freedom test and the spec's table.
pub const ALL: &[(&str, &[u8])] = &[
    ("SIG_AUTH_RESPONSE", SIG_AUTH_RESPONSE),
    ("SIG_DESCRIPTOR", SIG_DESCRIPTOR),
    ("SIG_INVITE", SIG_INVITE),
    ("SIG_ENROLMENT", SIG_ENROLMENT),
    ("SIG_REPORT", SIG_REPORT),
    ("SIG_GRANT", SIG_GRANT),
    ("SIG_DELETION", SIG_DELETION),
    ("SIG_ACKNOWLEDGEMENT", SIG_ACKNOWLEDGEMENT),
    ("HASH_PERSON_ID", HASH_PERSON_ID),
    ("HASH_ID_CHECKSUM", HASH_ID_CHECKSUM),
    ("HASH_DESCRIPTOR", HASH_DESCRIPTOR),
    ("HASH_INVITE", HASH_INVITE),
    ("HASH_INVITE_TOKEN", HASH_INVITE_TOKEN),
    ("HASH_HEADER", HASH_HEADER),
    ("HASH_CORE", HASH_CORE),
    ("HASH_ENVELOPE", HASH_ENVELOPE),
    ("HASH_ENVELOPE_SET", HASH_ENVELOPE_SET),
    ("HASH_CIPHERTEXT", HASH_CIPHERTEXT),
    ("HASH_QUESTIONNAIRE", HASH_QUESTIONNAIRE),
    ("HASH_SEALED_REPORT", HASH_SEALED_REPORT),
    ("HASH_ENROLMENT_COMMITMENT", HASH_ENROLMENT_COMMITMENT),
    ("HASH_ENROLMENT_RECORD", HASH_ENROLMENT_RECORD),
    ("HASH_GRANT_RECORD", HASH_GRANT_RECORD),
    ("HASH_DELETION_RECORD", HASH_DELETION_RECORD),
    ("LOG_LEAF", LOG_LEAF),
    ("HEADS_LEAF", HEADS_LEAF),
    ("KDF_KEY_COMMITMENT", KDF_KEY_COMMITMENT),
    ("KDF_STREAM_KEY", KDF_STREAM_KEY),
    ("HPKE_ENVELOPE_INFO", HPKE_ENVELOPE_INFO),
];

#[cfg(test)]
mod tests {
    use super::ALL;

    #[test]
    fn labels_are_prefix_free_and_nul_terminated() {
        for (name, label) in ALL {
            assert_eq!(label.last(), Some(&0u8), "{name} must end with NUL");
            assert_eq!(
                label.iter().filter(|b| **b == 0).count(),
                1,
                "{name} must contain exactly one NUL"
            );
            for (other, other_label) in ALL {
                if name != other {
                    assert!(
                        !other_label.starts_with(label),
                        "{name} is a prefix of {other}"
                    );
                }
            }
        }
    }
}
