//! The secrets a probe holds (`-H` values, the URL's userinfo, `--secret-env` and a catalog's
//! `secret_env` values) and their removal from everything the server says before it is shown,
//! logged, cached or reported. Every boundary where server text comes in scrubs it here: the
//! transports (what the server sends), the runtimes (its stderr, its pod's log and status).

use super::{Inbound, TransportError};
use crate::target::Target;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::Url;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::Value;
use std::borrow::Cow;
use std::fmt;

/// Shorter strings are not treated as secrets when scrubbing what the server sends: replacing
/// every `admin` or `acme` in a tool description would garble the report.
const MIN_SECRET_CHARS: usize = 6;
/// Words of a header value at least this long are secrets on their own (the token after
/// `Bearer`), since a server may echo just that part.
const MIN_SECRET_WORD_CHARS: usize = 8;

/// What a URI component encoder leaves as is (RFC 3986's unreserved characters): the
/// percent-encoded form a server most likely prints.
const URI_COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The secrets a probe holds: `-H` values, the URL's userinfo and the secret environment.
/// mcp-probe never writes them into a message itself; [`Secrets::scrub`] also takes them out of
/// what the server sends back (an error page or a reply that echoes a header, a crash that
/// prints its environment) before anything is shown, logged or reported.
#[derive(Default)]
pub(crate) struct Secrets {
    /// Longest first, each also in its JSON-escaped form when that differs.
    needles: Vec<String>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets({} hidden)", self.needles.len())
    }
}

impl Secrets {
    pub(crate) fn new(headers: &[(String, String)], url: &Url) -> Secrets {
        let mut secrets = Secrets::default();
        for (_, value) in headers {
            secrets.add_value(value);
        }
        let (user, password) = (url.username(), url.password());
        match password {
            Some(password) => {
                secrets.add(password);
                secrets.add(&percent_decoded(password));
            }
            // `https://TOKEN@host`: the user name is the credential.
            None => {
                secrets.add(user);
                secrets.add(&percent_decoded(user));
            }
        }
        if !user.is_empty() || password.is_some() {
            // What reqwest sends as `Authorization: Basic …`.
            let pair = format!(
                "{}:{}",
                percent_decoded(user),
                percent_decoded(password.unwrap_or(""))
            );
            secrets.add(&STANDARD.encode(pair));
        }
        secrets.sorted()
    }

    /// The secret environment values (`--secret-env`, a catalog's `secret_env`): each as
    /// given, its long words and lines, and the forms a server that prints it may use
    /// (JSON-escaped, percent-encoded, base64).
    pub(crate) fn of_env(env: &[(String, String)]) -> Secrets {
        let mut secrets = Secrets::default();
        for (_, value) in env {
            secrets.add_value(value);
            let encoded = percent_encoding::utf8_percent_encode(value, URI_COMPONENT);
            secrets.add(&encoded.to_string());
            secrets.add(&STANDARD.encode(value));
        }
        secrets.sorted()
    }

    /// Everything secret about `target`: a URL's headers and userinfo, an image's secret env.
    pub(crate) fn of_target(target: &Target) -> Secrets {
        match target {
            Target::Url { url, headers } => match Url::parse(url) {
                Ok(url) => Secrets::new(headers, &url),
                Err(_) => Secrets::default(),
            },
            Target::Image(image) => Secrets::of_env(&image.secret_env),
            Target::Command { .. } => Secrets::default(),
        }
    }

    /// These secrets and `other`'s.
    pub(crate) fn and(mut self, other: &Secrets) -> Secrets {
        self.needles.extend(other.needles.iter().cloned());
        self.sorted()
    }

    /// Longest first (a secret holding another is replaced whole), each once.
    fn sorted(mut self) -> Secrets {
        self.needles
            .sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        self.needles.dedup();
        self
    }

