//! A software passkey for the benchmark: what a platform authenticator and the browser in
//! front of it answer (a P-256 key, attestation `none`, user verified, no signature counter,
//! as synced passkeys have). The signing is aws-lc-rs's; this file only lays out the bytes
//! WebAuthn defines (authenticator data, client data, the attestation object in CBOR).
//! The tests drive Portico with 1Password's `passkey` crate; the benchmark needs only the
//! happy path, fast and without the crate's client checks in the measured loop.

use std::collections::BTreeMap;

use anyhow::{Context as _, Result};
use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_cbor_2::Value as Cbor;

/// Flags in authenticator data: user present, user verified, attested credential data.
const USER_PRESENT: u8 = 0x01;
const USER_VERIFIED: u8 = 0x04;
const ATTESTED: u8 = 0x40;

/// One passkey at one origin.
pub(crate) struct SoftPasskey {
    origin: String,
    key: EcdsaKeyPair,
    credential_id: Vec<u8>,
    user_handle: String,
}

impl SoftPasskey {
    /// Answers registration options (`publicKey` of `create()`, as Portico's page carries
    /// them): the passkey, and the answer to post (`PublicKeyCredential.toJSON()`).
    pub(crate) fn register(origin: &str, options: &serde_json::Value) -> Result<(Self, String)> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            .map_err(|_| anyhow::anyhow!("key generation"))?;
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref())
            .map_err(|_| anyhow::anyhow!("key"))?;
        let mut credential_id = vec![0u8; 32];
        rng.fill(&mut credential_id)
            .map_err(|_| anyhow::anyhow!("random"))?;
        let text = |pointer: &str| {
            options
                .pointer(pointer)
                .and_then(serde_json::Value::as_str)
                .with_context(|| format!("no {pointer} in the options"))
        };
        let rp_id = text("/rp/id")?;
        let challenge = text("/challenge")?;
        let user_handle = text("/user/id")?.to_owned();

        // COSE_Key (RFC 9053): EC2, ES256, P-256, x, y from the uncompressed point.
        let point = key.public_key().as_ref();
        let coordinate = |range: std::ops::Range<usize>| {
            point
                .get(range)
                .map(|c| Cbor::Bytes(c.to_vec()))
                .context("public key point")
        };
        let cose = Cbor::Map(BTreeMap::from([
            (Cbor::Integer(1), Cbor::Integer(2)),
            (Cbor::Integer(3), Cbor::Integer(-7)),
            (Cbor::Integer(-1), Cbor::Integer(1)),
            (Cbor::Integer(-2), coordinate(1..33)?),
            (Cbor::Integer(-3), coordinate(33..65)?),
        ]));
        let mut auth_data = authenticator_data(rp_id, USER_PRESENT | USER_VERIFIED | ATTESTED);
        auth_data.extend_from_slice(&[0u8; 16]); // AAGUID: not said
        auth_data.extend_from_slice(&u16::try_from(credential_id.len())?.to_be_bytes());
        auth_data.extend_from_slice(&credential_id);
        auth_data.extend(serde_cbor_2::to_vec(&cose)?);
        let attestation = Cbor::Map(BTreeMap::from([
            (Cbor::Text("fmt".into()), Cbor::Text("none".into())),
            (Cbor::Text("attStmt".into()), Cbor::Map(BTreeMap::new())),
            (Cbor::Text("authData".into()), Cbor::Bytes(auth_data)),
        ]));
        let passkey = Self {
            origin: origin.to_owned(),
            key,
            credential_id,
            user_handle,
        };
        let answer = serde_json::json!({
            "id": URL_SAFE_NO_PAD.encode(&passkey.credential_id),
            "rawId": URL_SAFE_NO_PAD.encode(&passkey.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": URL_SAFE_NO_PAD.encode(passkey.client_data("webauthn.create", challenge)),
                "attestationObject": URL_SAFE_NO_PAD.encode(serde_cbor_2::to_vec(&attestation)?),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
        });
        Ok((passkey, answer.to_string()))
    }

    /// Answers request options (`publicKey` of `get()`) as the `passkey` grant's fields.
    pub(crate) fn sign_in(
        &self,
        options: &serde_json::Value,
    ) -> Result<Vec<(&'static str, String)>> {
        let text = |name: &str| {
            options
                .get(name)
                .and_then(serde_json::Value::as_str)
                .with_context(|| format!("no {name} in the options"))
        };
        let auth_data = authenticator_data(text("rpId")?, USER_PRESENT | USER_VERIFIED);
        let client_data = self.client_data("webauthn.get", text("challenge")?);
        let mut signed = auth_data.clone();
        signed.extend_from_slice(digest(&SHA256, client_data.as_bytes()).as_ref());
        let signature = self
            .key
            .sign(&SystemRandom::new(), &signed)
            .map_err(|_| anyhow::anyhow!("signing"))?;
        Ok(vec![
            ("credential_id", URL_SAFE_NO_PAD.encode(&self.credential_id)),
            ("authenticator_data", URL_SAFE_NO_PAD.encode(&auth_data)),
            ("client_data_json", URL_SAFE_NO_PAD.encode(client_data)),
            ("signature", URL_SAFE_NO_PAD.encode(signature.as_ref())),
            ("user_handle", self.user_handle.clone()),
        ])
    }

    fn client_data(&self, kind: &str, challenge: &str) -> String {
        serde_json::json!({
            "type": kind,
            "challenge": challenge,
            "origin": self.origin,
            "crossOrigin": false,
        })
        .to_string()
    }
}

/// The relying party's hash, the flags, and a signature counter of zero (none kept).
fn authenticator_data(rp_id: &str, flags: u8) -> Vec<u8> {
    let mut data = digest(&SHA256, rp_id.as_bytes()).as_ref().to_vec();
    data.push(flags);
    data.extend_from_slice(&0u32.to_be_bytes());
    data
}
