use std::fmt;
use std::str::FromStr;

use super::ExposedApi;
use crate::clock::UnixTime;
use crate::ids::{ClientId, TenantId};

/// What kind of client an application is; decides whether it holds a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppKind {
    /// Server-side web app: confidential, authorization code flow.
    Web,
    /// Single-page app: public, authorization code + PKCE.
    Spa,
    /// Mobile or desktop app: public, authorization code + PKCE.
    Native,
    /// Service without users: confidential, client credentials.
    Daemon,
}

impl AppKind {
    /// Confidential clients authenticate with a secret at the token endpoint.
    pub fn is_confidential(self) -> bool {
        matches!(self, Self::Web | Self::Daemon)
    }

    /// The stored and CLI name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Web => "web",
            Self::Spa => "spa",
            Self::Native => "native",
            Self::Daemon => "daemon",
        }
    }
}

impl fmt::Display for AppKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AppKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "web" => Ok(Self::Web),
            "spa" => Ok(Self::Spa),
            "native" => Ok(Self::Native),
            "daemon" => Ok(Self::Daemon),
            other => Err(format!(
                "unknown app kind {other:?} (expected web, spa, native or daemon)"
            )),
        }
    }
}

/// Which tokens an app may receive straight from the authorization endpoint (implicit and
/// hybrid flows; Entra's "ID tokens" and "Access tokens" boxes). Off unless an operator
/// turns it on: RFC 9700 §2.1.2 advises against tokens in the front channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImplicitGrant {
    /// Only codes.
    #[default]
    Off,
    /// ID tokens (`id_token`, `code id_token`).
    IdToken,
    /// ID tokens and access tokens (also `id_token token`).
    IdTokenAndToken,
}

impl ImplicitGrant {
    /// The CLI and stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::IdToken => "id-token",
            Self::IdTokenAndToken => "id-token-and-token",
        }
    }
}

impl FromStr for ImplicitGrant {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "off" => Ok(Self::Off),
            "id-token" => Ok(Self::IdToken),
            "id-token-and-token" => Ok(Self::IdTokenAndToken),
            other => Err(format!(
                "unknown implicit setting {other:?} (expected off, id-token or id-token-and-token)"
            )),
        }
    }
}

/// Whether the app's tokens carry a `groups` claim (Entra's "groups claim"): the user's
/// groups by id (nested ones too), or the names of the groups assigned to the app (those
/// holding one of its app roles). Past [`MAX_GROUPS_IN_TOKEN`] the token points to where the
/// groups can be read instead (Entra's overage claims).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GroupsClaim {
    /// No `groups` claim.
    #[default]
    Off,
    /// Every group of the user, by id.
    Ids,
    /// The groups assigned to the app, by name.
    Names,
}

/// The most groups a token lists; with more, it carries the overage claims.
pub const MAX_GROUPS_IN_TOKEN: usize = 200;

impl GroupsClaim {
    /// The CLI and stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Ids => "ids",
            Self::Names => "names",
        }
    }
}

impl FromStr for GroupsClaim {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "off" => Ok(Self::Off),
            "ids" => Ok(Self::Ids),
            "names" => Ok(Self::Names),
            other => Err(format!(
                "unknown groups claim setting {other:?} (expected off, ids or names)"
            )),
        }
    }
}

