//! Two-step verification with an authenticator app: TOTP (RFC 6238) with SHA-1, 6 digits and
//! 30-second steps, accepting one step of clock drift either way. A code is accepted only for a
//! step later than the last one used, so an overheard code cannot be replayed.

use totp_rs::{Algorithm, TOTP};

use super::random::RandomSource;

pub const DIGITS: usize = 6;
pub const STEP_SECONDS: u64 = 30;
/// 160 bits, as RFC 4226 recommends.
pub const SECRET_BYTES: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum TotpError {
    #[error("invalid TOTP parameters: {0}")]
    Parameters(String),
}

/// A fresh random secret.
pub fn generate_secret(rng: &mut impl RandomSource) -> Vec<u8> {
    let mut secret = vec![0u8; SECRET_BYTES];
    rng.fill(&mut secret);
    secret
}

fn totp(secret: &[u8], issuer: &str, account: &str) -> Result<TOTP, TotpError> {
    // ':' separates issuer and account in otpauth labels; neither may contain it.
    let issuer = issuer.replace(':', " ");
    let account = account.replace(':', " ");
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        1,
        STEP_SECONDS,
        secret.to_vec(),
        Some(issuer),
        account,
    )
    .map_err(|e| TotpError::Parameters(e.to_string()))
}

/// The `otpauth://` URL an authenticator app scans.
pub fn provisioning_url(secret: &[u8], issuer: &str, account: &str) -> Result<String, TotpError> {
    Ok(totp(secret, issuer, account)?.get_url())
}

/// The secret as base32 without padding, for typing it in by hand, in groups of four.
pub fn secret_for_display(secret: &[u8]) -> String {
    let encoded = base32_encode(secret);
    encoded
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn base32_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The time step containing `unix_seconds`.
pub fn step_at(unix_seconds: u64) -> u64 {
    unix_seconds / STEP_SECONDS
}

/// Checks `code` at `unix_seconds` (±1 step). Returns the matching step when it is later than
/// `last_used_step`; the caller stores it so the same code cannot be used again.
pub fn verify(
    secret: &[u8],
    code: &str,
    unix_seconds: u64,
    last_used_step: Option<u64>,
) -> Option<u64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let totp = totp(secret, "Latchkey", "user").ok()?;
    let current = step_at(unix_seconds);
    let mut matched = None;
    // Check every candidate step without stopping early, so timing does not tell which matched.
    for step in [current.saturating_sub(1), current, current + 1] {
        let expected = totp.generate(step * STEP_SECONDS);
        if constant_time_eq(expected.as_bytes(), code.as_bytes())
            && last_used_step.is_none_or(|last| step > last)
        {
            matched = Some(step);
        }
    }
    matched
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The QR code for `url` as an SVG image (rendered on the server; the browser gets markup only).
pub fn qr_svg(url: &str) -> Result<String, TotpError> {
    let code =
        qrcode::QrCode::new(url.as_bytes()).map_err(|e| TotpError::Parameters(e.to_string()))?;
    Ok(code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build())
}

/// What is wrong with a typed code before any check, if anything: a person who typed none, or
/// letters, is asked for the code rather than told that it "didn't work" (and nothing is
/// counted against them).
pub fn shape_problem(code: &str) -> Option<&'static str> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.is_empty() {
        Some("Enter the 6-digit code from your authenticator app.")
    } else if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        Some("A code from your authenticator app has 6 digits.")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_of_the_wrong_shape_is_asked_for_again() {
        assert!(shape_problem("").is_some_and(|p| p.starts_with("Enter")));
        assert!(shape_problem("  ").is_some_and(|p| p.starts_with("Enter")));
        for malformed in ["12345", "abcdef", "1234567", "12345a"] {
            assert_eq!(
                shape_problem(malformed),
                Some("A code from your authenticator app has 6 digits."),
                "{malformed}"
            );
        }
        assert_eq!(shape_problem("123 456"), None);
        assert_eq!(shape_problem("000000"), None);
    }

    /// RFC 6238 appendix B, SHA-1 seed, 8-digit codes; we check the last 6 digits, which is
    /// what a 6-digit TOTP of the same HOTP value is (truncation mod 10^6).
    const RFC_SECRET: &[u8] = b"12345678901234567890";
    const RFC_VECTORS: [(u64, &str); 6] = [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ];

    #[test]
    fn matches_rfc_6238_test_vectors() -> Result<(), TotpError> {
        let eight = TOTP::new(
            Algorithm::SHA1,
            8,
            0,
            30,
            RFC_SECRET.to_vec(),
            None,
            "rfc".to_owned(),
        )
        .map_err(|e| TotpError::Parameters(e.to_string()))?;
        for (time, expected) in RFC_VECTORS {
            assert_eq!(eight.generate(time), expected, "t = {time}");
            assert_eq!(
                verify(RFC_SECRET, &expected[2..], time, None),
                Some(step_at(time)),
                "t = {time}"
            );
        }
        Ok(())
    }

    #[test]
    fn accepts_one_step_of_drift_and_no_more() -> Result<(), TotpError> {
        let totp = totp(RFC_SECRET, "Latchkey", "a")?;
        let now = 1_234_567_890;
        let previous = totp.generate(now - 30);
        let next = totp.generate(now + 30);
        let too_old = totp.generate(now - 60);
        assert!(verify(RFC_SECRET, &previous, now, None).is_some());
        assert!(verify(RFC_SECRET, &next, now, None).is_some());
        assert_eq!(verify(RFC_SECRET, &too_old, now, None), None);
        Ok(())
    }

    #[test]
    fn a_used_code_cannot_be_replayed() -> Result<(), TotpError> {
        let now = 1_234_567_890;
        let code = totp(RFC_SECRET, "Latchkey", "a")?.generate(now);
        let step = verify(RFC_SECRET, &code, now, None);
        assert_eq!(step, Some(step_at(now)));
        assert_eq!(verify(RFC_SECRET, &code, now, step), None);
        assert_eq!(verify(RFC_SECRET, &code, now + 10, step), None);
        Ok(())
    }

    #[test]
    fn malformed_codes_are_refused() {
        for code in ["", "12345", "1234567", "12a456", "１２３４５６"] {
            assert_eq!(verify(RFC_SECRET, code, 59, None), None, "{code:?}");
        }
    }

    #[test]
    fn provisioning_data_is_well_formed() -> Result<(), TotpError> {
        assert_eq!(
            base32_encode(b"12345678901234567890"),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
        assert_eq!(secret_for_display(b"12345"), "GEZD GNBV");
        let url = provisioning_url(RFC_SECRET, "Contoso: HQ", "ada@contoso.example")?;
        assert!(
            url.starts_with("otpauth://totp/Contoso%20%20HQ:ada%40contoso.example?secret=GEZDGNBV"),
            "{url}"
        );
        let svg = qr_svg(&url)?;
        assert!(svg.contains("<svg") && svg.contains("</svg>"));
        Ok(())
    }
}
