//! Keeps a secret's value out of what a host answers: a careless host may repeat the credential
//! it received (an error page quoting the request, a redirect to a URL with the key in it). The
//! value is replaced wherever it appears in the answer, as it was sent or as the usual encodings
//! write it, even across the chunks of a streamed body.

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

/// What stands in the answer where the value was.
const REDACTED: &[u8] = b"[secret]";

/// Replaces a value's forms in a body that arrives in chunks.
pub struct Scrubber {
    forms: Vec<Vec<u8>>,
    /// The end of what arrived so far, held back in case a form begins in it.
    carry: Vec<u8>,
}

impl Scrubber {
    pub fn new(value: &str) -> Self {
        Self {
            forms: forms(value),
            carry: Vec::new(),
        }
    }

    fn longest(&self) -> usize {
        self.forms.iter().map(Vec::len).max().unwrap_or(1)
    }

    /// Whether `bytes` hold the value in any of its forms.
    pub fn finds(&self, bytes: &[u8]) -> bool {
        self.forms
            .iter()
            .any(|form| bytes.windows(form.len()).any(|window| window == form.as_slice()))
    }

    /// The next chunk to pass on: what arrived, scrubbed, except its last bytes, which wait
    /// for the next chunk (a form may span the two).
    pub fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        self.carry.extend_from_slice(chunk);
        let arrived = std::mem::take(&mut self.carry);
        let scrubbed = self.replace_all(arrived);
        let keep = scrubbed.len().min(self.longest().saturating_sub(1));
        let (ready, held) = scrubbed.split_at(scrubbed.len() - keep);
        self.carry = held.to_vec();
        ready.to_vec()
    }

    /// What is left once the body ended.
    pub fn finish(mut self) -> Vec<u8> {
        let rest = std::mem::take(&mut self.carry);
        self.replace_all(rest)
    }

    fn replace_all(&self, mut bytes: Vec<u8>) -> Vec<u8> {
        for form in &self.forms {
            let mut out = Vec::with_capacity(bytes.len());
            let mut at = 0;
            while at < bytes.len() {
                if bytes[at..].starts_with(form) {
                    out.extend_from_slice(REDACTED);
                    at += form.len();
                } else {
                    out.push(bytes[at]);
                    at += 1;
                }
            }
            bytes = out;
        }
        bytes
    }
}

/// The value as sent, percent-encoded (as in a URL or a form) and JSON-escaped.
fn forms(value: &str) -> Vec<Vec<u8>> {
    let mut forms = vec![value.as_bytes().to_vec()];
    for form in [
        utf8_percent_encode(value, NON_ALPHANUMERIC).to_string(),
        url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>(),
        value.replace('/', "\\/"),
        serde_json::to_string(value).unwrap_or_default().trim_matches('"').to_owned(),
    ] {
        let form = form.into_bytes();
        if !form.is_empty() && !forms.contains(&form) {
            forms.push(form);
        }
    }
    forms
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrubbed(value: &str, chunks: &[&[u8]]) -> String {
        let mut scrubber = Scrubber::new(value);
        let mut out = Vec::new();
        for chunk in chunks {
            out.extend(scrubber.push(chunk));
        }
        out.extend(scrubber.finish());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_value_is_replaced_in_every_form_even_across_chunks() {
        let value = "sk-a+b/c=d";
        assert_eq!(scrubbed(value, &[b"key: sk-a+b/c=d."]), "key: [secret].");
        assert_eq!(scrubbed(value, &[b"x sk-a+", b"b/c", b"=d y"]), "x [secret] y");
        assert_eq!(scrubbed(value, &[b"/v1?key=sk-a%2Bb%2Fc%3Dd&x=1"]), "/v1?key=[secret]&x=1");
        assert_eq!(scrubbed(value, &[br#"{"k":"sk-a+b\/c=d"}"#]), r#"{"k":"[secret]"}"#);
        assert_eq!(scrubbed(value, &[b"nothing here", b"", b" at all"]), "nothing here at all");
        assert!(Scrubber::new(value).finds(b"Bearer sk-a+b/c=d"));
        assert!(!Scrubber::new(value).finds(b"Bearer sk-a+b/c"));
    }

    #[test]
    fn a_body_split_at_every_byte_is_scrubbed_the_same() {
        let value = "secret-VALUE-123";
        let body = b"before secret-VALUE-123 middle secret-VALUE-123after";
        let chunks: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(scrubbed(value, &chunks), "before [secret] middle [secret]after");
    }
}
