use portico_keys::SigningAlgorithm;

use crate::clock::UnixTime;
use crate::ids::TenantId;

/// A tenant: one company's isolated directory, keys and settings.
#[derive(Debug, Clone)]
pub struct Tenant {
    /// The GUID used in issuers and the `tid` claim.
    pub id: TenantId,
    /// The URL-friendly name (`contoso`), unique across the server.
    pub name: String,
    /// Algorithm new signing keys are made with.
    pub signing_alg: SigningAlgorithm,
    /// Creation time.
    pub created_at: UnixTime,
}

/// How a caller names a tenant: by GUID, by name, or by a `name.onmicrosoft.com`-style alias.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TenantRef {
    /// The tenant's GUID.
    Id(TenantId),
    /// The tenant's name (lower-cased).
    Name(String),
}

impl TenantRef {
    /// Parses a path segment or CLI argument. Never fails: anything that is not a GUID is a name.
    pub fn parse(text: &str) -> Self {
        if let Ok(id) = text.parse::<TenantId>() {
            return Self::Id(id);
        }
        let lower = text.to_ascii_lowercase();
        let name = lower
            .strip_suffix(".onmicrosoft.com")
            .unwrap_or(&lower)
            .to_owned();
        Self::Name(name)
    }
}

/// Tenant names: 2–63 characters of lower-case letters, digits and inner hyphens, so they are
/// safe as a path segment and as a DNS label.
pub(crate) fn validate_tenant_name(name: &str) -> Result<(), String> {
    let ok_len = (2..=63).contains(&name.len());
    let ok_chars = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let ok_edges = !name.starts_with('-') && !name.ends_with('-');
    let reserved = matches!(
        name,
        "admin"
            | "healthz"
            | "readyz"
            | "metrics"
            | "common"
            | "organizations"
            | "consumers"
            | "static"
    );
    if ok_len && ok_chars && ok_edges && !reserved && name.parse::<TenantId>().is_err() {
        Ok(())
    } else {
        Err(format!(
            "invalid tenant name {name:?}: use 2-63 lower-case letters, digits and inner hyphens \
             (reserved: admin, healthz, readyz, metrics, common, organizations, consumers, static)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_parse_ids_names_and_aliases() {
        let id = TenantId::new_random();
        assert_eq!(TenantRef::parse(&id.to_string()), TenantRef::Id(id));
        assert_eq!(
            TenantRef::parse("Contoso"),
            TenantRef::Name("contoso".into())
        );
        assert_eq!(
            TenantRef::parse("contoso.onmicrosoft.com"),
            TenantRef::Name("contoso".into())
        );
    }

    #[test]
    fn names_are_validated() {
        assert!(validate_tenant_name("contoso").is_ok());
        assert!(validate_tenant_name("a-b-2").is_ok());
        for bad in ["a", "-a", "a-", "Upper", "with space", "admin", "x/y", ""] {
            assert!(validate_tenant_name(bad).is_err(), "{bad}");
        }
    }
}
