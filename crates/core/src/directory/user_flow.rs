//! User flows: which sign-in methods an experience offers, what sign-up collects, whether MFA
//! is required, and which applications it serves. Every tenant has a default flow that serves
//! every application not attached to another.

use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;
use crate::ids::{ClientId, TenantId, UserFlowId};

/// First-factor methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignInMethod {
    /// Email and password.
    Password,
    /// Email one-time passcode (passwordless).
    EmailOtp,
    /// A passkey (passwordless; no username typed with a discoverable one).
    Passkey,
}

/// Second-factor methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MfaMethod {
    /// A code by email.
    EmailOtp,
    /// A code by text message.
    Sms,
    /// An authenticator app (RFC 6238).
    Totp,
    /// A passkey (any of the user's).
    Passkey,
}

impl MfaMethod {
    /// Stored and command-line name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EmailOtp => "email-otp",
            Self::Sms => "sms",
            Self::Totp => "totp",
            Self::Passkey => "passkey",
        }
    }
}

impl std::str::FromStr for MfaMethod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "email-otp" => Ok(Self::EmailOtp),
            "sms" => Ok(Self::Sms),
            "totp" => Ok(Self::Totp),
            "passkey" => Ok(Self::Passkey),
            other => Err(format!(
                "unknown MFA method {other:?} (use email-otp, sms, totp or passkey)"
            )),
        }
    }
}

/// Whether the flow asks for a second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum MfaPolicy {
    /// No second factor.
    #[default]
    Off,
    /// Every sign-in needs a second factor (enrolled just in time when missing).
    Required,
}

/// The type of an attribute's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributeType {
    /// Text.
    String,
    /// Whole number.
    Int,
    /// Yes or no.
    Bool,
}

/// How an attribute is asked for (Entra's input kinds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum InputKind {
    /// A text field.
    TextBox,
    /// One of several options.
    RadioSingleSelect,
    /// Any of several options.
    CheckboxMultiSelect,
    /// A single checkbox (bool).
    CheckboxSingleSelect,
    /// A number field (int).
    NumericTextBox,
}

/// Entra's built-in user attributes that sign-up can collect (all strings).
pub const BUILT_IN_ATTRIBUTES: [&str; 9] = [
    "displayName",
    "givenName",
    "surname",
    "city",
    "country",
    "postalCode",
    "state",
    "streetAddress",
    "jobTitle",
];

/// One attribute collected at sign-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeSpec {
    /// Attribute name: built-in, or a custom name.
    pub name: String,
    /// Value type.
    #[serde(rename = "type")]
    pub value_type: AttributeType,
    /// Input kind.
    pub input: InputKind,
    /// Must the customer fill it in?
    #[serde(default)]
    pub required: bool,
    /// A regular expression the whole value must match (string attributes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    /// Choices for select inputs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// Label shown on the page (default: the name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

impl AttributeSpec {
    /// Whether this is one of Entra's built-in attributes.
    pub fn is_built_in(&self) -> bool {
        BUILT_IN_ATTRIBUTES.contains(&self.name.as_str())
    }

    /// A spec from the CLI's `NAME[:TYPE][:required]` (built-ins default to string).
    pub fn parse_cli(text: &str) -> Result<Self, String> {
        let mut parts = text.split(':');
        let name = parts.next().unwrap_or_default().to_owned();
        let mut value_type = AttributeType::String;
        let mut required = false;
        for part in parts {
            match part {
                "string" => value_type = AttributeType::String,
                "int" => value_type = AttributeType::Int,
                "bool" => value_type = AttributeType::Bool,
                "required" => required = true,
                "optional" => required = false,
                other => {
                    return Err(format!(
                        "attribute {text:?}: unknown part {other:?} (use NAME[:string|int|bool][:required])"
                    ));
                }
            }
        }
        let input = match value_type {
            AttributeType::String => InputKind::TextBox,
            AttributeType::Int => InputKind::NumericTextBox,
            AttributeType::Bool => InputKind::CheckboxSingleSelect,
        };
        Ok(Self {
            name,
            value_type,
            input,
            required,
            regex: None,
            options: Vec::new(),
            label: None,
        })
    }

