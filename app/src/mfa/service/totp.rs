//! The authenticator app (RFC 6238): a 160-bit secret, 6 digits, 30-second steps, one step of
//! drift either way, and no time step accepted twice.

use qrcode::{render::svg, QrCode};
use rand::RngCore as _;
use totp_rs::{Algorithm, TOTP};

use crate::platform::keys;

const SECRET_LEN: usize = 20;
const STEP_SECONDS: u64 = 30;
const DIGITS: usize = 6;
const ISSUER: &str = "Custodian";

/// A fresh 160-bit secret.
pub fn new_secret() -> Vec<u8> {
    let mut secret = vec![0u8; SECRET_LEN];
    rand::rng().fill_bytes(&mut secret);
    secret
}

fn generator(secret: &[u8], account: &str) -> Option<TOTP> {
    // The otpauth label separates issuer and account with ':', so the account may not hold one.
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        1,
        STEP_SECONDS,
        secret.to_vec(),
        Some(ISSUER.to_owned()),
        account.replace(':', "_"),
    )
    .ok()
}

/// What an authenticator app needs: the secret as text (grouped in fours for typing), the
/// otpauth URI and that URI as a QR code (SVG, drawn here: no outside service sees the secret).
pub struct Enrolment {
    pub secret_text: String,
    pub uri: String,
    pub qr_svg: String,
}

pub fn enrolment(secret: &[u8], account: &str) -> Option<Enrolment> {
    let totp = generator(secret, account)?;
    let base32 = totp.get_secret_base32();
    let secret_text = base32
        .as_bytes()
        .chunks(4)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let uri = totp.get_url();
    let qr_svg = QrCode::new(uri.as_bytes())
        .ok()?
        .render::<svg::Color>()
        .min_dimensions(200, 200)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    // Inline in HTML: the XML declaration has no place there.
    let qr_svg = match qr_svg.find("<svg") {
        Some(start) => qr_svg[start..].to_owned(),
        None => qr_svg,
    };
    Some(Enrolment {
        secret_text,
        uri,
        qr_svg,
    })
}

/// The six digits typed, without the spaces people add; None when it cannot be a code.
pub fn normalize_code(typed: &str) -> Option<String> {
    let code: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    (code.len() == DIGITS && code.chars().all(|c| c.is_ascii_digit())).then_some(code)
}

/// The time step `code` belongs to, if it is right for the step of `now_unix` or one either
/// side and that step is newer than `last_used_step`.
pub fn accepted_step(secret: &[u8], code: &str, now_unix: i64, last_used_step: i64) -> Option<i64> {
    let totp = generator(secret, "")?;
    let current = now_unix.max(0) / STEP_SECONDS as i64;
    (current - 1..=current + 1)
        .filter(|step| *step > last_used_step && *step >= 0)
        .find(|step| {
            let expected = totp.generate(*step as u64 * STEP_SECONDS);
            keys::constant_time_eq(expected.as_bytes(), code.as_bytes())
        })
}

/// The code an authenticator shows at `unix` (for tests that play the app).
#[cfg(test)]
pub fn code_at(secret: &[u8], unix: i64) -> String {
    generator(secret, "").map_or_else(String::new, |t| t.generate(unix as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_015;

    #[test]
    fn the_current_step_and_one_either_side_are_accepted() {
        let secret = new_secret();
        let step = NOW / 30;
        for offset in [-1, 0, 1] {
            let code = code_at(&secret, NOW + offset * 30);
            assert_eq!(accepted_step(&secret, &code, NOW, 0), Some(step + offset));
        }
    }

    #[test]
    fn two_steps_away_is_refused() {
        let secret = new_secret();
        for offset in [-2, 2] {
            let code = code_at(&secret, NOW + offset * 30);
            assert_eq!(accepted_step(&secret, &code, NOW, 0), None, "{offset}");
        }
    }

    #[test]
    fn a_used_step_or_an_older_one_is_never_accepted_again() {
        let secret = new_secret();
        let code = code_at(&secret, NOW);
        let step = accepted_step(&secret, &code, NOW, 0).unwrap();
        assert_eq!(accepted_step(&secret, &code, NOW, step), None);
        let earlier = code_at(&secret, NOW - 30);
        assert_eq!(accepted_step(&secret, &earlier, NOW, step), None);
        let next = code_at(&secret, NOW + 30);
        assert_eq!(
            accepted_step(&secret, &next, NOW + 30, step),
            Some(step + 1)
        );
    }

    #[test]
    fn codes_are_normalized_and_malformed_ones_refused() {
        assert_eq!(normalize_code(" 123 456 ").as_deref(), Some("123456"));
        for bad in ["", "12345", "1234567", "12345a", "١٢٣٤٥٦"] {
            assert_eq!(normalize_code(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_enrolment_names_issuer_and_account_and_draws_a_qr_code() {
        let secret = new_secret();
        let enrolment = enrolment(&secret, "ada@example.com").unwrap();
        assert!(enrolment
            .uri
            .starts_with("otpauth://totp/Custodian:ada%40example.com?"));
        assert!(enrolment.uri.contains("issuer=Custodian"));
        assert_eq!(enrolment.secret_text.replace(' ', "").len(), 32);
        assert!(enrolment.qr_svg.starts_with("<svg"));
    }
}