/// A registered application (client).
#[derive(Debug, Clone)]
pub struct Application {
    /// The client id.
    pub client_id: ClientId,
    /// The owning tenant.
    pub tenant_id: TenantId,
    /// Display name.
    pub name: String,
    /// Client kind.
    pub kind: AppKind,
    /// Registered redirect URIs, matched exactly. Also the allowed post-logout redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Application ID URI (`api://...`) for client-credentials scopes; the client id also works.
    pub identifier_uri: Option<String>,
    /// User attributes this app wants as claims in its tokens (Entra's optional claims).
    pub optional_claims: Vec<String>,
    /// May call the native-authentication API (public clients only).
    pub native_auth: bool,
    /// Browser origins (`https://app.example`) allowed to call the native-authentication API
    /// cross-origin.
    pub cors_origins: Vec<String>,
    /// The API this app exposes: delegated scopes and app roles.
    pub api: ExposedApi,
    /// Entra's "assignment required": only users and client apps holding one of this app's
    /// roles get tokens for it.
    pub assignment_required: bool,
    /// Entra's "allow public client flows" for the device code flow (RFC 8628): off unless an
    /// operator turns it on, since anyone may start a device flow with a public client id
    /// and send the link to a victim (device-code phishing).
    pub device_code: bool,
    /// Authorization requests must be pushed first (RFC 9126 PAR): a plain one is refused.
    pub require_par: bool,
    /// Every token request must carry a DPoP proof (RFC 9449 §5.2, the client metadata
    /// `dpop_bound_access_tokens`): the app never gets a bearer token.
    pub require_dpop: bool,
    /// The `groups` claim in this app's tokens.
    pub groups_claim: GroupsClaim,
    /// Claims from custom authentication extensions renamed for this app's tokens (Entra's
    /// claims-mapping policy); a provided claim with no mapping keeps its name.
    pub claim_mappings: Vec<ClaimMapping>,
    /// Lifetime of access tokens for this app, in seconds (`None`: the server's).
    pub access_token_lifetime_secs: Option<i64>,
    /// Idle lifetime of this app's refresh tokens, in seconds (`None`: the server's); the
    /// tenant's absolute lifetime still bounds it.
    pub refresh_token_lifetime_secs: Option<i64>,
    /// Public keys the client signs `private_key_jwt` assertions with (confidential clients).
    pub client_keys: Vec<jsonwebtoken::jwk::Jwk>,
    /// Tokens from the authorization endpoint (implicit and hybrid flows).
    pub implicit: ImplicitGrant,
    /// Where the app hears that a session it served has ended.
    pub logout: LogoutUris,
    /// Creation time.
    pub created_at: UnixTime,
}

/// One claim an extension provides, renamed in an app's tokens.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClaimMapping {
    /// The name in the extension's answer (`claimIdInApiResponse`; case-sensitive).
    pub source: String,
    /// The name in the token (`JwtClaimType`).
    pub claim: String,
}

/// Where an app hears that a session it served has ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogoutUris {
    /// Server to server (OpenID Connect Back-Channel Logout 1.0): a signed logout token is
    /// POSTed there through the outbox.
    pub backchannel: Option<String>,
    /// The page the sign-out page frames so the app's browser session ends too (OpenID
    /// Connect Front-Channel Logout 1.0), with `iss` and `sid` added.
    pub frontchannel: Option<String>,
}

impl Application {
    /// The origins of this single-page app's redirect URIs (where its pages run).
    pub fn spa_origins(&self) -> impl Iterator<Item = String> + '_ {
        self.redirect_uris
            .iter()
            .filter(move |_| self.kind == AppKind::Spa)
            .filter_map(|uri| url::Url::parse(uri).ok())
            .map(|url| url.origin())
            .filter(url::Origin::is_tuple)
            .map(|origin| origin.ascii_serialization())
    }

    /// Whether a page on `origin` may call the token endpoint for this app: an SPA from the
    /// origin of a redirect URI, a native-auth app from a listed CORS origin.
    pub fn serves_browser_origin(&self, origin: &str) -> bool {
        (self.native_auth && self.cors_origins.iter().any(|o| o == origin))
            || self.spa_origins().any(|o| o == origin)
    }
}

/// What an operator supplies to register an application.
#[derive(Debug, Clone)]
pub struct NewApplication {
    /// Display name.
    pub name: String,
    /// Client kind.
    pub kind: AppKind,
    /// Redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Optional Application ID URI.
    pub identifier_uri: Option<String>,
    /// User attributes to put into this app's tokens (built-in or custom attribute names).
    pub optional_claims: Vec<String>,
    /// Enable the native-authentication API for this app (public clients only).
    pub native_auth: bool,
    /// Origins allowed to call the native-authentication API from a browser.
    pub cors_origins: Vec<String>,
    /// Public keys for `private_key_jwt` (confidential clients only).
    pub client_keys: Vec<jsonwebtoken::jwk::Jwk>,
    /// Where the app hears of ended sessions.
    pub logout: LogoutUris,
}

/// Plain http is allowed only for these hosts (local development, RFC 8252 native apps).
fn is_loopback(url: &url::Url) -> bool {
    matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
}