    fn validate(&self) -> Result<(), String> {
        let name_ok = self.is_built_in()
            || (self.name.len() <= 64
                && self
                    .name
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic())
                && self
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_'));
        if !name_ok {
            return Err(format!(
                "attribute name {:?} must be a built-in attribute or 1-64 letters, digits and _ starting with a letter",
                self.name
            ));
        }
        // A custom attribute becomes a claim of its own name in tokens (optional claims): it
        // must not pass for a claim apps trust, such as email_verified or roles.
        if !self.is_built_in() && super::application::is_reserved_claim(&self.name) {
            return Err(format!(
                "attribute name {:?} is a reserved claim name; choose another",
                self.name
            ));
        }
        if self.is_built_in() && self.value_type != AttributeType::String {
            return Err(format!("built-in attribute {} is a string", self.name));
        }
        let fits = matches!(
            (self.input, self.value_type),
            (
                InputKind::TextBox | InputKind::RadioSingleSelect | InputKind::CheckboxMultiSelect,
                AttributeType::String
            ) | (InputKind::NumericTextBox, AttributeType::Int)
                | (InputKind::CheckboxSingleSelect, AttributeType::Bool)
        );
        if !fits {
            return Err(format!(
                "attribute {}: input {:?} does not fit type {:?}",
                self.name, self.input, self.value_type
            ));
        }
        let selects = matches!(
            self.input,
            InputKind::RadioSingleSelect | InputKind::CheckboxMultiSelect
        );
        if selects && self.options.is_empty() {
            return Err(format!(
                "attribute {}: {:?} needs options",
                self.name, self.input
            ));
        }
        if !selects && !self.options.is_empty() {
            return Err(format!(
                "attribute {}: only select inputs take options",
                self.name
            ));
        }
        if let Some(pattern) = &self.regex {
            if self.value_type != AttributeType::String {
                return Err(format!(
                    "attribute {}: regex applies to strings only",
                    self.name
                ));
            }
            regex::Regex::new(pattern)
                .map_err(|e| format!("attribute {}: invalid regex: {e}", self.name))?;
        }
        Ok(())
    }
}

/// A user flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserFlow {
    /// Id.
    pub id: UserFlowId,
    /// Tenant.
    pub tenant_id: TenantId,
    /// Name, unique in the tenant.
    pub name: String,
    /// What the flow offers and asks for.
    pub config: UserFlowConfig,
    /// The tenant's default flow serves every app not attached elsewhere.
    pub is_default: bool,
    /// Applications attached to this flow.
    pub apps: Vec<ClientId>,
    /// Creation time.
    pub created_at: UnixTime,
}

/// What an operator supplies to create a flow.
#[derive(Debug, Clone, Default)]
pub struct NewUserFlow {
    /// Name.
    pub name: String,
    /// What the flow offers and asks for.
    pub config: UserFlowConfig,
    /// Apps to attach (moved from their current flow).
    pub apps: Vec<ClientId>,
}

impl UserFlow {
    /// The flow every tenant starts with: password and email OTP, sign-up on, MFA off.
    pub fn default_for(tenant: TenantId, now: UnixTime) -> Self {
        Self {
            // The default flow shares the tenant's id (migration 0003 does the same).
            id: UserFlowId(tenant.0),
            tenant_id: tenant,
            name: "default".to_owned(),
            config: UserFlowConfig::default(),
            is_default: true,
            apps: Vec::new(),
            created_at: now,
        }
    }

