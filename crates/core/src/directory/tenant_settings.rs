//! Settings an operator sets per tenant: where texts may go, how long tokens last, and
//! whether apps may register themselves (RFC 7591).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::TenantRef;
use crate::ids::TenantId;
use crate::{CoreError, Portico};

/// The longest absolute refresh-token lifetime an operator may set, in days.
pub const MAX_REFRESH_TOKEN_DAYS: u32 = 365;

/// Per-tenant settings. Absent values take the server's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSettings {
    /// Country calling codes texts may go to (`+1`, `+44`, …); empty: anywhere. Against SMS
    /// pumping to premium-rate ranges abroad: numbers elsewhere cannot be registered, and
    /// registered ones are not texted.
    #[serde(default)]
    pub sms_countries: Vec<String>,
    /// How long a refresh token family lives from its sign-in, however often it is used, in
    /// days (`None`: the server's default, 90). Single-page apps keep their 24 hours.
    #[serde(default)]
    pub refresh_token_max_days: Option<u32>,
    /// Lifetime of the tenant's access tokens in seconds (`None`: the server's); an app that
    /// sets its own (the client's or the API's) keeps it.
    #[serde(default)]
    pub access_token_lifetime_secs: Option<i64>,
    /// Dynamic client registration (RFC 7591/7592): apps holding an initial access token
    /// may register themselves. Off unless an operator turns it on.
    #[serde(default)]
    pub dynamic_registration: bool,
    /// The API (client id) whose access tokens may reach the tenant's SCIM endpoint: tokens
    /// for it whose roles include `SCIM.ReadWrite` or `SCIM.Read`. `None`: SCIM takes only
    /// SCIM tokens. Tokens for any other API never count, whatever their roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scim_api: Option<crate::ids::ClientId>,
    /// The `azp` of the tokens custom authentication extensions receive (`None`: Entra's
    /// authentication-events app, `99045fe1-7639-4a75-9d4a-577b6ca3810f`, which receivers
    /// written for Entra check).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callout_azp: Option<String>,
    /// Passkey policy: relying party, origins, user verification, attestation.
    #[serde(default)]
    pub passkeys: crate::passkeys::PasskeyPolicy,
}

impl TenantSettings {
    /// Checks and normalises the settings (codes sorted, without duplicates).
    pub fn validated(mut self) -> Result<Self, CoreError> {
        for code in &self.sms_countries {
            if !is_country_code(code) {
                return Err(CoreError::Invalid(format!(
                    "{code:?} is not a country calling code (a + and 1 to 3 digits, like +1 or +44)"
                )));
            }
        }
        self.sms_countries.sort();
        self.sms_countries.dedup();
        if let Some(days) = self.refresh_token_max_days
            && !(1..=MAX_REFRESH_TOKEN_DAYS).contains(&days)
        {
            return Err(CoreError::Invalid(format!(
                "refresh tokens live 1 to {MAX_REFRESH_TOKEN_DAYS} days"
            )));
        }
        let range = super::ACCESS_TOKEN_LIFETIME_SECS;
        if let Some(secs) = self.access_token_lifetime_secs
            && !range.contains(&secs)
        {
            return Err(CoreError::Invalid(format!(
                "access tokens live {} to {} seconds",
                range.start(),
                range.end()
            )));
        }
        if let Some(azp) = &self.callout_azp {
            let id = azp.trim().parse::<uuid::Uuid>().map_err(|_| {
                CoreError::Invalid("the callout azp is an application id (a GUID)".into())
            })?;
            self.callout_azp = Some(id.hyphenated().to_string());
        }
        Ok(self)
    }
}

fn is_country_code(code: &str) -> bool {
    code.strip_prefix('+').is_some_and(|digits| {
        (1..=3).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0')
    })
}

/// Whether `number` (E.164) may be texted under `countries` (empty: anywhere).
pub fn sms_allowed(countries: &[String], number: &str) -> bool {
    countries.is_empty()
        || countries
            .iter()
            .any(|code| number.starts_with(code.as_str()))
}

impl Portico {
    /// A tenant's settings (cached for a few seconds).
    pub async fn tenant_settings(
        &self,
        tenant: TenantId,
    ) -> Result<Arc<TenantSettings>, CoreError> {
        self.tenant_settings_cache
            .get_or_load(tenant, || async move {
                let found = match self.store.tenant_settings(tenant).await? {
                    Some(json) => serde_json::from_str(&json).map_err(|e| {
                        CoreError::Internal(format!("unreadable tenant settings: {e}"))
                    })?,
                    None => TenantSettings::default(),
                };
                Ok(Arc::new(found))
            })
            .await
    }

    /// The settings of the tenant `tenant` names.
    pub async fn tenant_settings_of(
        &self,
        tenant: &TenantRef,
    ) -> Result<Arc<TenantSettings>, CoreError> {
        let tenant = self.tenant(tenant).await?;
        self.tenant_settings(tenant.id).await
    }

    /// Replaces a tenant's settings after checking them.
    pub async fn set_tenant_settings(
        &self,
        tenant: &TenantRef,
        settings: TenantSettings,
    ) -> Result<TenantSettings, CoreError> {
        let tenant = self.tenant(tenant).await?;
        let mut settings = settings.validated()?;
        settings.passkeys = settings.passkeys.validated(&self.settings.public_url)?;
        if let Some(api) = settings.scim_api {
            self.show_application(&TenantRef::Id(tenant.id), api)
                .await
                .map_err(|_| CoreError::Invalid(format!("no application {api} in this tenant")))?;
        }
        let json = serde_json::to_string(&settings)
            .map_err(|e| CoreError::Internal(format!("tenant settings: {e}")))?;
        self.store
            .set_tenant_settings(tenant.id, &json, self.now())
            .await?;
        self.tenant_settings_cache.clear();
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_codes_are_checked_and_normalised() {
        let settings = TenantSettings {
            sms_countries: vec!["+44".into(), "+1".into(), "+44".into()],
            refresh_token_max_days: Some(30),
            ..TenantSettings::default()
        }
        .validated()
        .unwrap();
        assert_eq!(settings.sms_countries, vec!["+1", "+44"]);
        for bad in ["44", "+", "+0", "+1234", "+4a", "+44 ", ""] {
            let refused = TenantSettings {
                sms_countries: vec![bad.into()],
                ..TenantSettings::default()
            }
            .validated();
            assert!(refused.is_err(), "{bad:?}");
        }
        for secs in [299, 86_401] {
            let refused = TenantSettings {
                access_token_lifetime_secs: Some(secs),
                ..TenantSettings::default()
            }
            .validated();
            assert!(refused.is_err(), "{secs}");
        }
        for days in [0, MAX_REFRESH_TOKEN_DAYS + 1] {
            let refused = TenantSettings {
                refresh_token_max_days: Some(days),
                ..TenantSettings::default()
            }
            .validated();
            assert!(refused.is_err(), "{days}");
        }
    }

    #[test]
    fn texts_go_only_to_allowed_countries() {
        assert!(sms_allowed(&[], "+4915112345678"));
        let only = vec!["+1".to_owned(), "+44".to_owned()];
        assert!(sms_allowed(&only, "+15550100001"));
        assert!(sms_allowed(&only, "+447700900123"));
        assert!(!sms_allowed(&only, "+4915112345678"));
        assert!(!sms_allowed(&only, "+88216123456"));
    }
}
