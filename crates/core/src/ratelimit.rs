//! Per-node rate limits on credential checks, keyed by (tenant, client network) and (tenant,
//! account), and on account lookups, keyed by (tenant, client network). They run before any
//! password hashing, so a flood costs almost nothing.
//!
//! A client network is the IPv4 address, or the /64 an IPv6 address belongs to: one IPv6
//! host holds a whole /64, so keying by the full address would give it 2^64 budgets.

use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::ids::TenantId;

/// One limit: sustained events per minute, and the burst allowed on top.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Sustained events per minute.
    pub per_minute: u32,
    /// Events allowed at once.
    pub burst: u32,
}

/// The configurable limits. The defaults are sized for real traffic: many people behind one
/// carrier-grade NAT or office proxy share an address, so the per-address limits are wide,
/// while the per-account limit (and smart lockout) stays tight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitSettings {
    /// Credential checks (passwords, codes) from one client network.
    pub per_ip: Rate,
    /// Credential checks against one account.
    pub per_account: Rate,
    /// Account lookups that may reveal whether an account exists (the native API's
    /// `initiate` and `start`) from one client network.
    pub lookups: Rate,
    /// Sign-in flows started from one client network (each is a stored record for up to 30
    /// minutes, so this caps how many one network keeps alive).
    pub flows: Rate,
    /// Device user codes typed on the device page (RFC 8628 §5.1: user codes are short, so
    /// guessing them must be slow).
    pub user_codes: Rate,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            per_ip: Rate {
                per_minute: 600,
                burst: 200,
            },
            per_account: Rate {
                per_minute: 30,
                burst: 20,
            },
            lookups: Rate {
                per_minute: 300,
                burst: 100,
            },
            flows: Rate {
                per_minute: 300,
                burst: 100,
            },
            user_codes: Rate {
                per_minute: 20,
                burst: 10,
            },
        }
    }
}

/// Rate limiters for credential checks and lookups.
#[derive(Debug)]
pub struct RateLimits {
    per_ip: DefaultKeyedRateLimiter<(TenantId, IpAddr)>,
    per_account: DefaultKeyedRateLimiter<(TenantId, String)>,
    lookups: DefaultKeyedRateLimiter<(TenantId, IpAddr)>,
    flows: DefaultKeyedRateLimiter<(TenantId, IpAddr)>,
    user_codes: DefaultKeyedRateLimiter<(TenantId, IpAddr)>,
    checks: AtomicU64,
}

fn quota(rate: Rate) -> Quota {
    let per_minute = NonZeroU32::new(rate.per_minute).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(rate.burst).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(per_minute).allow_burst(burst)
}

/// The network a client address stands for: IPv4 as it is (IPv4-mapped IPv6 too), IPv6 by
/// its /64.
pub fn client_network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        Self::new(&RateLimitSettings::default())
    }
}

impl RateLimits {
    /// Limiters for these settings.
    pub fn new(settings: &RateLimitSettings) -> Self {
        Self {
            per_ip: RateLimiter::keyed(quota(settings.per_ip)),
            per_account: RateLimiter::keyed(quota(settings.per_account)),
            lookups: RateLimiter::keyed(quota(settings.lookups)),
            flows: RateLimiter::keyed(quota(settings.flows)),
            user_codes: RateLimiter::keyed(quota(settings.user_codes)),
            checks: AtomicU64::new(0),
        }
    }

    fn tidy(&self) {
        // Forget idle keys now and then so the maps stay small.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            self.per_ip.retain_recent();
            self.per_account.retain_recent();
            self.lookups.retain_recent();
            self.flows.retain_recent();
            self.user_codes.retain_recent();
        }
    }

    /// Whether one more credential check from `ip` against `account` is allowed now.
    pub fn allow(&self, tenant: TenantId, ip: IpAddr, account: &str) -> bool {
        self.tidy();
        let ip_ok = self.per_ip.check_key(&(tenant, client_network(ip))).is_ok();
        let account_ok = self
            .per_account
            .check_key(&(tenant, account.to_owned()))
            .is_ok();
        ip_ok && account_ok
    }

    /// Whether one more account lookup from `ip` is allowed now.
    pub fn allow_lookup(&self, tenant: TenantId, ip: IpAddr) -> bool {
        self.tidy();
        self.lookups
            .check_key(&(tenant, client_network(ip)))
            .is_ok()
    }

    /// Whether `ip` may try one more device user code now.
    pub fn allow_user_code(&self, tenant: TenantId, ip: IpAddr) -> bool {
        self.tidy();
        self.user_codes
            .check_key(&(tenant, client_network(ip)))
            .is_ok()
    }

    /// Whether `ip` may start one more sign-in flow now.
    pub fn allow_flow_start(&self, tenant: TenantId, ip: IpAddr) -> bool {
        self.tidy();
        self.flows.check_key(&(tenant, client_network(ip))).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_network(a), client_network(b));
        assert_ne!(client_network(a), client_network(other));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(
            client_network(mapped),
            "192.0.2.7".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn one_64_shares_one_budget() {
        let limits = RateLimits::new(&RateLimitSettings {
            lookups: Rate {
                per_minute: 1,
                burst: 3,
            },
            ..RateLimitSettings::default()
        });
        let tenant = TenantId::new_random();
        for host in 1..=3 {
            let ip: IpAddr = format!("2001:db8::{host}").parse().unwrap();
            assert!(limits.allow_lookup(tenant, ip));
        }
        assert!(!limits.allow_lookup(tenant, "2001:db8::ffff".parse().unwrap()));
        assert!(limits.allow_lookup(tenant, "2001:db8:0:1::1".parse().unwrap()));
        assert!(limits.allow_lookup(TenantId::new_random(), "2001:db8::1".parse().unwrap()));
    }

    #[test]
    fn the_defaults_fit_a_busy_office_behind_one_address() {
        let limits = RateLimits::default();
        let tenant = TenantId::new_random();
        let office: IpAddr = "198.51.100.20".parse().unwrap();
        let allowed = (0..100)
            .filter(|_| limits.allow_lookup(tenant, office))
            .count();
        assert_eq!(allowed, 100, "a burst of 100 lookups from one address");
        let people = (0..150)
            .filter(|i| limits.allow(tenant, office, &format!("person{i}@example.com")))
            .count();
        assert_eq!(people, 150, "150 people signing in at once");
    }
}
