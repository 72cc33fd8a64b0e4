//! Reading form bodies and query strings: content type checked, each parameter at most once,
//! empty values treated as absent (RFC 6749 §3.1).

use axum::http::{HeaderMap, header};

/// Parsed `application/x-www-form-urlencoded` parameters.
#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Parses a query string or form body.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes)
            .map(Self)
            .map_err(|_| "the request parameters are not valid form encoding".to_owned())
    }

    /// Parses a POST body, insisting on the form content type.
    pub fn from_form(headers: &HeaderMap, body: &[u8]) -> Result<Self, String> {
        let is_form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                v.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !is_form {
            return Err("the request body must be application/x-www-form-urlencoded".to_owned());
        }
        Self::parse(body)
    }

    /// The single value of `name`, if present and non-empty; an error if it appears twice.
    pub fn get(&self, name: &str) -> Result<Option<String>, String> {
        let mut values = self.0.iter().filter(|(k, _)| k == name);
        let first = values.next();
        if values.next().is_some() {
            return Err(format!("parameter {name} must not be repeated"));
        }
        Ok(first.map(|(_, v)| v.clone()).filter(|v| !v.is_empty()))
    }

    /// Every value of the parameters whose names start with `prefix`, grouped by the rest of
    /// the name (repeats joined with commas: checkbox groups), in first-seen order.
    pub fn grouped(&self, prefix: &str) -> Vec<(String, String)> {
        let mut groups: Vec<(String, String)> = Vec::new();
        for (name, value) in &self.0 {
            let Some(rest) = name.strip_prefix(prefix) else {
                continue;
            };
            match groups.iter_mut().find(|(n, _)| n == rest) {
                Some((_, joined)) if !value.is_empty() => {
                    if !joined.is_empty() {
                        joined.push(',');
                    }
                    joined.push_str(value);
                }
                Some(_) => {}
                None => groups.push((rest.to_owned(), value.clone())),
            }
        }
        groups
    }

    /// Whether a flag parameter is set to a true value.
    pub fn flag(&self, name: &str) -> Result<bool, String> {
        Ok(matches!(
            self.get(name)?.as_deref(),
            Some("1" | "true" | "on" | "yes")
        ))
    }
}

#[cfg(test)]
mod properties {
    #![allow(clippy::unwrap_used)]
    use proptest::prelude::*;

    use super::Params;

    proptest! {
        /// Arbitrary bytes parse or fail cleanly; encoded pairs come back exactly, and a repeated
        /// name is always an error.
        #[test]
        fn parse_is_total_and_faithful(bytes in proptest::collection::vec(any::<u8>(), 0..512),
                                       name in "[a-z_]{1,12}", value in ".{1,40}") {
            let _ = Params::parse(&bytes);
            let encoded = serde_urlencoded::to_string([(&name, &value)]).unwrap();
            let parsed = Params::parse(encoded.as_bytes()).unwrap();
            prop_assert_eq!(parsed.get(&name).unwrap(), Some(value.clone()));
            let twice = format!("{encoded}&{encoded}");
            prop_assert!(Params::parse(twice.as_bytes()).unwrap().get(&name).is_err());
        }
    }
}
