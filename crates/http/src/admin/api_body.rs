//! An application's exposed API as the admin API reads and writes it: delegated scopes, app
//! roles and the token-exchange rules, converted to and from the directory's `ExposedApi`.

use axum::http::StatusCode;
use portico_core::directory::{ApiScope, AppRole, ExchangeRule, ExposedApi, RoleMembers};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::Problem;

/// An API definition: delegated scopes and app roles.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiBody {
    /// Delegated scopes (in `scp`).
    #[serde(default)]
    #[schema(max_items = 100)]
    pub scopes: Vec<ApiScopeBody>,
    /// App roles (in `roles`).
    #[serde(default)]
    #[schema(max_items = 100)]
    pub roles: Vec<AppRoleBody>,
    /// Clients that may exchange users' tokens for this API (RFC 8693).
    #[serde(default)]
    #[schema(max_items = 100)]
    pub token_exchange: Vec<ExchangeRuleBody>,
}

/// One client allowed to exchange users' tokens for this API (RFC 8693).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExchangeRuleBody {
    /// The client that may exchange (an app of this tenant).
    #[schema(format = Uuid)]
    pub client_id: String,
    /// The subject tokens it may bring: users' access tokens for this app.
    #[schema(format = Uuid)]
    pub subject_audience: String,
    /// It may impersonate (a token without `act`); otherwise it delegates, presenting its
    /// own token as the actor.
    #[serde(default)]
    pub impersonation: bool,
}

/// A delegated scope.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiScopeBody {
    /// Its value (1 to 120 of A-Z a-z 0-9 . _ -, not starting with a dot).
    #[schema(pattern = "^[A-Za-z0-9_-][A-Za-z0-9._-]{0,119}$")]
    pub name: String,
    /// Shown to an administrator consenting for the tenant; absent: a plain default.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub admin_consent_description: Option<String>,
    /// Shown to a person consenting for themselves; absent: the admin text.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub user_consent_description: Option<String>,
    /// Who may consent: each user for themselves, or only an administrator (a permission
    /// grant); absent: users.
    #[serde(default)]
    #[schema(value_type = Option<ScopeConsentName>)]
    pub consent: Option<String>,
}

/// Who may consent to a delegated scope.
#[derive(ToSchema)]
#[schema(as = ScopeConsentName)]
#[allow(dead_code)]
pub enum ScopeConsentName {
    /// Each user, for themselves.
    #[schema(rename = "users")]
    Users,
    /// Only an administrator, for the tenant.
    #[schema(rename = "admins")]
    Admins,
}

/// An app role.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppRoleBody {
    /// Its value (1 to 120 of A-Z a-z 0-9 . _ -, not starting with a dot).
    #[schema(pattern = "^[A-Za-z0-9_-][A-Za-z0-9._-]{0,119}$")]
    pub name: String,
    /// Who may hold it.
    #[schema(value_type = RoleMembersName)]
    pub allowed: String,
    /// What it allows.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub description: String,
}

/// Who may hold an app role.
#[derive(ToSchema)]
#[schema(as = RoleMembersName)]
#[allow(dead_code)]
pub enum RoleMembersName {
    /// Users.
    #[schema(rename = "users")]
    Users,
    /// Client applications.
    #[schema(rename = "apps")]
    Apps,
    /// Both.
    #[schema(rename = "both")]
    Both,
}

impl From<ExposedApi> for ApiBody {
    fn from(api: ExposedApi) -> Self {
        Self {
            scopes: api
                .scopes
                .into_iter()
                .map(|s| ApiScopeBody {
                    name: s.name,
                    admin_consent_description: Some(s.admin_consent_description),
                    user_consent_description: Some(s.user_consent_description),
                    consent: Some(s.consent.as_str().to_owned()),
                })
                .collect(),
            roles: api
                .roles
                .into_iter()
                .map(|r| AppRoleBody {
                    name: r.name,
                    allowed: r.allowed.as_str().to_owned(),
                    description: r.description,
                })
                .collect(),
            token_exchange: api
                .token_exchange
                .into_iter()
                .map(|r| ExchangeRuleBody {
                    client_id: r.client_id.to_string(),
                    subject_audience: r.subject_audience.to_string(),
                    impersonation: r.impersonation,
                })
                .collect(),
        }
    }
}

impl ApiBody {
    /// The definition this body describes; its rules are checked when it is stored.
    pub(crate) fn into_api(self) -> Result<ExposedApi, Problem> {
        let roles = self
            .roles
            .into_iter()
            .map(|r| {
                let allowed: RoleMembers = r
                    .allowed
                    .parse()
                    .map_err(|e: String| Problem::new(StatusCode::UNPROCESSABLE_ENTITY, e))?;
                Ok(AppRole {
                    name: r.name,
                    allowed,
                    description: r.description,
                })
            })
            .collect::<Result<_, Problem>>()?;
        let scopes = self
            .scopes
            .into_iter()
            .map(|s| {
                let mut scope = ApiScope::new(&s.name, s.admin_consent_description.as_deref());
                if let Some(text) = s.user_consent_description {
                    scope.user_consent_description = text;
                }
                if let Some(who) = s.consent {
                    scope.consent = who
                        .parse()
                        .map_err(|e: String| Problem::new(StatusCode::UNPROCESSABLE_ENTITY, e))?;
                }
                Ok(scope)
            })
            .collect::<Result<_, Problem>>()?;
        let token_exchange = self
            .token_exchange
            .into_iter()
            .map(|r| {
                let id = |text: &str| {
                    text.parse().map_err(|_| {
                        Problem::new(
                            StatusCode::UNPROCESSABLE_ENTITY,
                            format!("{text:?} is not a client id"),
                        )
                    })
                };
                Ok(ExchangeRule {
                    client_id: id(&r.client_id)?,
                    subject_audience: id(&r.subject_audience)?,
                    impersonation: r.impersonation,
                })
            })
            .collect::<Result<_, Problem>>()?;
        Ok(ExposedApi {
            scopes,
            roles,
            token_exchange,
        })
    }
}
