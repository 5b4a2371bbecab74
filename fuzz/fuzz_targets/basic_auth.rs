//! The HTTP Basic header parser of `GET /auth/basic` on arbitrary input: it must never panic,
//! and must find credentials exactly when the header carries well-formed ones.
#![no_main]

// The parser's own source file: the fuzzer builds one module and base64, not the whole server.
#[path = "../../server/src/domain/basic_auth.rs"]
mod basic_auth;

use base64::Engine;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Any header text at all.
    if let Ok(header) = std::str::from_utf8(data)
        && let Some((user, password)) = basic_auth::parse(header)
    {
        assert!(!user.is_empty() && !password.is_empty());
        assert!(!user.contains(':'));
        assert!(!user.chars().chain(password.chars()).any(char::is_control));
        assert!(header.len() <= basic_auth::MAX_HEADER_BYTES);
    }

    // Any bytes as the credentials of a well-formed header: accepted exactly when they are
    // UTF-8 "user:password" with both parts non-empty and no control characters.
    let header = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(data)
    );
    let expected = std::str::from_utf8(data)
        .ok()
        .filter(|text| !text.chars().any(char::is_control))
        .and_then(|text| text.split_once(':'))
        .filter(|(user, password)| !user.is_empty() && !password.is_empty())
        .filter(|_| header.len() <= basic_auth::MAX_HEADER_BYTES)
        .map(|(user, password)| (user.to_owned(), password.to_owned()));
    assert_eq!(basic_auth::parse(&header), expected);
});
