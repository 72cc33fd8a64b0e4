//! What an application exposes as an API: delegated scopes (what a client may do on behalf
//! of a signed-in person) and app roles (what a user or a client app is allowed to be), as
//! Entra's "Expose an API" and "App roles" pages define them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::CoreError;
use crate::ids::ClientId;

/// The most scopes, and the most roles, one API may define (Entra's limits are of the same
/// order; a bound keeps every token request's work small).
pub const MAX_API_ITEMS: usize = 100;

/// An application's API: its delegated scopes and app roles. Empty for apps that expose
/// nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExposedApi {
    /// Delegated scopes (`scp`).
    #[serde(default)]
    pub scopes: Vec<ApiScope>,
    /// App roles (`roles`).
    #[serde(default)]
    pub roles: Vec<AppRole>,
    /// Who may exchange which tokens for tokens to this API (RFC 8693); nobody by default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub token_exchange: Vec<ExchangeRule>,
}

/// One client allowed to exchange users' tokens for this API (RFC 8693 token exchange).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeRule {
    /// The client that may exchange.
    pub client_id: ClientId,
    /// The subject tokens it may bring: users' access tokens for this app.
    pub subject_audience: ClientId,
    /// It may also impersonate (a token without `act`, as if the user asked); otherwise it
    /// must present its own token as the actor (delegation: the token names it in `act`).
    #[serde(default)]
    pub impersonation: bool,
}

impl FromStr for ExchangeRule {
    type Err = String;
    /// `CLIENT_ID:SUBJECT_AUDIENCE[:delegation|impersonation]`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut parts = text.split(':');
        let usage =
            || format!("{text:?} is not CLIENT_ID:SUBJECT_AUDIENCE[:delegation|impersonation]");
        let client_id = parts
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(usage)?;
        let subject_audience = parts
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(usage)?;
        let impersonation = match parts.next() {
            None | Some("delegation") => false,
            Some("impersonation") => true,
            Some(_) => return Err(usage()),
        };
        if parts.next().is_some() {
            return Err(usage());
        }
        Ok(Self {
            client_id,
            subject_audience,
            impersonation,
        })
    }
}

/// A delegated scope of an API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiScope {
    /// The value in `scp` and in a requested scope (`{identifier URI}/{name}`).
    pub name: String,
    /// What an administrator consenting for the whole tenant is shown.
    pub admin_consent_description: String,
    /// What a person consenting for themselves is shown.
    pub user_consent_description: String,
    /// Who may consent to it (Entra's "Who can consent?"). Scopes stored before users could
    /// consent read as administrators only, which is what they were.
    #[serde(default = "ScopeConsent::admins")]
    pub consent: ScopeConsent,
}

/// Who may consent to a delegated scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScopeConsent {
    /// Each user for themselves, on the consent page (or an administrator for everyone).
    Users,
    /// Only an administrator, for the whole tenant (`app grant`).
    Admins,
}

impl ScopeConsent {
    fn admins() -> Self {
        Self::Admins
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Users => "users",
            Self::Admins => "admins",
        }
    }
}

impl FromStr for ScopeConsent {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "users" => Ok(Self::Users),
            "admins" => Ok(Self::Admins),
            other => Err(format!("{other:?} is not users or admins")),
        }
    }
}

/// An app role of an API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppRole {
    /// The value in `roles`.
    pub name: String,
    /// Who may hold it.
    pub allowed: RoleMembers,
    /// What it allows, for operators.
    #[serde(default)]
    pub description: String,
}

/// Who may be given an app role (Entra's `allowedMemberTypes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RoleMembers {
    /// Users (delegated tokens).
    Users,
    /// Client applications (app-only tokens).
    Apps,
    /// Both.
    Both,
}

impl RoleMembers {
    /// Users may hold the role.
    pub fn users(self) -> bool {
        matches!(self, Self::Users | Self::Both)
    }

    /// Client applications may hold the role.
    pub fn apps(self) -> bool {
        matches!(self, Self::Apps | Self::Both)
    }

    /// The CLI and stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Users => "users",
            Self::Apps => "apps",
            Self::Both => "both",
        }
    }
}

impl fmt::Display for RoleMembers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RoleMembers {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "users" => Ok(Self::Users),
            "apps" => Ok(Self::Apps),
            "both" => Ok(Self::Both),
            other => Err(format!(
                "unknown role members {other:?} (expected users, apps or both)"
            )),
        }
    }
}

impl ExposedApi {
    /// Whether the app exposes anything.
    pub fn is_empty(&self) -> bool {
        self.scopes.is_empty() && self.roles.is_empty()
    }

    /// The scope named `name`.
    pub fn scope(&self, name: &str) -> Option<&ApiScope> {
        self.scopes.iter().find(|s| s.name == name)
    }

    /// Whether a user may consent to the scope named `name` for themselves.
    pub fn user_consentable(&self, name: &str) -> bool {
        self.scope(name)
            .is_some_and(|s| s.consent == ScopeConsent::Users)
    }

    /// The role named `name`.
    pub fn role(&self, name: &str) -> Option<&AppRole> {
        self.roles.iter().find(|r| r.name == name)
    }

    /// The rule that lets `client` exchange tokens for `subject_audience` for this API.
    pub fn exchange_rule(&self, client: ClientId, subject_audience: &str) -> Option<&ExchangeRule> {
        self.token_exchange
            .iter()
            .find(|r| r.client_id == client && r.subject_audience.to_string() == subject_audience)
    }

