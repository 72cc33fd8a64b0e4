use crate::clock::UnixTime;
use crate::ids::{TenantId, UserId};

/// A normalised email address: trimmed, lower-cased, one `@` with text on both sides.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Parses and normalises an address.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim().to_lowercase();
        let valid = text.len() <= 254
            && !text.chars().any(|c| c.is_whitespace() || c.is_control())
            && matches!(text.split_once('@'), Some((local, domain))
                if !local.is_empty() && local.len() <= 64 && !domain.is_empty()
                    && !domain.contains('@') && !domain.starts_with('.') && !domain.ends_with('.'));
        if valid {
            Ok(Self(text))
        } else {
            Err("invalid email address".to_owned())
        }
    }

    /// The normalised text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A customer account.
#[derive(Debug, Clone)]
pub struct User {
    /// Object id (`oid`).
    pub id: UserId,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Sign-in email (normalised).
    pub email: String,
    /// Display name (`name` claim).
    pub display_name: Option<String>,
    /// argon2id PHC string, if the user has a password.
    pub password_hash: Option<String>,
    /// The password is still in a legacy store: the first sign-in checks it through a
    /// password-submit extension and keeps its hash here (just-in-time migration).
    pub password_in_legacy_store: bool,
    /// Disabled users cannot sign in.
    pub enabled: bool,
    /// Attributes collected at sign-up (built-in and custom), by name.
    pub attributes: std::collections::BTreeMap<String, serde_json::Value>,
    /// Creation time.
    pub created_at: UnixTime,
}

/// What an operator supplies to create a user.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Sign-in email.
    pub email: String,
    /// Optional initial password.
    pub password: Option<String>,
    /// Optional display name.
    pub display_name: Option<String>,
    /// The password is in a legacy store, checked at the first sign-in by a password-submit
    /// extension (no `password` then).
    pub legacy_password: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_normalise_and_reject_junk() {
        assert_eq!(
            Email::parse(" Alice@Example.COM ").unwrap().as_str(),
            "alice@example.com"
        );
        for bad in ["", "alice", "@x", "a@", "a b@x", "a@b@c", "a@.x"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::Email;

    proptest! {
        /// Normalisation is idempotent and never yields whitespace or a missing `@`.
        #[test]
        fn email_parse_is_idempotent(input in ".{0,300}") {
            if let Ok(email) = Email::parse(&input) {
                prop_assert_eq!(Email::parse(email.as_str()).ok(), Some(email.clone()));
                prop_assert!(email.as_str().contains('@'));
                prop_assert!(!email.as_str().chars().any(char::is_whitespace));
            }
        }
    }
}
