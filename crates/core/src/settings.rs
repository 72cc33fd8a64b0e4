//! Settings of the domain services (lifetimes and limits). The binary fills them from config.

/// Lifetimes and limits the domain enforces.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The public base URL, without a trailing slash (`https://id.example.com`). Issuers are
    /// `{public_url}/{tenant_id}/v2.0`.
    pub public_url: String,
    /// Authorization codes live at most this long (RFC 9700 asks for short-lived codes).
    pub code_lifetime_secs: i64,
    /// Access and id tokens.
    pub access_token_lifetime_secs: i64,
    /// How long a refresh token stays good unused (each rotation starts a new one).
    pub refresh_token_lifetime_secs: i64,
    /// How long a refresh token family lives from its grant, however often it is used.
    pub refresh_token_absolute_lifetime_secs: i64,
    /// Refresh tokens of single-page apps: fixed from the grant, not sliding (Entra: 24 h),
    /// since a browser keeps them where any script of the app's origin can read them.
    pub spa_refresh_token_lifetime_secs: i64,
    /// A browser SSO session without "keep me signed in".
    pub session_lifetime_secs: i64,
    /// A browser SSO session with "keep me signed in".
    pub persistent_session_lifetime_secs: i64,
    /// How long a retired signing key stays in the JWKS after it stops signing.
    pub retired_key_publish_secs: i64,
    /// How often a node reloads signing keys from the store (rotations by another node or the CLI).
    pub key_reload_secs: i64,
    /// Concurrent password hashes (the blocking pool's bound).
    pub password_hash_concurrency: usize,
    /// One-time passcode limits.
    pub otp: crate::otp::OtpPolicy,
    /// Texts one tenant may send in an hour (codes and notices), against SMS pumping.
    pub sms_per_tenant_per_hour: u32,
    /// Rate limits on credential checks and account lookups.
    pub rate_limits: crate::ratelimit::RateLimitSettings,
    /// How long a device code (RFC 8628) waits for its person (Entra: 15 minutes).
    pub device_code_lifetime_secs: i64,
    /// Seconds a device waits between polls, as the device authorization response says
    /// (RFC 8628's default, 5).
    pub device_code_interval_secs: i64,
    /// Custom authentication extensions may be called at private-network addresses
    /// (`serve --callout-allow-private`); loopback is always allowed, other internal
    /// addresses only with this (against SSRF).
    pub callout_allow_private: bool,
}

impl Settings {
    /// Defaults for a server reachable at `public_url`.
    pub fn new(public_url: impl Into<String>) -> Self {
        Self {
            public_url: public_url.into().trim_end_matches('/').to_owned(),
            code_lifetime_secs: 60,
            access_token_lifetime_secs: 3600,
            refresh_token_lifetime_secs: 30 * 24 * 3600,
            refresh_token_absolute_lifetime_secs: 90 * 24 * 3600,
            spa_refresh_token_lifetime_secs: 24 * 3600,
            session_lifetime_secs: 24 * 3600,
            persistent_session_lifetime_secs: 30 * 24 * 3600,
            retired_key_publish_secs: 2 * 3600,
            key_reload_secs: 30,
            password_hash_concurrency: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            otp: crate::otp::OtpPolicy::default(),
            sms_per_tenant_per_hour: 1000,
            rate_limits: crate::ratelimit::RateLimitSettings::default(),
            device_code_lifetime_secs: 15 * 60,
            device_code_interval_secs: 5,
            callout_allow_private: false,
        }
    }
}