    /// Checks a new flow's rules.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.name.is_empty()
            || self.name.len() > 64
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err("flow name must be 1-64 letters, digits, - or _".into());
        }
        let config = &self.config;
        if config.methods.is_empty() {
            return Err("a flow needs at least one sign-in method".into());
        }
        if config.mfa == MfaPolicy::Required && config.mfa_methods.is_empty() {
            return Err("MFA is required but no MFA method is offered".into());
        }
        // A sign-up proves the address and makes the account; a passkey is made afterwards
        // (on the security page). With passkeys the flow's only method, the new account could
        // not sign in again until it had one: such a flow takes no sign-ups.
        if config.sign_up
            && !config
                .methods
                .iter()
                .any(|m| matches!(m, SignInMethod::Password | SignInMethod::EmailOtp))
        {
            return Err(
                "a flow whose only method is the passkey cannot take sign-ups (add --sign-up off, or password or email-otp)"
                    .into(),
            );
        }
        let mut names: Vec<&str> = config.attributes.iter().map(|a| a.name.as_str()).collect();
        names.sort_unstable();
        if names.windows(2).any(|w| w.first() == w.get(1)) {
            return Err("an attribute is listed twice".into());
        }
        config
            .attributes
            .iter()
            .try_for_each(AttributeSpec::validate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow() -> UserFlow {
        UserFlow::default_for(TenantId::new_random(), 0)
    }

    #[test]
    fn the_default_flow_is_valid() {
        assert!(flow().validate().is_ok());
    }

    #[test]
    fn custom_attributes_cannot_shadow_reserved_claims() {
        for name in [
            "email_verified",
            "groups",
            "roles",
            "scp",
            "upn",
            "idp",
            "acr",
            "amr",
            "nonce",
            "sid",
            "sub",
            "Email_Verified",
        ] {
            let mut f = flow();
            f.config.attributes = vec![AttributeSpec::parse_cli(name).unwrap()];
            assert!(f.validate().is_err(), "{name}");
        }
        let mut f = flow();
        f.config.attributes = vec![AttributeSpec::parse_cli("loyalty_tier").unwrap()];
        assert!(f.validate().is_ok());
    }

    #[test]
    fn cli_attributes_parse() {
        let a = AttributeSpec::parse_cli("loyaltyNumber:int:required").unwrap();
        assert_eq!(
            (a.value_type, a.input, a.required),
            (AttributeType::Int, InputKind::NumericTextBox, true)
        );
        let b = AttributeSpec::parse_cli("city").unwrap();
        assert!(b.is_built_in() && !b.required);
        assert!(AttributeSpec::parse_cli("x:float").is_err());
    }

    #[test]
    fn invalid_flows_are_refused() {
        let mut f = flow();
        f.config.methods.clear();
        assert!(f.validate().is_err());
        let mut f = flow();
        f.config.mfa = MfaPolicy::Required;
        f.config.mfa_methods.clear();
        assert!(f.validate().is_err());
        // Passkeys alone take no sign-ups (the new account could not sign in again).
        let mut f = flow();
        f.config.methods = vec![SignInMethod::Passkey];
        f.config.sign_up = true;
        assert!(f.validate().is_err());
        f.config.sign_up = false;
        assert!(f.validate().is_ok());
        for bad in [
            AttributeSpec {
                regex: Some("(".into()),
                ..AttributeSpec::parse_cli("code").unwrap()
            },
            AttributeSpec {
                input: InputKind::RadioSingleSelect,
                ..AttributeSpec::parse_cli("pick").unwrap()
            },
            AttributeSpec::parse_cli("city:int").unwrap(),
            AttributeSpec::parse_cli("9lives").unwrap(),
            AttributeSpec {
                input: InputKind::NumericTextBox,
                ..AttributeSpec::parse_cli("n").unwrap()
            },
        ] {
            let mut f = flow();
            f.config.attributes = vec![bad.clone()];
            assert!(f.validate().is_err(), "{bad:?}");
        }
        let mut f = flow();
        f.config.attributes = vec![
            AttributeSpec::parse_cli("city").unwrap(),
            AttributeSpec::parse_cli("city").unwrap(),
        ];
        assert!(f.validate().is_err(), "duplicate");
    }
}

/// What a flow offers and asks for (everything but identity and attachments); stored as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserFlowConfig {
    /// First-factor methods.
    pub methods: Vec<SignInMethod>,
    /// Sign-up on or off.
    pub sign_up: bool,
    /// Attributes.
    pub attributes: Vec<AttributeSpec>,
    /// MFA policy.
    pub mfa: MfaPolicy,
    /// Second factors.
    pub mfa_methods: Vec<MfaMethod>,
    /// After a sign-in or sign-up on the hosted pages, offer someone without a passkey to
    /// make one ("faster sign-in next time"; skippable).
    #[serde(default)]
    pub offer_passkey: bool,
}

impl Default for UserFlowConfig {
    /// What every tenant's default flow offers: password and email OTP, sign-up, no MFA.
    fn default() -> Self {
        Self {
            methods: vec![SignInMethod::Password, SignInMethod::EmailOtp],
            sign_up: true,
            attributes: Vec::new(),
            mfa: MfaPolicy::Off,
            mfa_methods: vec![MfaMethod::EmailOtp],
            offer_passkey: false,
        }
    }
}
