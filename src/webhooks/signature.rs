//! The `Ledgerflow-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256>` of
//! `"<t>.<body>"`, keyed with the webhook's secret as given out (the whole `whsec_…` text,
//! as bytes). The time is signed with the body so that a receiver that rejects old `t` also
//! rejects a replayed request; it is the time of the attempt, so a repeat carries a new one
//! and the same body.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// What a secret starts with, so that one found in a log or a repository is recognised.
pub const SECRET_PREFIX: &str = "whsec_";

/// A new secret: 32 bytes from the OS's generator, in hex, after [`SECRET_PREFIX`].
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("{SECRET_PREFIX}{}", crate::hex::encode(&bytes))
}

/// The hex HMAC-SHA256 of `"<t>.<body>"` under `secret`.
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length: this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of every length"));
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    crate::hex::encode(&mac.finalize().into_bytes())
}

/// The header's value for `body` sent at `t` (unix seconds).
pub fn header(secret: &str, t: i64, body: &[u8]) -> String {
    format!("t={t},v1={}", sign(secret, t, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header is `t=…,v1=…` with 64 hex digits, and its MAC is the one OpenSSL computes
    /// independently (`printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test`).
    #[test]
    fn the_header_is_t_and_v1_over_t_dot_body() {
        let value = header("whsec_test", 1_700_000_000, br#"{"a":1}"#);
        let (t, v1) = value.split_once(',').expect("two parts");
        assert_eq!(t, "t=1700000000");
        let mac = v1.strip_prefix("v1=").expect("v1=");
        assert_eq!(mac.len(), 64);
        assert!(
            mac.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(
            mac,
            "38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
        );
        assert_ne!(mac, sign("whsec_other", 1_700_000_000, br#"{"a":1}"#));
        assert_ne!(mac, sign("whsec_test", 1_700_000_001, br#"{"a":1}"#));
    }

    #[test]
    fn secrets_are_prefixed_hex_of_32_bytes_and_differ() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        let hex = a.strip_prefix(SECRET_PREFIX).expect("the prefix");
        assert_eq!(hex.len(), 64);
        assert!(
            hex.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
    }
}
