use std::fmt;
use std::str::FromStr;

use crate::KeyError;

/// The JWS algorithms a tenant can sign tokens with.
///
/// RS256 is the default because Microsoft's client libraries and most API middleware expect it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SigningAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 over a 2048-bit key.
    #[default]
    Rs256,
    /// ECDSA over P-256 with SHA-256 (fixed-length signatures, as JWS requires).
    Es256,
    /// Ed25519.
    EdDsa,
}

impl SigningAlgorithm {
    /// The JOSE `alg` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SigningAlgorithm {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "RS256" => Ok(Self::Rs256),
            "ES256" => Ok(Self::Es256),
            "EdDSA" => Ok(Self::EdDsa),
            other => Err(KeyError::UnsupportedAlgorithm(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for alg in [
            SigningAlgorithm::Rs256,
            SigningAlgorithm::Es256,
            SigningAlgorithm::EdDsa,
        ] {
            assert_eq!(alg.as_str().parse::<SigningAlgorithm>().ok(), Some(alg));
        }
        assert!("HS256".parse::<SigningAlgorithm>().is_err());
        assert!("rs256".parse::<SigningAlgorithm>().is_err());
    }
}
