//! Passwords (promise P2): NIST SP 800-63B rules, and argon2id hashing in the server's hashing
//! slots (`platform::hashing`), so a burst of sign-ins queues briefly, then is told to come back,
//! instead of exhausting memory or starving other requests.

use std::sync::LazyLock;

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Algorithm, Argon2, Params, Version,
};
use thiserror::Error;
use unicode_normalization::UnicodeNormalization;

use crate::{
    auth::model::{PASSWORD_MAX_CHARS as MAX_CHARS, PASSWORD_MIN_CHARS as MIN_CHARS},
    platform::{error::InfraError, hashing::HashingSlots},
};
/// zxcvbn's scale runs 0 to 4; 3 means "safely unguessable" against an offline attack on a slow
/// hash.
const MIN_SCORE: u8 = 3;

/// OWASP's argon2id minimum: 19 MiB, two passes, one lane.
pub const MEMORY_KIB: u32 = 19_456;
pub const PASSES: u32 = 2;
pub const LANES: u32 = 1;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error("Use at least {MIN_CHARS} characters.")]
    TooShort,
    #[error("Use at most {MAX_CHARS} characters.")]
    TooLong,
    #[error("{0}")]
    TooGuessable(String),
}

/// The normalised password, as hashed and checked: NFKC, so that the same characters typed on
/// different keyboards give the same password.
pub fn normalize(password: &str) -> String {
    password.nfkc().collect()
}

/// How strong a password is, for the meter and the rules: score 0 to 4 and advice.
pub struct Strength {
    pub score: u8,
    pub advice: Option<String>,
}

/// zxcvbn's estimate, with the person's own name and address as words an attacker would try.
pub fn strength(password: &str, context: &[&str]) -> Strength {
    let password = normalize(password);
    let mut words: Vec<&str> = Vec::new();
    for item in context {
        words.push(item);
        words.extend(
            item.split(|c: char| !c.is_alphanumeric())
                .filter(|w| w.len() > 2),
        );
    }
    // zxcvbn slows down on very long inputs and learns nothing new past the first 100 characters.
    let sample: String = password.chars().take(100).collect();
    let estimate = zxcvbn::zxcvbn(&sample, &words);
    let advice = estimate.feedback().map(|feedback| {
        let mut parts: Vec<String> = feedback
            .warning()
            .map(|w| w.to_string())
            .into_iter()
            .collect();
        parts.extend(feedback.suggestions().iter().map(|s| s.to_string()));
        parts.join(" ")
    });
    Strength {
        score: u8::from(estimate.score()),
        advice: advice.filter(|a| !a.is_empty()),
    }
}

/// Checks a new password against the rules. No composition rules: length and guessability only.
pub fn check_new(password: &str, context: &[&str]) -> Result<(), PasswordError> {
    let length = normalize(password).chars().count();
    if length < MIN_CHARS {
        return Err(PasswordError::TooShort);
    }
    if length > MAX_CHARS {
        return Err(PasswordError::TooLong);
    }
    let strength = strength(password, context);
    if strength.score < MIN_SCORE {
        return Err(PasswordError::TooGuessable(format!(
            "This password is too easy to guess. {}",
            strength
                .advice
                .unwrap_or_else(|| "Add a few more uncommon words.".to_owned())
        )));
    }
    Ok(())
}

/// A new password that passed the rules: what a sign-up, a reset or a change may store, and the
/// only password this module hashes.
pub struct NewPassword(String);

impl NewPassword {
    /// The password as typed, once it passes the rules; `context` holds the person's address
    /// and name, which must not make up the password.
    pub fn check(typed: &str, context: &[&str]) -> Result<Self, PasswordError> {
        check_new(typed, context)?;
        Ok(Self(typed.to_owned()))
    }

    /// Whether the person typed the same again (the confirmation field).
    pub fn matches(&self, confirm: &str) -> bool {
        self.0 == confirm
    }

    /// Its PHC string, in one of the server's hashing slots.
    pub async fn hash(&self, slots: &HashingSlots) -> Result<String, InfraError> {
        hash(slots, &self.0).await
    }
}

fn argon2() -> Argon2<'static> {
    // The parameters are constants within argon2's accepted ranges.
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None)
        .unwrap_or_else(|_| unreachable!("the parameters are constants argon2 accepts"));
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The PHC string of a password. Each hashing takes 19 MiB and a core for tens of milliseconds,
/// so it waits for one of the server's hashing slots.
pub async fn hash(slots: &HashingSlots, password: &str) -> Result<String, InfraError> {
    let password = normalize(password);
    slots
        .run(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon2()
                .hash_password(password.as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|_| InfraError::HashingFailed)
        })
        .await?
}

/// Whether `password` matches the PHC string. `None` stands for an unknown account: a dummy
/// hash is checked instead, so that the answer takes as long either way.
pub async fn verify(
    slots: &HashingSlots,
    password: &str,
    phc: Option<String>,
) -> Result<bool, InfraError> {
    let password = normalize(password);
    let known = phc.is_some();
    let phc = phc.unwrap_or_else(|| DUMMY_HASH.clone());
    Ok(slots
        .run(move || {
            let Ok(parsed) = PasswordHash::new(&phc) else {
                return false;
            };
            argon2()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
                && known
        })
        .await?)
}

static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(b"no account has this password", &salt)
        .map(|hash| hash.to_string())
        .unwrap_or_else(|_| unreachable!("hashing a constant with a fresh salt succeeds"))
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_counts_characters_after_normalisation() {
        assert_eq!(check_new("short", &[]), Err(PasswordError::TooShort));
        assert_eq!(
            check_new(&"x".repeat(MAX_CHARS + 1), &[]),
            Err(PasswordError::TooLong)
        );
        // Twelve full-width letters are twelve characters, not thirty-six bytes' worth.
        assert_eq!(normalize("ＡＢＣ"), "ABC");
    }

    #[test]
    fn common_and_personal_passwords_are_refused() {
        assert!(matches!(
            check_new("password1234", &[]),
            Err(PasswordError::TooGuessable(_))
        ));
        assert!(matches!(
            check_new(
                "ada.lovelace@example.com",
                &["ada.lovelace@example.com", "Ada Lovelace"]
            ),
            Err(PasswordError::TooGuessable(_))
        ));
        assert_eq!(check_new("correct horse battery staple orbit", &[]), Ok(()));
    }

    #[tokio::test]
    async fn hashes_are_argon2id_phc_strings_that_verify() {
        let slots = HashingSlots::per_core();
        let phc = hash(&slots, "correct horse battery staple").await.unwrap();
        assert!(phc.starts_with(&format!(
            "$argon2id$v=19$m={MEMORY_KIB},t={PASSES},p={LANES}$"
        )));
        assert!(!phc.contains("correct"));
        assert!(
            verify(&slots, "correct horse battery staple", Some(phc.clone()))
                .await
                .unwrap()
        );
        assert!(!verify(&slots, "correct horse battery stapler", Some(phc))
            .await
            .unwrap());
        assert!(!verify(&slots, "no account has this password", None)
            .await
            .unwrap());
    }
}
