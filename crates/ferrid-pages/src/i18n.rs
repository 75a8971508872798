//! The languages of the sign-in and account pages. Their text lives in
//! message catalogues (`templates/locales/*.messages`), not in the
//! templates, which name messages by key through the [`filters`]; the
//! language of a page is a runtime value (`"locale"`) its renderer gives,
//! chosen from `ui_locales` or `Accept-Language` by [`Locale::negotiate`].
//!
//! [`filters`]: crate::filters

use std::collections::HashMap;
use std::sync::OnceLock;

/// A language the pages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Locale {
    /// English, the default.
    #[default]
    English,
    /// German.
    German,
}

/// Every language, in the order discovery lists them
/// (`ui_locales_supported`).
pub const SUPPORTED: [Locale; 2] = [Locale::English, Locale::German];

impl Locale {
    /// Its BCP 47 tag.
    pub fn tag(self) -> &'static str {
        match self {
            Locale::English => "en",
            Locale::German => "de",
        }
    }

    /// The language of a BCP 47 tag (`de`, `de-CH`, `EN-gb`), if one of
    /// ours: the primary subtag decides.
    pub fn of_tag(tag: &str) -> Option<Locale> {
        let primary = tag.trim().split(['-', '_']).next()?;
        SUPPORTED
            .into_iter()
            .find(|locale| locale.tag().eq_ignore_ascii_case(primary))
    }

    /// The language to show: the first of `ui_locales` (space-separated,
    /// in order of preference; OIDC Core §3.1.2.1) that is ours, else the
    /// best of `Accept-Language` by quality (RFC 9110 §12.5.4), else
    /// English.
    pub fn negotiate(ui_locales: Option<&str>, accept_language: Option<&str>) -> Locale {
        if let Some(locale) = ui_locales
            .unwrap_or_default()
            .split(' ')
            .find_map(Locale::of_tag)
        {
            return locale;
        }
        let mut ranked: Vec<(u16, Locale)> = accept_language
            .unwrap_or_default()
            .split(',')
            .filter_map(|range| {
                let mut parts = range.split(';');
                let locale = Locale::of_tag(parts.next()?)?;
                let quality = parts
                    .find_map(|parameter| parameter.trim().strip_prefix("q="))
                    .map_or(Some(1000), quality)?;
                (quality > 0).then_some((quality, locale))
            })
            .collect();
        // Stable: among equal qualities, the first listed wins.
        ranked.sort_by_key(|(quality, _)| std::cmp::Reverse(*quality));
        ranked
            .first()
            .map_or(Locale::English, |(_, locale)| *locale)
    }

    /// The text of message `key` in this language (English if this one
    /// lacks it, the key itself if both do).
    pub fn text(self, key: &str) -> &'static str {
        let catalogue = |locale: Locale| catalogues().get(&locale).and_then(|map| map.get(key));
        catalogue(self)
            .or_else(|| catalogue(Locale::English))
            .copied()
            .unwrap_or("")
    }
}

impl Locale {
    /// `text` (a message the server wrote in English, such as an error)
    /// in this language, if its catalogue of phrases has it: exactly, or
    /// by a pattern whose `{}` stand for the varying parts, carried over in
    /// order. Otherwise `text` itself.
    pub fn phrase(self, text: &str) -> std::borrow::Cow<'_, str> {
        let Some(phrases) = phrase_catalogues().get(&self) else {
            return text.into();
        };
        if let Some(translated) = phrases.exact.get(text) {
            return (*translated).into();
        }
        for (pattern, translated) in &phrases.patterns {
            if let Some(captures) = captures(pattern, text) {
                let mut out = String::new();
                let mut rest = *translated;
                for capture in &captures {
                    let Some((before, after)) = rest.split_once("{}") else {
                        break;
                    };
                    out.push_str(before);
                    out.push_str(capture);
                    rest = after;
                }
                out.push_str(rest);
                return out.into();
            }
        }
        text.into()
    }
}

/// The varying parts of `text` where `pattern` has `{}`, if it matches.
fn captures<'t>(pattern: &str, text: &'t str) -> Option<Vec<&'t str>> {
    let parts: Vec<&str> = pattern.split("{}").collect();
    let (first, last) = (parts.first()?, parts.last()?);
    let mut rest = text.strip_prefix(first)?.strip_suffix(last)?;
    let mut captures = Vec::new();
    for part in &parts[1..parts.len() - 1] {
        let at = rest.find(part)?;
        captures.push(&rest[..at]);
        rest = &rest[at + part.len()..];
    }
    captures.push(rest);
    Some(captures)
}

/// One language's phrases: exact ones, and patterns with `{}`.
#[derive(Default)]
struct Phrases {
    exact: HashMap<&'static str, &'static str>,
    patterns: Vec<(&'static str, &'static str)>,
}

/// The phrase catalogues' sources: `English => translation` lines.
const PHRASE_SOURCES: [(Locale, &str); 1] = [(
    Locale::German,
    include_str!("../../../templates/locales/de.phrases"),
)];