    /// A value, and its words (and lines) long enough to be secrets on their own (the token
    /// after `Bearer`, one line of a PEM key), since a server may echo just that part.
    fn add_value(&mut self, value: &str) {
        self.add(value);
        for word in value.split_whitespace() {
            if word.chars().count() >= MIN_SECRET_WORD_CHARS {
                self.add(word);
            }
        }
        for line in value.lines() {
            self.add(line);
        }
    }

    fn add(&mut self, needle: &str) {
        let needle = needle.trim();
        if needle.chars().count() < MIN_SECRET_CHARS {
            return;
        }
        self.needles.push(needle.to_owned());
        let escaped = Value::String(needle.to_owned()).to_string();
        let escaped = &escaped[1..escaped.len() - 1];
        if escaped != needle {
            self.needles.push(escaped.to_owned());
        }
    }

    fn found_in(&self, text: &str) -> bool {
        self.needles.iter().any(|n| text.contains(n.as_str()))
    }

    /// `text` with every secret replaced by `***`.
    pub(crate) fn scrub<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let mut text = Cow::Borrowed(text);
        for needle in &self.needles {
            if text.contains(needle.as_str()) {
                text = Cow::Owned(text.replace(needle.as_str(), "***"));
            }
        }
        text
    }

    fn scrub_string(&self, text: &mut String) -> bool {
        if !self.found_in(text) {
            return false;
        }
        *text = self.scrub(text).into_owned();
        true
    }

    /// Scrubs every string (and key) in `value`; says whether anything changed.
    fn scrub_value(&self, value: &mut Value) -> bool {
        match value {
            Value::String(text) => self.scrub_string(text),
            Value::Array(items) => items
                .iter_mut()
                .fold(false, |changed, v| self.scrub_value(v) | changed),
            Value::Object(map) => {
                let mut changed = false;
                if map.keys().any(|k| self.found_in(k)) {
                    let old = std::mem::take(map);
                    *map = old
                        .into_iter()
                        .map(|(k, v)| (self.scrub(&k).into_owned(), v))
                        .collect();
                    changed = true;
                }
                map.values_mut()
                    .fold(changed, |changed, v| self.scrub_value(v) | changed)
            }
            _ => false,
        }
    }

    /// What the server said, with the secrets it echoed taken out.
    pub(crate) fn scrub_inbound(&self, item: Inbound) -> Inbound {
        if self.needles.is_empty() {
            return item;
        }
        match item {
            Inbound::Message(json) => self.scrub_message(json),
            Inbound::Noise(text) => Inbound::Noise(self.scrub(&text).into_owned()),
            Inbound::DroppedLine { bytes, bound, head } => Inbound::DroppedLine {
                bytes,
                bound,
                head: self.scrub(&head).into_owned(),
            },
            Inbound::TooDeep { bytes, head } => Inbound::TooDeep {
                bytes,
                head: self.scrub(&head).into_owned(),
            },
            Inbound::Closed { reason } => Inbound::Closed {
                reason: self.scrub(&reason).into_owned(),
            },
        }
    }

    /// A message with its secrets taken out: replaced in the text where they appear as sent or
    /// JSON-escaped as the needles list them, and through a parsed `Value` only when one hides
    /// behind another escape (`\u0073`) or replacing it in the text broke the JSON. A message
    /// that still holds one after that (a secret spanning JSON syntax) is shown as scrubbed
    /// noise: a secret never leaves.
    fn scrub_message(&self, json: Box<RawValue>) -> Inbound {
        let by_text = match self.scrub(json.get()) {
            Cow::Borrowed(_) => Ok(None),
            Cow::Owned(text) => RawValue::from_string(text).map(Some),
        };
        let scrubbed = match by_text {
            Ok(None) if !self.hides_secret(&json) => return Inbound::Message(json),
            Ok(Some(scrubbed)) if !self.hides_secret(&scrubbed) => Some(scrubbed),
            // Hidden behind an escape, or the replacement broke the JSON.
            _ => self.scrub_parsed(&json),
        };
        match scrubbed {
            Some(scrubbed) if !self.found_in(scrubbed.get()) => Inbound::Message(scrubbed),
            _ => Inbound::Noise(self.scrub(json.get()).into_owned()),
        }
    }

    /// Whether a string or key of `json`, its escapes decoded, holds a secret. Without a
    /// backslash in the text the strings are pieces of it, which [`Secrets::scrub`] covered.
    fn hides_secret(&self, json: &RawValue) -> bool {
        json.get().contains('\\')
            && SecretSeeker(self)
                .deserialize(&mut serde_json::Deserializer::from_str(json.get()))
                .unwrap_or(true)
    }

    /// `json` parsed, every string and key scrubbed, and written anew.
    fn scrub_parsed(&self, json: &RawValue) -> Option<Box<RawValue>> {
        let mut value: Value = serde_json::from_str(json.get()).ok()?;
        self.scrub_value(&mut value);
        serde_json::value::to_raw_value(&value).ok()
    }

    /// The error with the secrets the server echoed (in a body excerpt) taken out.
    pub(crate) fn scrub_error(&self, err: TransportError) -> TransportError {
        let scrub = |text: String| match self.found_in(&text) {
            true => self.scrub(&text).into_owned(),
            false => text,
        };
        match err {
            TransportError::Http(message) => TransportError::Http(scrub(message)),
            TransportError::Protocol(message) => TransportError::Protocol(scrub(message)),
            TransportError::WrongEndpoint {
                url,
                status,
                detail,
            } => TransportError::WrongEndpoint {
                url: scrub(url),
                status,
                detail: scrub(detail),
            },
            other => other,
        }
    }
}

