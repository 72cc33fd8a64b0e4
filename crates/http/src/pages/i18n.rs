//! Page languages: English, German and Polish. The language is chosen per request from the
//! OpenID Connect `ui_locales` parameter, then `Accept-Language`, then English, and held in a
//! task-local for the request so every page and error page renders in it.

use std::str::FromStr;

use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use fluent_templates::{LanguageIdentifier, Loader as _};

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// Languages with a full catalog, in the order offered.
pub(crate) const SUPPORTED: [&str; 3] = ["en", "de", "pl"];

tokio::task_local! {
    static LANGUAGE: &'static str;
}

/// Picks the language: the first supported `ui_locales` entry, else the best `Accept-Language`
/// match by q-value, else English. Only the primary subtag matters (`de-AT` is German).
pub(crate) fn negotiate(ui_locales: Option<&str>, accept_language: Option<&str>) -> &'static str {
    let primary = |tag: &str| -> Option<&'static str> {
        let lang = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        SUPPORTED.iter().find(|s| **s == lang).copied()
    };
    if let Some(found) = ui_locales.and_then(|list| list.split(' ').find_map(primary)) {
        return found;
    }
    let mut ranked: Vec<(f32, &'static str)> = accept_language
        .unwrap_or_default()
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';');
            let lang = primary(parts.next()?)?;
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| f32::from_str(q).ok())
                .unwrap_or(1.0);
            (q > 0.0).then_some((q, lang))
        })
        .collect();
    // Stable sort keeps header order among equal weights.
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    ranked.first().map_or("en", |(_, lang)| lang)
}

/// Middleware for page routes: negotiates the language and runs the request in its scope.
pub(crate) async fn language_scope(request: Request, next: Next) -> Response {
    let ui_locales = request.uri().query().and_then(|query| {
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "ui_locales")
            .map(|(_, v)| v.into_owned())
    });
    let accept = request
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let language = negotiate(ui_locales.as_deref(), accept.as_deref());
    LANGUAGE.scope(language, next.run(request)).await
}

/// The current request's language (English outside a page request).
pub(crate) fn current() -> &'static str {
    LANGUAGE.try_with(|l| *l).unwrap_or("en")
}

/// Whether `key` is a page text (tenants may override those).
pub(crate) fn is_known_key(key: &str) -> bool {
    LOCALES
        .try_lookup(&fluent_templates::langid!("en"), key)
        .is_some()
}

/// A message in the current language.
pub(crate) fn text(key: &str) -> String {
    let lang =
        LanguageIdentifier::from_str(current()).unwrap_or_else(|_| fluent_templates::langid!("en"));
    LOCALES.lookup(&lang, key)
}

/// A message in the current language with `{ $name }` placeables filled.
pub(crate) fn text_with_args(key: &str, args: &[(&str, &str)]) -> String {
    lookup_with(
        key,
        args.iter()
            .map(|(k, v)| (std::borrow::Cow::Owned((*k).to_owned()), (*v).into())),
    )
}

/// A message in the current language with these Fluent arguments.
fn lookup_with<'a>(
    key: &str,
    args: impl Iterator<
        Item = (
            std::borrow::Cow<'static, str>,
            fluent_templates::fluent_bundle::FluentValue<'a>,
        ),
    >,
) -> String {
    let lang =
        LanguageIdentifier::from_str(current()).unwrap_or_else(|_| fluent_templates::langid!("en"));
    let args: std::collections::HashMap<_, _> = args.collect();
    LOCALES.lookup_with_args(&lang, key, &args)
}

/// A message with a `{ $count }` number in the current language, so its plural forms apply.
pub(crate) fn text_with_count(key: &str, count: u32) -> String {
    lookup_with(
        key,
        std::iter::once((std::borrow::Cow::Borrowed("count"), count.into())),
    )
}

/// Message texts (mail, SMS) in the current request's language, for the sign-in engine.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RequestTexts;

impl portico_core::signin::MessageTexts for RequestTexts {
    fn text(&self, key: &str, args: &[(&str, &str)]) -> String {
        text_with_args(key, args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ui_locales_win_then_accept_language_by_weight() {
        assert_eq!(negotiate(Some("fr pl-PL"), Some("de")), "pl");
        assert_eq!(
            negotiate(Some("fr"), Some("fr;q=1, de;q=0.5, pl;q=0.9")),
            "pl"
        );
        assert_eq!(negotiate(None, Some("de-AT,de;q=0.9,en;q=0.8")), "de");
        assert_eq!(negotiate(None, Some("pl;q=0, de;q=0.1")), "de");
        assert_eq!(negotiate(None, Some("ja")), "en");
        assert_eq!(negotiate(None, None), "en");
        assert_eq!(negotiate(Some(""), Some("garbage;;;q=x")), "en");
    }

    #[test]
    fn every_language_has_every_message() {
        let keys: Vec<&str> = include_str!("../../locales/en/portico.ftl")
            .lines()
            .filter_map(|line| line.split_once(" = ").map(|(key, _)| key))
            .filter(|key| !key.starts_with(' ') && !key.is_empty())
            .collect();
        assert!(keys.len() > 80, "{}", keys.len());
        let args: std::collections::HashMap<
            std::borrow::Cow<'static, str>,
            fluent_templates::fluent_bundle::FluentValue<'_>,
        > = ["organisation", "code", "minutes", "count", "app", "api"]
            .into_iter()
            .map(|name| (std::borrow::Cow::Borrowed(name), "x".into()))
            .collect();
        for lang in SUPPORTED {
            let id = LanguageIdentifier::from_str(lang).unwrap();
            for key in &keys {
                let text = LOCALES.try_lookup_with_args(&id, key, &args);
                assert!(
                    text.as_ref().is_some_and(|t| !t.is_empty() && t != key),
                    "{lang}: {key}"
                );
            }
        }
    }

    #[test]
    fn message_texts_fill_their_arguments() {
        let text = text_with_args(
            "sms-code",
            &[("code", "12345678"), ("organisation", "Contoso")],
        );
        assert_eq!(text, "12345678 is your Contoso verification code.");
    }

    #[test]
    fn counts_take_plural_forms() {
        assert_eq!(
            text_with_count("code-attempts-left", 1),
            "You have 1 more try."
        );
        assert_eq!(
            text_with_count("code-attempts-left", 3),
            "You have 3 more tries."
        );
        let polish = |n: u32| {
            LOCALES.lookup_with_args(
                &fluent_templates::langid!("pl"),
                "code-attempts-left",
                &[(std::borrow::Cow::Borrowed("count"), n.into())]
                    .into_iter()
                    .collect::<std::collections::HashMap<
                        std::borrow::Cow<'static, str>,
                        fluent_templates::fluent_bundle::FluentValue<'_>,
                    >>(),
            )
        };
        assert_eq!(polish(3), "Pozostały 3 próby.");
        assert_eq!(polish(4), "Pozostały 4 próby.");
        assert_eq!(polish(1), "Pozostała 1 próba.");
    }
}