/// A CORS origin is exactly `scheme://host[:port]`: https, or http for loopback hosts, with no
/// path, query or fragment; returned in the form browsers send in `Origin`.
pub(crate) fn normalize_cors_origin(origin: &str) -> Result<String, String> {
    let parsed =
        url::Url::parse(origin).map_err(|e| format!("CORS origin {origin:?} is not a URL: {e}"))?;
    let bare = parsed.path() == "/"
        && parsed.query().is_none()
        && parsed.fragment().is_none()
        && parsed.username().is_empty()
        && parsed.password().is_none();
    if !bare {
        return Err(format!(
            "CORS origin {origin:?} must be scheme://host[:port], without a path"
        ));
    }
    match parsed.scheme() {
        "https" => {}
        "http" if is_loopback(&parsed) => {}
        other => {
            return Err(format!(
                "CORS origin {origin:?} has scheme {other:?}; use https (http only for localhost)"
            ));
        }
    }
    Ok(parsed.origin().ascii_serialization())
}

/// Claims Portico sets itself; an optional claim may not take their names.
const RESERVED_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "uti",
    "oid",
    "tid",
    "ver",
    "azp",
    "azpacr",
    "client_id",
    "scp",
    "roles",
    "nonce",
    "auth_time",
    "sid",
    "rh",
    "amr",
    "acr",
    "name",
    "preferred_username",
    "at_hash",
    "c_hash",
    "cnf",
    "typ",
    // Further registered claims (RFC 7519, OIDC Core §5.1, RFC 8693, RFC 9068) and Entra's.
    "email_verified",
    "groups",
    "hasgroups",
    "wids",
    "upn",
    "unique_name",
    "idp",
    "tfp",
    "acct",
    "xms_cc",
    "s_hash",
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "picture",
    "website",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "phone_number",
    "phone_number_verified",
    "address",
    "updated_at",
    "profile",
    "scope",
    "act",
    "may_act",
    "events",
    "client_info",
];

/// Whether `name` is a claim Portico sets or a registered claim a token reader would trust
/// (case-insensitively, so `Email_Verified` cannot pose as one either).
pub(crate) fn is_reserved_claim(name: &str) -> bool {
    RESERVED_CLAIMS.iter().any(|c| c.eq_ignore_ascii_case(name))
}

/// An optional claim names a user attribute: `email`, a built-in attribute or a custom one
/// (1-64 letters, digits and `_`, starting with a letter), never a claim Portico sets.
pub(crate) fn validate_optional_claim(name: &str) -> Result<(), String> {
    let shaped = name.len() <= 64
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !shaped {
        return Err(format!(
            "optional claim {name:?} must be an attribute name: 1-64 letters, digits and _, starting with a letter"
        ));
    }
    if is_reserved_claim(name) {
        return Err(format!("optional claim {name:?} is set by Portico itself"));
    }
    Ok(())
}

/// Redirect URIs must be absolute, without fragments; plain http only for loopback hosts
/// (RFC 8252 native apps, local development) and custom schemes for native apps.
pub(crate) fn validate_redirect_uri(kind: AppKind, uri: &str) -> Result<(), String> {
    let parsed =
        url::Url::parse(uri).map_err(|e| format!("redirect URI {uri:?} is not a URL: {e}"))?;
    if parsed.fragment().is_some() {
        return Err(format!("redirect URI {uri:?} must not contain a fragment"));
    }
    match parsed.scheme() {
        "https" => Ok(()),
        "http" => {
            if is_loopback(&parsed) {
                Ok(())
            } else {
                Err(format!(
                    "redirect URI {uri:?} must use https (plain http is allowed for localhost only)"
                ))
            }
        }
        _ if kind == AppKind::Native => Ok(()),
        other => Err(format!(
            "redirect URI {uri:?} has scheme {other:?}; only native apps may use custom schemes"
        )),
    }
}

/// Which logout channel a URI is for, for messages and rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogoutChannel {
    /// Server to server.
    Back,
    /// Framed by the sign-out page.
    Front,
}

