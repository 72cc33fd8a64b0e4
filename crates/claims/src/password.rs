//! The password context of OnPasswordSubmit: a compact JWE (`RSA-OAEP-256`, `A256GCM`) to
//! the receiver's RSA key, around an unsigned token with the password, the username and the
//! nonce the answer must echo. Decrypted with aws-lc-rs.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::rsa::{OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey, PrivateDecryptingKey};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD as B64};
use serde::Deserialize;

/// What the person typed, for the legacy store to check.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordContext {
    /// The password.
    pub password: String,
    /// The sign-in name.
    pub username: String,
    /// The nonce the answer must carry (the receiver adds it).
    pub nonce: String,
}

impl std::fmt::Debug for PasswordContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordContext")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// The receiver's RSA private key.
pub struct DecryptionKey(OaepPrivateDecryptingKey);

impl std::fmt::Debug for DecryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DecryptionKey")
    }
}

/// Why a key or a context was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PasswordContextError(pub String);

fn refuse<T>(why: &str) -> Result<T, PasswordContextError> {
    Err(PasswordContextError(why.to_owned()))
}

impl DecryptionKey {
    /// A PKCS#8 RSA private key, PEM (`PRIVATE KEY`) or DER.
    pub fn from_pkcs8(key: &[u8]) -> Result<Self, PasswordContextError> {
        let der = match std::str::from_utf8(key) {
            Ok(text) if text.contains("-----BEGIN PRIVATE KEY-----") => {
                let body: String = text
                    .lines()
                    .filter(|line| !line.starts_with("-----"))
                    .collect();
                STANDARD
                    .decode(body.trim())
                    .map_err(|_| PasswordContextError("unreadable PEM".into()))?
            }
            _ => key.to_vec(),
        };
        let private = PrivateDecryptingKey::from_pkcs8(&der)
            .map_err(|_| PasswordContextError("not a PKCS#8 RSA private key".into()))?;
        OaepPrivateDecryptingKey::new(private)
            .map(Self)
            .map_err(|_| PasswordContextError("not an RSA key for OAEP".into()))
    }

    /// Decrypts a password context.
    pub fn decrypt(&self, jwe: &str) -> Result<PasswordContext, PasswordContextError> {
        let parts: Vec<&str> = jwe.split('.').collect();
        let [header, wrapped, iv, ciphertext, tag] = parts.as_slice() else {
            return refuse("not a compact JWE");
        };
        let decode = |part: &str| {
            B64.decode(part)
                .map_err(|_| PasswordContextError("not base64url".into()))
        };
        #[derive(Deserialize)]
        struct Header {
            alg: String,
            enc: String,
        }
        let parsed: Header = serde_json::from_slice(&decode(header)?)
            .map_err(|_| PasswordContextError("unreadable JWE header".into()))?;
        if parsed.alg != "RSA-OAEP-256" || parsed.enc != "A256GCM" {
            return refuse("only RSA-OAEP-256 with A256GCM");
        }
        let mut cek = vec![0u8; self.0.min_output_size()];
        let cek = self
            .0
            .decrypt(&OAEP_SHA256_MGF1SHA256, &decode(wrapped)?, &mut cek, None)
            .map_err(|_| PasswordContextError("the key does not open it".into()))?;
        let key = UnboundKey::new(&AES_256_GCM, cek)
            .map(LessSafeKey::new)
            .map_err(|_| PasswordContextError("not an A256GCM key".into()))?;
        let nonce = Nonce::try_assume_unique_for_key(&decode(iv)?)
            .map_err(|_| PasswordContextError("bad IV".into()))?;
        let mut sealed = decode(ciphertext)?;
        sealed.extend_from_slice(&decode(tag)?);
        let plain = key
            .open_in_place(nonce, Aad::from(header.as_bytes()), &mut sealed)
            .map_err(|_| PasswordContextError("tampered or not for this key".into()))?;
        let text =
            std::str::from_utf8(plain).map_err(|_| PasswordContextError("not text".into()))?;
        // An unsigned token: its claims are the middle part.
        let claims = text
            .split('.')
            .nth(1)
            .ok_or_else(|| PasswordContextError("no inner token".into()))?;
        #[derive(Deserialize)]
        struct Claims {
            #[serde(rename = "user-password")]
            password: String,
            #[serde(default)]
            username: String,
            nonce: String,
        }
        let claims: Claims = serde_json::from_slice(&decode(claims)?)
            .map_err(|_| PasswordContextError("unreadable inner token".into()))?;
        Ok(PasswordContext {
            password: claims.password,
            username: claims.username,
            nonce: claims.nonce,
        })
    }
}
