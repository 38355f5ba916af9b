//! Bytes as lowercase hex: the form every digest and key here is stored and shown in.

/// `bytes` as lowercase hex, two digits a byte, filled as bytes and checked once: a string
/// built a `char` at a time (as the `hex` crate builds it) cost more, for digests made per
/// entry (postings' chain, requests, API keys).
pub fn encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 0x0f)]);
    }
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    proptest::proptest! {
        #[test]
        fn it_is_each_bytes_two_lowercase_digits(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..80)) {
            let each: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            proptest::prop_assert_eq!(super::encode(&bytes), each);
        }
    }
}
