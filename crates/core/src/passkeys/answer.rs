//! Reading what a client sends back from `navigator.credentials.create()` and `.get()`
//! (JSON, binary fields base64url): outside input, so every reader here is total (a refusal,
//! never a panic) and fuzzed (`passkey_answer`). The WebAuthn checks proper are the
//! library's; these only find what the relying party needs to look up before them.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;
use webauthn_rs_core::internals::AuthenticatorData;
use webauthn_rs_core::proto::{PublicKeyCredential, RegisterPublicKeyCredential, Registration};

use super::PasskeyError;

/// An assertion (`get()`'s answer).
pub fn assertion_of(response: &str) -> Result<PublicKeyCredential, PasskeyError> {
    serde_json::from_str(response)
        .map_err(|e| PasskeyError::Invalid(format!("unreadable response: {e}")))
}

/// A registration (`create()`'s answer).
pub fn registration_of(response: &str) -> Result<RegisterPublicKeyCredential, PasskeyError> {
    serde_json::from_str(response)
        .map_err(|e| PasskeyError::Invalid(format!("unreadable response: {e}")))
}

/// The credential id of an assertion, base64url (as it is stored).
pub fn credential_id(response: &PublicKeyCredential) -> String {
    URL_SAFE_NO_PAD.encode(response.get_credential_id())
}

/// The ceremony an answer (a `PublicKeyCredential` as JSON) belongs to: the challenge its
/// `clientDataJSON` carries. `None` for what is not such an answer.
pub fn challenge_of(response: &str) -> Option<String> {
    let credential: serde_json::Value = serde_json::from_str(response).ok()?;
    let client_data = credential
        .get("response")?
        .get("clientDataJSON")?
        .as_str()?;
    let bytes = URL_SAFE_NO_PAD
        .decode(client_data.trim_end_matches('='))
        .ok()?;
    let client_data: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    Some(client_data.get("challenge")?.as_str()?.to_owned())
}

/// The authenticator model named in a registration's authenticator data (zeros when it did
/// not say, which counts as not saying).
pub fn authenticator_model(registration: &RegisterPublicKeyCredential) -> Option<Uuid> {
    let response = &registration.response;
    let object: serde_cbor_2::Value =
        serde_cbor_2::from_slice(&response.attestation_object).ok()?;
    let serde_cbor_2::Value::Map(map) = object else {
        return None;
    };
    let auth_data = map.iter().find_map(|(key, value)| match (key, value) {
        (serde_cbor_2::Value::Text(name), serde_cbor_2::Value::Bytes(bytes))
            if name == "authData" =>
        {
            Some(bytes)
        }
        _ => None,
    })?;
    let parsed = AuthenticatorData::<Registration>::try_from(auth_data.as_slice()).ok()?;
    let model = Uuid::from_bytes(parsed.acd?.aaguid);
    (!model.is_nil()).then_some(model)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn client_data(challenge: &str) -> String {
        URL_SAFE_NO_PAD.encode(
            serde_json::json!({"type": "webauthn.get", "challenge": challenge, "origin": "https://a.example"})
                .to_string(),
        )
    }

    #[test]
    fn the_ceremony_is_read_from_the_client_data() {
        let answer = serde_json::json!({"response": {"clientDataJSON": client_data("abc")}});
        assert_eq!(challenge_of(&answer.to_string()).as_deref(), Some("abc"));
        for refused in ["", "{}", "[]", r#"{"response": {"clientDataJSON": "!!"}}"#] {
            assert_eq!(challenge_of(refused), None, "{refused}");
        }
    }

    proptest! {
        #[test]
        fn no_answer_makes_the_readers_panic(text in ".{0,400}", bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = challenge_of(&text);
            let _ = assertion_of(&text);
            if let Ok(registration) = registration_of(&text) {
                let _ = authenticator_model(&registration);
            }
            let wrapped = serde_json::json!({
                "id": "AA", "rawId": "AA", "type": "public-key",
                "response": {
                    "attestationObject": URL_SAFE_NO_PAD.encode(&bytes),
                    "clientDataJSON": URL_SAFE_NO_PAD.encode(&bytes),
                },
            });
            if let Ok(registration) = registration_of(&wrapped.to_string()) {
                let _ = authenticator_model(&registration);
            }
        }
    }
}
