//! A tenant's passkey policy: who the relying party is, which origins may use it, and what an
//! authenticator must do and be.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::CoreError;

/// Whether the authenticator must verify the person (PIN, biometrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserVerification {
    /// Always (the default): a passkey is then two factors in one.
    #[default]
    Required,
    /// When the authenticator can; a passkey used without it is one factor.
    Preferred,
}

/// What the relying party asks to know of the authenticator at registration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Attestation {
    /// Nothing (the default; most passkeys attest nothing).
    #[default]
    None,
    /// The authenticator's attestation statement, checked, and its model (AAGUID) held to
    /// the allow- and deny-lists.
    Direct,
}

/// A signature algorithm a passkey may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PasskeyAlgorithm {
    /// ECDSA P-256 with SHA-256 (COSE -7).
    #[serde(rename = "ES256")]
    Es256,
    /// Ed25519 (COSE -8).
    #[serde(rename = "EdDSA")]
    EdDsa,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (COSE -257).
    #[serde(rename = "RS256")]
    Rs256,
}

impl std::str::FromStr for PasskeyAlgorithm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ES256" => Ok(Self::Es256),
            "EdDSA" => Ok(Self::EdDsa),
            "RS256" => Ok(Self::Rs256),
            other => Err(format!(
                "unknown passkey algorithm {other:?} (ES256, EdDSA, RS256)"
            )),
        }
    }
}

/// What a signature counter that does not go up means (a sign of a cloned authenticator).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CounterRegression {
    /// The sign-in is refused (the default).
    #[default]
    Refuse,
    /// The sign-in goes on; the event is logged.
    Log,
}

fn default_algorithms() -> Vec<PasskeyAlgorithm> {
    vec![
        PasskeyAlgorithm::Es256,
        PasskeyAlgorithm::EdDsa,
        PasskeyAlgorithm::Rs256,
    ]
}

fn is_default_algorithms(algorithms: &[PasskeyAlgorithm]) -> bool {
    algorithms == default_algorithms()
}

/// A tenant's passkey policy (part of its settings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyPolicy {
    /// The relying-party id (`None`: the public URL's host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rp_id: Option<String>,
    /// Origins whose pages may use the passkeys (empty: the public URL's origin).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub origins: Vec<String>,
    /// Whether the authenticator must verify the person.
    #[serde(default)]
    pub user_verification: UserVerification,
    /// Attestation asked at registration.
    #[serde(default)]
    pub attestation: Attestation,
    /// Only these authenticator models may register (with direct attestation).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aaguid_allow: Vec<Uuid>,
    /// These authenticator models may not register (with direct attestation).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aaguid_deny: Vec<Uuid>,
    /// Signature algorithms offered, in order of preference.
    #[serde(
        default = "default_algorithms",
        skip_serializing_if = "is_default_algorithms"
    )]
    pub algorithms: Vec<PasskeyAlgorithm>,
    /// What a counter that goes backwards does.
    #[serde(default)]
    pub counter_regression: CounterRegression,
}

impl Default for PasskeyPolicy {
    fn default() -> Self {
        Self {
            rp_id: None,
            origins: Vec::new(),
            user_verification: UserVerification::default(),
            attestation: Attestation::default(),
            aaguid_allow: Vec::new(),
            aaguid_deny: Vec::new(),
            algorithms: default_algorithms(),
            counter_regression: CounterRegression::default(),
        }
    }
}

/// Whether `rp_id` may serve pages at `host`: the same name, or a parent domain of it
/// (WebAuthn's "registrable domain suffix", short of a public suffix, which the browser
/// enforces in its turn).
pub fn rp_id_covers(rp_id: &str, host: &str) -> bool {
    host == rp_id
        || host
            .strip_suffix(rp_id)
            .is_some_and(|rest| rest.ends_with('.') && rp_id.contains('.'))
}

/// Whether `origin` may host WebAuthn: `https`, or `http` to localhost (browsers treat it as
/// a secure context).
fn origin_allowed(origin: &url::Url) -> bool {
    match origin.scheme() {
        "https" => true,
        "http" => origin.host_str() == Some("localhost"),
        _ => false,
    }
}

impl PasskeyPolicy {
    /// The relying-party id and allowed origins for a server at `public_url`.
    pub fn relying_party(&self, public_url: &str) -> Result<(String, Vec<url::Url>), CoreError> {
        let public = url::Url::parse(public_url)
            .map_err(|e| CoreError::Internal(format!("public URL: {e}")))?;
        let origins = if self.origins.is_empty() {
            vec![public.clone()]
        } else {
            self.origins
                .iter()
                .map(|o| url::Url::parse(o))
                .collect::<Result<_, _>>()
                .map_err(|e| CoreError::Internal(format!("passkey origin: {e}")))?
        };
        let rp_id = match &self.rp_id {
            Some(id) => id.clone(),
            None => public
                .host_str()
                .ok_or_else(|| CoreError::Internal("the public URL has no host".into()))?
                .to_owned(),
        };
        Ok((rp_id, origins))
    }

