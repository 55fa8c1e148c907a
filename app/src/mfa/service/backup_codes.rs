//! Backup codes: ten single-use codes of ten base32 characters (50 bits each), shown once and
//! stored only as a keyed digest.

use rand::Rng as _;

use crate::mfa::model::BACKUP_CODE_SET_SIZE as SET_SIZE;

const CODE_LEN: usize = 10;
/// Crockford's base32: no I, L, O or U, so nothing reads as another character.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A fresh code: as the person reads it, and as it is stored.
pub struct NewCode {
    /// Grouped as ABCDE-FGHJK for reading.
    pub shown: String,
    pub stored: String,
}

/// A fresh set.
pub fn new_set() -> Vec<NewCode> {
    let mut rng = rand::rng();
    (0..SET_SIZE)
        .map(|_| {
            let stored: String = (0..CODE_LEN)
                .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
                .collect();
            NewCode {
                shown: format!("{}-{}", &stored[..5], &stored[5..]),
                stored,
            }
        })
        .collect()
}

/// The code as stored: upper case, without spaces or hyphens, with look-alikes (O, I, L)
/// read as the digits they resemble. None when it cannot be a code.
pub fn normalize(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect();
    (code.len() == CODE_LEN && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_has_ten_distinct_well_formed_codes() {
        let set = new_set();
        assert_eq!(set.len(), SET_SIZE);
        for code in &set {
            assert_eq!(code.shown.len(), 11);
            assert_eq!(
                normalize(&code.shown).as_deref(),
                Some(code.stored.as_str())
            );
        }
        let mut unique: Vec<&str> = set.iter().map(|code| code.stored.as_str()).collect();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), SET_SIZE);
        // 32^10 = 2^50 possibilities per code.
        assert_eq!((ALPHABET.len() as f64).log2() * CODE_LEN as f64, 50.0);
    }

    #[test]
    fn typing_variations_are_forgiven_and_nonsense_refused() {
        assert_eq!(normalize("abcde-fghjk").as_deref(), Some("ABCDEFGHJK"));
        assert_eq!(normalize(" ABCDE FGHJ0 ").as_deref(), Some("ABCDEFGHJ0"));
        assert_eq!(normalize("ABCDE-FGHJO").as_deref(), Some("ABCDEFGHJ0"));
        for bad in ["", "ABCDE", "ABCDE-FGHJK-1", "ABCDE-FGHJ!"] {
            assert_eq!(normalize(bad), None, "{bad:?}");
        }
    }
}