fn phrase_catalogues() -> &'static HashMap<Locale, Phrases> {
    static PHRASES: OnceLock<HashMap<Locale, Phrases>> = OnceLock::new();
    PHRASES.get_or_init(|| {
        PHRASE_SOURCES
            .iter()
            .map(|(locale, source)| {
                let mut phrases = Phrases::default();
                for (english, translated) in source
                    .lines()
                    .map(str::trim)
                    .filter(|line| !line.is_empty() && !line.starts_with('#'))
                    .filter_map(|line| line.split_once(" => "))
                {
                    if english.contains("{}") {
                        phrases.patterns.push((english, translated));
                    } else {
                        phrases.exact.insert(english, translated);
                    }
                }
                (*locale, phrases)
            })
            .collect()
    })
}

/// A quality value (`0.8`) in thousandths; `None` if malformed.
fn quality(text: &str) -> Option<u16> {
    let value: f32 = text.trim().parse().ok()?;
    (0.0..=1.0)
        .contains(&value)
        .then(|| (value * 1000.0).round() as u16)
}

/// The catalogues' sources, by language.
const SOURCES: [(Locale, &str); 2] = [
    (
        Locale::English,
        include_str!("../../../templates/locales/en.messages"),
    ),
    (
        Locale::German,
        include_str!("../../../templates/locales/de.messages"),
    ),
];

/// The parsed catalogues.
fn catalogues() -> &'static HashMap<Locale, HashMap<&'static str, &'static str>> {
    static CATALOGUES: OnceLock<HashMap<Locale, HashMap<&'static str, &'static str>>> =
        OnceLock::new();
    CATALOGUES.get_or_init(|| {
        SOURCES
            .iter()
            .map(|(locale, source)| (*locale, parse(source)))
            .collect()
    })
}

/// `key = text` lines; blank lines and `#` comments skipped.
fn parse(source: &'static str) -> HashMap<&'static str, &'static str> {
    source
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once(" = "))
        .map(|(key, text)| (key.trim(), text.trim()))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn ui_locales_come_first_then_accept_language_by_quality() {
        assert_eq!(Locale::negotiate(None, None), Locale::English);
        assert_eq!(
            Locale::negotiate(Some("fr de-AT en"), Some("en")),
            Locale::German
        );
        assert_eq!(
            Locale::negotiate(Some("fr"), Some("de-DE,de;q=0.9")),
            Locale::German
        );
        assert_eq!(
            Locale::negotiate(None, Some("fr;q=1, en;q=0.5, de;q=0.8")),
            Locale::German
        );
        assert_eq!(Locale::negotiate(None, Some("de;q=0, en")), Locale::English);
        assert_eq!(Locale::negotiate(None, Some("*, de;q=x")), Locale::English);
        assert_eq!(Locale::negotiate(None, Some("EN-gb, de")), Locale::English);
    }

    #[test]
    fn phrases_translate_exactly_or_by_pattern_and_leave_the_rest() {
        assert_eq!(
            Locale::German.phrase("Sign-in expired"),
            "Anmeldung abgelaufen"
        );
        assert_eq!(
            Locale::German.phrase(
                "This account is temporarily locked after 10 failed sign-in attempts \
                 (lockout.lock_after). Try again in 15 minutes."
            ),
            "Dieses Konto ist nach 10 fehlgeschlagenen Anmeldeversuchen vorübergehend gesperrt \
             (lockout.lock_after). Versuchen Sie es in 15 Minute(n) erneut."
        );
        assert_eq!(Locale::German.phrase("Something new"), "Something new");
        assert_eq!(Locale::English.phrase("Sign-in expired"), "Sign-in expired");
        for (pattern, translated) in &phrase_catalogues()[&Locale::German].patterns {
            assert!(
                translated.matches("{}").count() <= pattern.matches("{}").count(),
                "{pattern}"
            );
        }
    }

    #[test]
    fn every_catalogue_has_every_message() {
        let keys =
            |locale: Locale| -> BTreeSet<&str> { catalogues()[&locale].keys().copied().collect() };
        let english = keys(Locale::English);
        for locale in SUPPORTED {
            assert_eq!(keys(locale), english, "{}", locale.tag());
            for key in &english {
                assert!(!locale.text(key).is_empty(), "{} {key}", locale.tag());
            }
        }
    }

    #[test]
    fn every_message_a_template_names_is_in_the_catalogue() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../templates");
        let mut named = BTreeSet::new();
        for dir in [root.to_owned(), format!("{root}/console")] {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_none_or(|ext| ext != "html") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                for piece in text.split('"').skip(1).step_by(2) {
                    // Keys are named as "key"|t, or passed to a macro.
                    if piece.starts_with("console.") || text.contains(&format!("\"{piece}\"|t")) {
                        named.insert(piece.to_owned());
                    }
                }
            }
        }
        assert!(named.len() > 250, "{}", named.len());
        for key in named {
            assert!(
                catalogues()[&Locale::English].contains_key(key.as_str()),
                "no message {key}"
            );
        }
    }
}