/// A logout URI is absolute, https (plain http for loopback hosts only), without a fragment
/// or credentials; a front-channel one shares scheme, host and port with a redirect URI, as
/// Front-Channel Logout 1.0 §2 requires (the app's own pages, not a third party's).
pub(crate) fn validate_logout_uri(
    channel: LogoutChannel,
    uri: &str,
    redirect_uris: &[String],
) -> Result<(), String> {
    let label = match channel {
        LogoutChannel::Back => "back-channel logout URI",
        LogoutChannel::Front => "front-channel logout URI",
    };
    let parsed = url::Url::parse(uri).map_err(|e| format!("{label} {uri:?} is not a URL: {e}"))?;
    if parsed.fragment().is_some() || !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!(
            "{label} {uri:?} must not contain a fragment or credentials"
        ));
    }
    match parsed.scheme() {
        "https" => {}
        "http" if is_loopback(&parsed) => {}
        _ => {
            return Err(format!(
                "{label} {uri:?} must use https (plain http is allowed for localhost only)"
            ));
        }
    }
    if channel == LogoutChannel::Front {
        let origin = parsed.origin();
        let shared = redirect_uris
            .iter()
            .filter_map(|r| url::Url::parse(r).ok())
            .any(|r| r.origin() == origin);
        if !shared {
            return Err(format!(
                "{label} {uri:?} must have the scheme, host and port of a redirect URI"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_are_checked() {
        assert!(validate_redirect_uri(AppKind::Web, "https://app.example/cb").is_ok());
        assert!(validate_redirect_uri(AppKind::Web, "http://localhost:3000/cb").is_ok());
        assert!(validate_redirect_uri(AppKind::Web, "http://127.0.0.1/cb").is_ok());
        assert!(validate_redirect_uri(AppKind::Web, "http://app.example/cb").is_err());
        assert!(validate_redirect_uri(AppKind::Web, "https://app.example/cb#x").is_err());
        assert!(validate_redirect_uri(AppKind::Web, "myapp://cb").is_err());
        assert!(validate_redirect_uri(AppKind::Native, "myapp://cb").is_ok());
        assert!(validate_redirect_uri(AppKind::Spa, "not a url").is_err());
    }

    #[test]
    fn logout_uris_are_the_apps_own() {
        let redirects = ["https://app.example/cb".to_owned()];
        let back = |uri| validate_logout_uri(LogoutChannel::Back, uri, &redirects);
        let front = |uri| validate_logout_uri(LogoutChannel::Front, uri, &redirects);
        assert!(back("https://api.example/logout").is_ok(), "any https host");
        assert!(back("http://127.0.0.1:8080/logout").is_ok());
        assert!(back("http://app.example/logout").is_err());
        assert!(back("https://app.example/logout#x").is_err());
        assert!(back("https://user:pw@app.example/logout").is_err());
        assert!(back("ftp://app.example/logout").is_err());
        assert!(front("https://app.example/signed-out?x=1").is_ok());
        assert!(
            front("https://app.example:8443/signed-out").is_err(),
            "another port"
        );
        assert!(
            front("https://evil.example/signed-out").is_err(),
            "another host"
        );
    }

    #[test]
    fn cors_origins_are_bare_origins() {
        assert_eq!(
            normalize_cors_origin("https://App.Example/").as_deref(),
            Ok("https://app.example")
        );
        assert_eq!(
            normalize_cors_origin("http://localhost:5173").as_deref(),
            Ok("http://localhost:5173")
        );
        assert!(normalize_cors_origin("https://app.example/path").is_err());
        assert!(normalize_cors_origin("https://app.example?x=1").is_err());
        assert!(normalize_cors_origin("http://app.example").is_err());
        assert!(normalize_cors_origin("*").is_err());
        assert!(normalize_cors_origin("null").is_err());
    }

    #[test]
    fn optional_claims_name_attributes_not_protocol_claims() {
        assert!(validate_optional_claim("givenName").is_ok());
        assert!(validate_optional_claim("loyalty_number").is_ok());
        assert!(validate_optional_claim("email").is_ok());
        assert!(validate_optional_claim("sub").is_err());
        assert!(validate_optional_claim("1st").is_err());
        assert!(validate_optional_claim("a-b").is_err());
        assert!(validate_optional_claim(&"x".repeat(65)).is_err());
    }
}