/// Walks a JSON text, its strings and keys decoded, and says whether one holds a secret;
/// builds nothing (a 19 MB reply is not turned into a `Value` to be checked).
struct SecretSeeker<'s>(&'s Secrets);

impl<'de> DeserializeSeed<'de> for SecretSeeker<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for SecretSeeker<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<bool, E> {
        Ok(self.0.found_in(text))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<bool, A::Error> {
        let mut found = false;
        while let Some(here) = items.next_element_seed(SecretSeeker(self.0))? {
            found |= here;
        }
        Ok(found)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<bool, A::Error> {
        let mut found = false;
        while let Some(in_key) = members.next_key_seed(SecretSeeker(self.0))? {
            found |= in_key | members.next_value_seed(SecretSeeker(self.0))?;
        }
        Ok(found)
    }
}

/// `%XX` escapes decoded (lossily; a `%` without two hex digits is kept): what a URL's
/// userinfo means.
fn percent_decoded(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn userinfo_is_decoded_as_a_url_means_it() {
        assert_eq!(percent_decoded("p%40ss%zz%2"), "p@ss%zz%2");
        // The userinfo as reqwest sends it, `Authorization: Basic base64(user:password)`.
        let secrets = Secrets::new(&[], &Url::parse("http://user:secret@h/").unwrap());
        assert_eq!(secrets.scrub("Basic dXNlcjpzZWNyZXQ="), "Basic ***");
    }

    #[test]
    fn secrets_come_from_header_values_and_userinfo() {
        let url = Url::parse("http://me:pa%40ssw0rd@h/").unwrap();
        let headers = [
            (
                "Authorization".to_owned(),
                "Bearer tok-123456789".to_owned(),
            ),
            ("X-Tenant".to_owned(), "acme".to_owned()),
        ];
        let secrets = Secrets::new(&headers, &url);
        let text = "echo: Bearer tok-123456789 / tok-123456789 / pa@ssw0rd / pa%40ssw0rd \
                    / bWU6cGFAc3N3MHJk / acme";
        assert_eq!(
            secrets.scrub(text),
            "echo: *** / *** / *** / *** / *** / acme"
        );
        assert!(!format!("{secrets:?}").contains("tok"));
        // A token as the user name.
        let secrets = Secrets::new(&[], &Url::parse("https://ghp_token42@h/").unwrap());
        assert_eq!(secrets.scrub("bad ghp_token42"), "bad ***");
        assert!(Secrets::new(&[], &Url::parse("http://h/").unwrap())
            .needles
            .is_empty());
    }

    fn message(text: &str) -> Inbound {
        Inbound::Message(RawValue::from_string(text.to_owned()).unwrap())
    }

    fn text_of(inbound: &Inbound) -> &str {
        match inbound {
            Inbound::Message(json) => json.get(),
            other => panic!("not a message: {other:?}"),
        }
    }

    #[test]
    fn echoed_secrets_leave_messages_even_when_escaped() {
        let url = Url::parse("http://h/").unwrap();
        let headers = [("X-Key".to_owned(), "k\"ey/secret".to_owned())];
        let secrets = Secrets::new(&headers, &url);
        let raw = r#"{"error":{"message":"bad key k\"ey/secret","k\"ey/secret":1}}"#;
        let scrubbed = secrets.scrub_inbound(message(raw));
        let value: Value = serde_json::from_str(text_of(&scrubbed)).unwrap();
        assert_eq!(
            value,
            json!({"error": {"message": "bad key ***", "***": 1}})
        );
        // An escape the needles do not list is still caught, through the decoded strings.
        let scrubbed = secrets.scrub_inbound(message(r#"{"m":"k\"ey/\u0073ecret"}"#));
        assert_eq!(text_of(&scrubbed), r#"{"m":"***"}"#);
        let scrubbed = secrets.scrub_inbound(message(r#"{"k\"ey\/secret":[1]}"#));
        assert_eq!(text_of(&scrubbed), r#"{"***":[1]}"#);
        // Escapes without a secret leave the text as sent.
        let plain = r#"{"m":"line\none \u00e9", "n": [1.50]}"#;
        assert_eq!(text_of(&secrets.scrub_inbound(message(plain))), plain);
        let err = secrets.scrub_error(TransportError::Http("HTTP 401: k\"ey/secret".into()));
        assert_eq!(err.to_string(), "HTTP error: HTTP 401: ***");
    }

    #[test]
    fn secret_env_values_are_scrubbed_in_every_form() {
        let env = [
            ("API_KEY".to_owned(), "k\"y/s3cret 4711".to_owned()),
            (
                "PEM".to_owned(),
                "-----BEGIN-----\nline-one-abc\nline-two-xyz".to_owned(),
            ),
            ("SHORT".to_owned(), "abc".to_owned()),
        ];
        let secrets = Secrets::of_env(&env);
        let text = "raw k\"y/s3cret 4711, json k\\\"y/s3cret 4711, pct k%22y%2Fs3cret%204711, \
                    b64 ayJ5L3MzY3JldCA0NzEx, word y/s3cret, line line-two-xyz, short abc";
        assert_eq!(
            secrets.scrub(text),
            "raw ***, json ***, pct ***, b64 ***, word y/s3cret, line ***, short abc"
        );
        // Merged with a transport's own, both are scrubbed.
        let url = Url::parse("http://h/").unwrap();
        let headers = [("X-Key".to_owned(), "header-secret".to_owned())];
        let both = Secrets::new(&headers, &url).and(&secrets);
        assert_eq!(both.scrub("header-secret line-one-abc"), "*** ***");
        let target = Target::Image(crate::target::ImageTarget {
            image: "i".into(),
            args: vec![],
            env: vec![],
            secret_env: env.to_vec(),
        });
        assert_eq!(Secrets::of_target(&target).scrub("k\"y/s3cret 4711"), "***");
    }

    #[test]
    fn a_secret_spanning_json_syntax_never_leaves() {
        let url = Url::parse("http://h/").unwrap();
        let headers = [("X-Key".to_owned(), "abc\",\"xyz".to_owned())];
        let secrets = Secrets::new(&headers, &url);
        // Replacing it in the text breaks the JSON, and the Value has it in no one string.
        let scrubbed = secrets.scrub_inbound(message(r#"{"a":"abc","xyz":1}"#));
        assert!(
            matches!(&scrubbed, Inbound::Noise(text) if !text.contains("xyz")),
            "{scrubbed:?}"
        );
    }
}