    /// The API as an operator may store it: names well formed and unique, texts bounded.
    pub fn checked(self) -> Result<Self, CoreError> {
        if self.scopes.len() > MAX_API_ITEMS
            || self.roles.len() > MAX_API_ITEMS
            || self.token_exchange.len() > MAX_API_ITEMS
        {
            return Err(CoreError::Invalid(format!(
                "an API has at most {MAX_API_ITEMS} scopes and {MAX_API_ITEMS} roles"
            )));
        }
        let mut seen = std::collections::HashSet::new();
        for scope in &self.scopes {
            validate_name("scope", &scope.name)?;
            // Those names mean the OpenID Connect scopes wherever they appear (userinfo reads
            // `scp`): an API may not take them.
            if crate::oauth::OIDC_SCOPES.contains(&scope.name.as_str()) {
                return Err(CoreError::Invalid(format!(
                    "scope name {:?} is reserved for OpenID Connect",
                    scope.name
                )));
            }
            validate_text(&scope.admin_consent_description)?;
            validate_text(&scope.user_consent_description)?;
            if !seen.insert(scope.name.as_str()) {
                return Err(CoreError::Invalid(format!(
                    "scope {:?} is listed twice",
                    scope.name
                )));
            }
        }
        seen.clear();
        for role in &self.roles {
            validate_name("app role", &role.name)?;
            validate_text(&role.description)?;
            if !seen.insert(role.name.as_str()) {
                return Err(CoreError::Invalid(format!(
                    "app role {:?} is listed twice",
                    role.name
                )));
            }
        }
        Ok(self)
    }
}

impl ApiScope {
    /// A scope users may consent to, whose consent texts are `text`, or a plain default
    /// naming the scope.
    pub fn new(name: &str, text: Option<&str>) -> Self {
        let text = text
            .map(str::to_owned)
            .unwrap_or_else(|| format!("Use this API on your behalf ({name})"));
        Self {
            name: name.to_owned(),
            admin_consent_description: text.clone(),
            user_consent_description: text,
            consent: ScopeConsent::Users,
        }
    }
}

/// A scope or role name: 1 to 120 of `A-Z a-z 0-9 . _ -`, not starting with a dot (so
/// `.default` stays the one special value), as they travel inside scope strings and tokens.
fn validate_name(what: &str, name: &str) -> Result<(), CoreError> {
    let well_formed = (1..=120).contains(&name.len())
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if well_formed {
        Ok(())
    } else {
        Err(CoreError::Invalid(format!(
            "{what} name {name:?} must be 1-120 characters of A-Z, a-z, 0-9, '.', '_' and '-', not starting with '.'"
        )))
    }
}

/// A consent text or description: at most 500 characters, no control characters (it is
/// shown on pages and in listings).
fn validate_text(text: &str) -> Result<(), CoreError> {
    if text.chars().count() > 500 || text.chars().any(char::is_control) {
        return Err(CoreError::Invalid(
            "consent texts and descriptions are at most 500 characters, without control characters"
                .into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_stored_before_user_consent_are_for_administrators() {
        let stored = r#"{"scopes":[{"name":"Orders.Read","admin_consent_description":"a","user_consent_description":"u"}]}"#;
        let api: ExposedApi = serde_json::from_str(stored).unwrap();
        assert_eq!(api.scopes[0].consent, ScopeConsent::Admins);
        assert!(!api.user_consentable("Orders.Read"));
        assert!(ApiScope::new("x", None).consent == ScopeConsent::Users);
    }

    fn role(name: &str) -> AppRole {
        AppRole {
            name: name.into(),
            allowed: RoleMembers::Both,
            description: String::new(),
        }
    }

    #[test]
    fn names_are_checked_and_unique() {
        let ok = ExposedApi {
            scopes: vec![ApiScope::new("Orders.Read", None)],
            roles: vec![role("Orders.Admin")],
            token_exchange: Vec::new(),
        };
        assert!(ok.clone().checked().is_ok());
        for bad in [".default", "", "a b", "x/y", "ü"] {
            let api = ExposedApi {
                scopes: vec![ApiScope::new(bad, None)],
                roles: vec![],
                token_exchange: Vec::new(),
            };
            assert!(api.checked().is_err(), "{bad:?}");
        }
        let twice = ExposedApi {
            scopes: vec![],
            roles: vec![role("A"), role("A")],
            token_exchange: Vec::new(),
        };
        assert!(twice.checked().is_err());
        let control = ExposedApi {
            scopes: vec![ApiScope::new("read", Some("line\nbreak"))],
            roles: vec![],
            token_exchange: Vec::new(),
        };
        assert!(control.checked().is_err());
    }

    #[test]
    fn exchange_rules_parse_from_the_command_line() {
        let client = ClientId::new_random();
        let subject = ClientId::new_random();
        let rule: ExchangeRule = format!("{client}:{subject}").parse().unwrap();
        assert_eq!((rule.client_id, rule.subject_audience), (client, subject));
        assert!(!rule.impersonation, "delegation unless said");
        let rule: ExchangeRule = format!("{client}:{subject}:impersonation").parse().unwrap();
        assert!(rule.impersonation);
        for bad in [
            format!("{client}"),
            format!("{client}:{subject}:always"),
            format!("{client}:x"),
            format!("{client}:{subject}:delegation:more"),
        ] {
            assert!(bad.parse::<ExchangeRule>().is_err(), "{bad}");
        }
    }

    #[test]
    fn members_parse_and_say_who_may_hold_a_role() {
        assert!("users".parse::<RoleMembers>().unwrap().users());
        assert!(!"users".parse::<RoleMembers>().unwrap().apps());
        assert!("both".parse::<RoleMembers>().unwrap().apps());
        assert!("groups".parse::<RoleMembers>().is_err());
    }
}