    /// Checks and normalises the policy for a server at `public_url`.
    pub fn validated(mut self, public_url: &str) -> Result<Self, CoreError> {
        if let Some(id) = &self.rp_id {
            let id = id.trim().trim_end_matches('.').to_ascii_lowercase();
            if id.is_empty() || id.contains(['/', ':', ' ']) {
                return Err(CoreError::Invalid(
                    "the relying-party id is a host name, like example.com".into(),
                ));
            }
            self.rp_id = Some(id);
        }
        let mut origins = Vec::new();
        for origin in &self.origins {
            let parsed = url::Url::parse(origin.trim())
                .ok()
                .filter(|u| origin_allowed(u) && u.host_str().is_some())
                .ok_or_else(|| {
                    CoreError::Invalid(format!(
                        "{origin:?} is not an https origin (or http://localhost)"
                    ))
                })?;
            origins.push(parsed.origin().ascii_serialization());
        }
        origins.sort();
        origins.dedup();
        self.origins = origins;
        let (rp_id, origins) = self.relying_party(public_url)?;
        for origin in &origins {
            let host = origin.host_str().unwrap_or_default();
            if !rp_id_covers(&rp_id, host) {
                return Err(CoreError::Invalid(format!(
                    "the relying-party id {rp_id:?} does not cover the origin {}",
                    origin.origin().ascii_serialization()
                )));
            }
        }
        if (!self.aaguid_allow.is_empty() || !self.aaguid_deny.is_empty())
            && self.attestation != Attestation::Direct
        {
            return Err(CoreError::Invalid(
                "AAGUID lists need direct attestation (--attestation direct)".into(),
            ));
        }
        if self.algorithms.is_empty() {
            return Err(CoreError::Invalid(
                "name at least one passkey algorithm".into(),
            ));
        }
        self.algorithms.dedup();
        self.aaguid_allow.sort();
        self.aaguid_allow.dedup();
        self.aaguid_deny.sort();
        self.aaguid_deny.dedup();
        Ok(self)
    }

    /// Whether an authenticator of model `aaguid` may register.
    pub fn admits(&self, aaguid: Option<Uuid>) -> bool {
        if self.attestation == Attestation::None {
            return true;
        }
        let model = aaguid.unwrap_or(Uuid::nil());
        (self.aaguid_allow.is_empty() || self.aaguid_allow.contains(&model))
            && !self.aaguid_deny.contains(&model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUBLIC: &str = "https://login.example.com";

    #[test]
    fn the_default_relying_party_is_the_public_url() {
        let (id, origins) = PasskeyPolicy::default().relying_party(PUBLIC).unwrap();
        assert_eq!(id, "login.example.com");
        assert_eq!(origins[0].as_str(), "https://login.example.com/");
    }

    #[test]
    fn a_parent_domain_may_be_the_relying_party_but_not_another_one() {
        let parent = PasskeyPolicy {
            rp_id: Some("Example.com".into()),
            origins: vec![
                "https://login.example.com".into(),
                "https://app.example.com/x".into(),
            ],
            ..PasskeyPolicy::default()
        }
        .validated(PUBLIC)
        .unwrap();
        assert_eq!(parent.rp_id.as_deref(), Some("example.com"));
        assert_eq!(
            parent.origins,
            ["https://app.example.com", "https://login.example.com"]
        );
        for (rp_id, origin) in [
            ("other.com", "https://login.example.com"),
            ("ample.com", "https://login.example.com"),
            ("com", "https://example.com"),
            ("example.com", "http://login.example.com"),
        ] {
            let policy = PasskeyPolicy {
                rp_id: Some(rp_id.into()),
                origins: vec![origin.into()],
                ..PasskeyPolicy::default()
            };
            assert!(policy.validated(PUBLIC).is_err(), "{rp_id} {origin}");
        }
    }

    #[test]
    fn aaguid_lists_need_direct_attestation_and_hold_to_it() {
        let model = Uuid::new_v4();
        let listed = PasskeyPolicy {
            aaguid_allow: vec![model],
            ..PasskeyPolicy::default()
        };
        assert!(listed.clone().validated(PUBLIC).is_err());
        let direct = PasskeyPolicy {
            attestation: Attestation::Direct,
            ..listed
        }
        .validated(PUBLIC)
        .unwrap();
        assert!(direct.admits(Some(model)));
        assert!(!direct.admits(Some(Uuid::new_v4())));
        assert!(!direct.admits(None));
        let denied = PasskeyPolicy {
            attestation: Attestation::Direct,
            aaguid_deny: vec![model],
            ..PasskeyPolicy::default()
        };
        assert!(!denied.admits(Some(model)));
        assert!(denied.admits(None));
    }

    #[test]
    fn settings_without_a_policy_read_as_the_default() {
        let read: PasskeyPolicy = serde_json::from_str("{}").unwrap();
        assert_eq!(read, PasskeyPolicy::default());
        let again: PasskeyPolicy =
            serde_json::from_str(&serde_json::to_string(&read).unwrap()).unwrap();
        assert_eq!(again, read);
    }
}
