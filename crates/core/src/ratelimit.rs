//! Per-node rate limits on credential checks, keyed by (tenant, client IP) and (tenant,
//! account). They run before any password hashing, so a flood costs almost nothing.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::ids::TenantId;

/// Rate limiters for credential checks.
#[derive(Debug)]
pub struct RateLimits {
    per_ip: DefaultKeyedRateLimiter<(TenantId, IpAddr)>,
    per_account: DefaultKeyedRateLimiter<(TenantId, String)>,
    checks: AtomicU64,
}

fn quota(per_minute: u32, burst: u32) -> Quota {
    let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(per_minute).allow_burst(burst)
}

impl Default for RateLimits {
    fn default() -> Self {
        Self::new(120, 60, 30, 20)
    }
}

impl RateLimits {
    /// Limits per IP and per account, as sustained attempts per minute and burst size.
    pub fn new(
        ip_per_minute: u32,
        ip_burst: u32,
        account_per_minute: u32,
        account_burst: u32,
    ) -> Self {
        Self {
            per_ip: RateLimiter::keyed(quota(ip_per_minute, ip_burst)),
            per_account: RateLimiter::keyed(quota(account_per_minute, account_burst)),
            checks: AtomicU64::new(0),
        }
    }

    /// Whether one more credential check from `ip` against `account` is allowed now.
    pub fn allow(&self, tenant: TenantId, ip: IpAddr, account: &str) -> bool {
        // Forget idle keys now and then so the maps stay small.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            self.per_ip.retain_recent();
            self.per_account.retain_recent();
        }
        let ip_ok = self.per_ip.check_key(&(tenant, ip)).is_ok();
        let account_ok = self
            .per_account
            .check_key(&(tenant, account.to_owned()))
            .is_ok();
        ip_ok && account_ok
    }
}
