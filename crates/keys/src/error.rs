/// What can go wrong with key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The algorithm name is not one Portico signs with.
    #[error("unsupported signing algorithm {0:?} (expected RS256, ES256 or EdDSA)")]
    UnsupportedAlgorithm(String),
    /// The crypto library refused to generate a key.
    #[error("key generation failed")]
    Generation,
    /// Stored key material did not parse as a key of the stated algorithm.
    #[error("stored key material is not a valid {0} key")]
    InvalidKey(&'static str),
    /// Sealed key material could not be opened: wrong master key, or tampered data.
    #[error("sealed key material could not be decrypted (wrong master key or corrupted data)")]
    Unseal,
    /// The master key is not 32 bytes of base64url or standard base64.
    #[error("master key must be 32 bytes, base64 encoded")]
    InvalidMasterKey,
    /// Signing failed inside the crypto library.
    #[error("signing failed")]
    Signing,
    /// Claims could not be serialised.
    #[error("claims could not be serialised: {0}")]
    Serialize(#[from] serde_json::Error),
}
