//! Second factors beyond codes by mail and text: authenticator apps (RFC 6238: SHA-1, six
//! digits, 30-second steps, one step of clock skew, each step usable once) and recovery codes.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use totp_rs::{Builder, Secret, Totp};

use crate::directory::Tenant;
use crate::ids::UserId;
use crate::secret::digest_secret;
use crate::{CoreError, Portico};

/// Recovery codes issued with a user's first second factor.
pub const RECOVERY_CODES: usize = 10;

/// What a person needs to add Portico to an authenticator app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpEnrolment {
    /// The secret in base32, for typing in by hand.
    pub secret: String,
    /// The `otpauth://` URI (for the QR code).
    pub uri: String,
}

/// The sealing context of a user's authenticator secret: a sealed secret opens only for the
/// tenant and user it was made for.
fn totp_context(tenant: &Tenant, user: UserId) -> String {
    format!("portico/totp/{}/{}", tenant.id, user)
}

fn totp(secret: Vec<u8>) -> Result<Totp, CoreError> {
    Builder::new()
        .with_secret(Secret::new(secret.into_boxed_slice()))
        .build()
        .map_err(|e| CoreError::Internal(format!("totp: {e}")))
}

/// A fresh recovery code: 10 characters from an alphabet without look-alikes, shown as two
/// groups of five (`k7m2q-x9c4t`), about 50 bits.
fn recovery_code() -> Result<String, CoreError> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 10];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| CoreError::Internal("rng failed".into()))?;
    let chars: String = bytes
        .iter()
        .map(|b| {
            char::from(
                ALPHABET
                    .get(usize::from(*b) % ALPHABET.len())
                    .copied()
                    .unwrap_or(b'a'),
            )
        })
        .collect();
    Ok(format!(
        "{}-{}",
        chars.get(..5).unwrap_or_default(),
        chars.get(5..).unwrap_or_default()
    ))
}

/// A recovery code as typed, without what does not matter: case, spaces and dashes.
fn normalise_recovery_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// How recovery codes issued before they were keyed are stored (bare SHA-256); still
/// accepted, so no user loses the codes they saved.
pub(crate) fn legacy_recovery_digest(code: &str) -> String {
    digest_secret(&normalise_recovery_code(code))
}

impl Portico {
    /// The stored form of a recovery code: an HMAC under a key derived from the master key
    /// (50 bits of code are too few to survive an offline search of a bare hash).
    pub(crate) fn recovery_digest(&self, code: &str) -> String {
        let tag =
            aws_lc_rs::hmac::sign(&self.recovery_key, normalise_recovery_code(code).as_bytes());
        format!(
            "k1:{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag.as_ref())
        )
    }

    /// Makes a new authenticator secret for `user`, sealed (base64) for the flow's state.
    pub(crate) fn new_totp_secret(
        &self,
        tenant: &Tenant,
        user: UserId,
    ) -> Result<String, CoreError> {
        let mut secret = [0u8; 20];
        aws_lc_rs::rand::fill(&mut secret).map_err(|_| CoreError::Internal("rng failed".into()))?;
        let sealed = self.master.seal(&totp_context(tenant, user), &secret)?;
        Ok(STANDARD.encode(sealed))
    }

    /// The matched time step if `code` is right for the sealed secret at `now`.
    pub(crate) fn check_totp_code(
        &self,
        tenant: &Tenant,
        user: UserId,
        sealed: &[u8],
        code: &str,
    ) -> Result<Option<i64>, CoreError> {
        let secret = self.master.open(&totp_context(tenant, user), sealed)?;
        let now = u64::try_from(self.now()).unwrap_or_default();
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        Ok(totp(secret)?
            .check(&code, now)
            .and_then(|step| i64::try_from(step).ok()))
    }

    /// Base32 secret and `otpauth://` URI for a sealed pending secret.
    pub fn totp_enrolment(
        &self,
        tenant: &Tenant,
        user: UserId,
        account: &str,
        sealed_base64: &str,
    ) -> Result<TotpEnrolment, CoreError> {
        let sealed = STANDARD
            .decode(sealed_base64)
            .map_err(|_| CoreError::Internal("unreadable pending secret".into()))?;
        let secret = self.master.open(&totp_context(tenant, user), &sealed)?;
        let secret = Secret::new(secret.into_boxed_slice()).to_base32();
        let encode =
            |text: &str| url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
        let issuer = encode(&tenant.name).replace('+', "%20");
        let uri = format!(
            "otpauth://totp/{issuer}:{}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits=6&period=30",
            encode(account).replace('+', "%20"),
        );
        Ok(TotpEnrolment { secret, uri })
    }

    /// The current code of a sealed secret (for tests driving an authenticator).
    pub fn totp_code_for(
        &self,
        tenant: &Tenant,
        user: UserId,
        sealed: &[u8],
    ) -> Result<String, CoreError> {
        let secret = self.master.open(&totp_context(tenant, user), sealed)?;
        let now = u64::try_from(self.now()).unwrap_or_default();
        Ok(totp(secret)?.generate(now).to_string())
    }

    /// Fresh recovery codes and their digests.
    pub(crate) fn new_recovery_codes(&self) -> Result<(Vec<String>, Vec<String>), CoreError> {
        let codes = (0..RECOVERY_CODES)
            .map(|_| recovery_code())
            .collect::<Result<Vec<_>, _>>()?;
        let digests = codes.iter().map(|c| self.recovery_digest(c)).collect();
        Ok((codes, digests))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_ignore_case_and_dashes() {
        let code = recovery_code().unwrap();
        assert_eq!(code.len(), 11);
        assert_eq!(
            legacy_recovery_digest(&code),
            legacy_recovery_digest(&code.to_uppercase().replace('-', " "))
        );
    }

    #[test]
    fn rfc_6238_test_vector() {
        // RFC 6238 appendix B, SHA-1, truncated to six digits.
        let t = totp(b"12345678901234567890".to_vec()).unwrap();
        assert_eq!(t.generate(59).to_string(), "287082");
        assert_eq!(t.generate(1_111_111_109).to_string(), "081804");
        assert_eq!(
            t.check("081804", 1_111_111_109 + 30),
            Some(1_111_111_109 / 30)
        );
    }
}
