use super::OAuthError;

/// A parsed scope parameter: distinct tokens in request order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope(Vec<String>);

/// The most tokens a scope may hold: a bound on the work one request causes (real requests hold
/// a handful).
pub const MAX_SCOPE_TOKENS: usize = 100;

/// The OpenID Connect scopes every app may ask for.
pub const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// Whether a byte may appear in a scope value (RFC 6749 §3.3: `%x21 / %x23-5B / %x5D-7E`).
pub fn is_scope_byte(b: u8) -> bool {
    b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b)
}

impl Scope {
    /// Parses a space-separated scope string (RFC 6749 §3.3 characters only), in linear time,
    /// with at most [`MAX_SCOPE_TOKENS`] distinct tokens.
    pub fn parse(text: &str) -> Result<Self, OAuthError> {
        let mut tokens: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for token in text.split(' ').filter(|t| !t.is_empty()) {
            let valid = token.len() <= 512 && token.bytes().all(is_scope_byte);
            if !valid {
                return Err(OAuthError::new(
                    super::OAuthErrorCode::InvalidScope,
                    "scope contains invalid characters",
                ));
            }
            if seen.insert(token) {
                if tokens.len() == MAX_SCOPE_TOKENS {
                    return Err(OAuthError::new(
                        super::OAuthErrorCode::InvalidScope,
                        format!("scope holds more than {MAX_SCOPE_TOKENS} values"),
                    ));
                }
                tokens.push(token.to_owned());
            }
        }
        Ok(Self(tokens))
    }

    /// This scope with `token` added at the end (if it is not there yet).
    pub fn with(mut self, token: &str) -> Self {
        if !self.contains(token) {
            self.0.push(token.to_owned());
        }
        self
    }

    /// This scope without the tokens in `tokens`.
    pub fn without(&self, tokens: &[&str]) -> Self {
        Self(
            self.0
                .iter()
                .filter(|t| !tokens.contains(&t.as_str()))
                .cloned()
                .collect(),
        )
    }

    /// Whether a scope token is present.
    pub fn contains(&self, token: &str) -> bool {
        self.0.iter().any(|t| t == token)
    }

    /// No tokens.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The tokens.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// Whether every token of `self` is in `other`.
    pub fn is_subset_of(&self, other: &Scope) -> bool {
        self.iter().all(|t| other.contains(t))
    }

    /// Space-separated form.
    pub fn to_wire(&self) -> String {
        self.0.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dedupes_and_rejects_bad_characters() {
        let scope = Scope::parse("openid  profile openid email").unwrap();
        assert_eq!(scope.to_wire(), "openid profile email");
        assert!(scope.contains("profile"));
        assert!(Scope::parse("open\"id").is_err());
        assert!(Scope::parse("a\\b").is_err());
        assert!(Scope::parse("").unwrap().is_empty());
        assert!(Scope::parse("openid").unwrap().is_subset_of(&scope));
        assert_eq!(
            scope.with("offline_access").to_wire(),
            "openid profile email offline_access"
        );
    }

    #[test]
    fn a_scope_with_too_many_values_is_refused() {
        let many: Vec<String> = (0..=MAX_SCOPE_TOKENS).map(|i| format!("s{i}")).collect();
        assert!(Scope::parse(&many[..MAX_SCOPE_TOKENS].join(" ")).is_ok());
        assert!(Scope::parse(&many.join(" ")).is_err());
        // Repeats do not count: they collapse into one value.
        assert!(Scope::parse(&"openid ".repeat(10_000)).is_ok());
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::Scope;

    proptest! {
        /// Any input either fails cleanly or parses to tokens that re-parse to themselves.
        #[test]
        fn parse_never_panics_and_round_trips(input in ".{0,300}") {
            if let Ok(scope) = Scope::parse(&input) {
                let wire = scope.to_wire();
                prop_assert_eq!(Scope::parse(&wire).ok(), Some(scope.clone()));
                prop_assert!(scope.iter().all(|t| !t.is_empty() && !t.contains(' ')));
            }
        }
    }
}
