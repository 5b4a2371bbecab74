//! Parsing an HTTP Basic `Authorization` header (RFC 7617, UTF-8). Anything malformed is simply
//! "no credentials": the caller answers 401, never 500.

use base64::Engine;

/// Standard base64 whose closing padding may be there or not.
const PADDING_OPTIONAL: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

/// Longest header value accepted; real credentials are far shorter.
pub const MAX_HEADER_BYTES: usize = 4096;

/// Username and password from `Authorization: Basic ...`, if well formed: base64 of
/// `user:password` in UTF-8, both parts non-empty (the password may contain ':'), with no
/// control characters in either (RFC 7617 2: neither may contain them).
pub fn parse(header: &str) -> Option<(String, String)> {
    if header.len() > MAX_HEADER_BYTES {
        return None;
    }
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    // With or without the closing `=`: some clients leave the padding out.
    let decoded = PADDING_OPTIONAL.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    if text.chars().any(char::is_control) {
        return None;
    }
    let (user, password) = text.split_once(':')?;
    (!user.is_empty() && !password.is_empty()).then(|| (user.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(raw: &[u8]) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }

    #[test]
    fn reads_well_formed_credentials() {
        assert_eq!(
            parse(&encode(b"ada@example.org:abcd efgh ijkl mnop")),
            Some(("ada@example.org".into(), "abcd efgh ijkl mnop".into()))
        );
        assert_eq!(
            parse(&encode("zoë@example.org:pässword".as_bytes())),
            Some(("zoë@example.org".into(), "pässword".into()))
        );
        assert_eq!(
            parse(&encode(b"a:b:c")),
            Some(("a".into(), "b:c".into())),
            "only the first colon splits"
        );
        assert_eq!(
            parse(&format!("basic {}", &encode(b"a:b")[6..])),
            Some(("a".into(), "b".into())),
            "scheme is case-insensitive"
        );
        let unpadded = encode(b"ada@example.org:sbmx efib aipt ozvx");
        assert!(unpadded.ends_with('='));
        assert_eq!(
            parse(unpadded.trim_end_matches('=')),
            Some(("ada@example.org".into(), "sbmx efib aipt ozvx".into())),
            "the padding may be left out"
        );
    }

    #[test]
    fn malformed_headers_are_no_credentials() {
        let too_long = encode(&vec![b'a'; MAX_HEADER_BYTES]);
        for bad in [
            String::new(),
            "Basic".to_owned(),
            "Basic !!!not-base64!!!".to_owned(),
            "Bearer abc".to_owned(),
            encode(b"no colon here"),
            encode(b":password"),
            encode(b"user:"),
            encode(&[0xff, 0xfe, b':', b'x']),
            encode(b"ada\n2026-11-28 INFO forged:password"),
            encode(b"ada:pass\x00word"),
            encode("ada:pass\u{85}word".as_bytes()),
            too_long,
        ] {
            assert_eq!(parse(&bad), None, "{bad:?}");
        }
    }
}
