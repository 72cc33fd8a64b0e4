//! Passkeys against the real server, with 1Password's software authenticator and WebAuthn
//! client (the `passkey` crate) standing in for the browser's: it checks the options Portico
//! sends as a browser would (relying party against origin, algorithms, user verification) and
//! answers with what a browser's `PublicKeyCredential` serialises to.

use passkey::authenticator::{
    Authenticator, CredentialStore, DiscoverabilitySupport, StoreInfo, UiHint, UserCheck,
    UserValidationMethod,
};
use passkey::client::{Client, DefaultClientData};
use passkey::crypto::aws_lc_rs::AwsLcRsBackend;
use passkey::types::Passkey;
use passkey::types::ctap2::make_credential::{
    Options, PublicKeyCredentialRpEntity, PublicKeyCredentialUserEntity,
};
use passkey::types::ctap2::{Aaguid, Ctap2Error, StatusCode};
use passkey::types::webauthn::PublicKeyCredentialDescriptor;
use passkey::types::webauthn::{CredentialCreationOptions, CredentialRequestOptions};
use portico_core::directory::TenantRef;
use portico_core::passkeys::PasskeyPolicy;

use crate::harness::TestServer;

/// The keys an authenticator holds. Unlike the crate's `Keyring` it finds keys without
/// an allow-list (discoverable credentials, as Portico's passkeys are), by relying party.
/// `forges_rp`: an attacker's authenticator, which signs for whatever relying party it is
/// asked about with the keys it holds.
#[derive(Clone, Default)]
pub(crate) struct Keyring {
    keys: Vec<Passkey>,
    forges_rp: bool,
}

#[async_trait::async_trait]
impl CredentialStore for Keyring {
    type PasskeyItem = Passkey;

    async fn find_credentials(
        &self,
        allow_credentials: Option<&[PublicKeyCredentialDescriptor]>,
        rp_id: &str,
        _user_handle: Option<&[u8]>,
    ) -> Result<Vec<Passkey>, StatusCode> {
        let found: Vec<Passkey> = self
            .keys
            .iter()
            .filter(|key| self.forges_rp || key.rp_id == rp_id)
            .filter(|key| {
                allow_credentials.is_none_or(|allowed| {
                    allowed.is_empty() || allowed.iter().any(|d| d.id == key.credential_id)
                })
            })
            .cloned()
            .collect();
        if found.is_empty() {
            Err(Ctap2Error::NoCredentials.into())
        } else {
            Ok(found)
        }
    }

    async fn save_credential(
        &mut self,
        key: Passkey,
        _user: PublicKeyCredentialUserEntity,
        _rp: PublicKeyCredentialRpEntity,
        _options: Options,
    ) -> Result<(), StatusCode> {
        self.keys.push(key);
        Ok(())
    }

    async fn update_credential(&mut self, key: &Passkey) -> Result<(), StatusCode> {
        for held in &mut self.keys {
            if held.credential_id == key.credential_id {
                *held = key.clone();
            }
        }
        Ok(())
    }

    async fn get_info(&self) -> StoreInfo {
        StoreInfo {
            discoverability: DiscoverabilitySupport::Full,
        }
    }
}

/// The person at the authenticator: present, and verified (PIN, fingerprint) unless told not.
struct Person {
    verifies: bool,
}

#[async_trait::async_trait]
impl UserValidationMethod for Person {
    type PasskeyItem = Passkey;

    async fn check_user<'a>(
        &self,
        _hint: UiHint<'a, Passkey>,
        presence: bool,
        verification: bool,
    ) -> Result<UserCheck, Ctap2Error> {
        Ok(UserCheck {
            presence,
            verification: verification && self.verifies,
        })
    }

    fn is_verification_enabled(&self) -> Option<bool> {
        Some(self.verifies)
    }

    fn is_presence_enabled(&self) -> bool {
        true
    }
}

/// A software passkey authenticator and the WebAuthn client in front of it, at `origin`.
pub(crate) struct SoftKey {
    client: Client<Keyring, Person, AwsLcRsBackend, public_suffix::PublicSuffixList, ()>,
    origin: url::Url,
}

impl SoftKey {
    /// A new authenticator at `origin` (counting its signatures when `counter`).
    pub(crate) fn new(origin: &str, verifies: bool, counter: bool) -> Self {
        Self::with_store(origin, verifies, counter, Keyring::default())
    }

    fn with_store(origin: &str, verifies: bool, counter: bool, store: Keyring) -> Self {
        let mut authenticator = Authenticator::new(
            Aaguid::new_empty(),
            store,
            Person { verifies },
            AwsLcRsBackend,
        );
        authenticator.set_make_credentials_with_signature_counter(counter);
        Self {
            client: Client::new(authenticator).allows_insecure_localhost(true),
            origin: url::Url::parse(origin).unwrap(),
        }
    }

    /// The same keys on another authenticator (a cloned one), at `origin`, whose holder
    /// verifies (or skips the PIN).
    pub(crate) fn clone_to(&self, origin: &str, verifies: bool) -> Self {
        let store = self.client.authenticator().store().clone();
        Self::with_store(origin, verifies, true, store)
    }

    /// The same keys on an authenticator that signs for any relying party it is asked
    /// about, behind a client at `origin` (a phishing site's).
    pub(crate) fn forging_relying_party(&self, origin: &str) -> Self {
        let mut store = self.client.authenticator().store().clone();
        store.forges_rp = true;
        Self::with_store(origin, true, true, store)
    }

    /// Answers a registration: `public_key` is the options Portico sent (JSON).
    pub(crate) async fn register(
        &mut self,
        public_key: &serde_json::Value,
    ) -> Result<String, String> {
        let request: CredentialCreationOptions =
            serde_json::from_value(serde_json::json!({ "publicKey": public_key }))
                .map_err(|e| format!("options: {e}"))?;
        let created = self
            .client
            .register(&self.origin, request, DefaultClientData)
            .await
            .map_err(|e| format!("{e:?}"))?;
        Ok(browser_json(&created))
    }

    /// Answers a sign-in: `public_key` is the options Portico sent (JSON).
    pub(crate) async fn sign_in(
        &mut self,
        public_key: &serde_json::Value,
    ) -> Result<String, String> {
        let request: CredentialRequestOptions =
            serde_json::from_value(serde_json::json!({ "publicKey": public_key }))
                .map_err(|e| format!("options: {e}"))?;
        let asserted = self
            .client
            .authenticate(&self.origin, request, DefaultClientData)
            .await
            .map_err(|e| format!("{e:?}"))?;
        Ok(browser_json(&asserted))
    }
}

/// The `passkey` grant's fields from an answer (base64url, as `toJSON()` has them).
pub(crate) fn grant_fields(answer: &str) -> Vec<(String, String)> {
    let answer: serde_json::Value = serde_json::from_str(answer).unwrap();
    let response = &answer["response"];
    let mut fields = vec![
        (
            "credential_id".to_owned(),
            answer["rawId"].as_str().unwrap().to_owned(),
        ),
        (
            "authenticator_data".to_owned(),
            response["authenticatorData"].as_str().unwrap().to_owned(),
        ),
        (
            "client_data_json".to_owned(),
            response["clientDataJSON"].as_str().unwrap().to_owned(),
        ),
        (
            "signature".to_owned(),
            response["signature"].as_str().unwrap().to_owned(),
        ),
    ];
    if let Some(handle) = response["userHandle"].as_str() {
        fields.push(("user_handle".to_owned(), handle.to_owned()));
    }
    fields
}

/// What a browser's `PublicKeyCredential.toJSON()` gives: the crate writes binary fields
/// as arrays of numbers, browsers as base64url text.
fn browser_json(credential: &impl serde::Serialize) -> String {
    fn to_text(value: serde_json::Value) -> serde_json::Value {
        use base64::Engine as _;
        match value {
            serde_json::Value::Array(items)
                if !items.is_empty()
                    && items.iter().all(|i| i.as_u64().is_some_and(|b| b < 256)) =>
            {
                let bytes: Vec<u8> = items
                    .iter()
                    .filter_map(|i| i.as_u64().and_then(|b| u8::try_from(b).ok()))
                    .collect();
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(bytes)
                    .into()
            }
            serde_json::Value::Array(items) => items.into_iter().map(to_text).collect(),
            serde_json::Value::Object(map) => {
                map.into_iter().map(|(k, v)| (k, to_text(v))).collect()
            }
            other => other,
        }
    }
    to_text(serde_json::to_value(credential).unwrap()).to_string()
}

/// The origin a browser would show Portico's pages at: `localhost` (a relying-party id must
/// be a domain name, not the harness's 127.0.0.1), on the server's port.
pub(crate) fn localhost_origin(server: &TestServer) -> String {
    let port = url::Url::parse(&server.base).unwrap().port().unwrap();
    format!("http://localhost:{port}")
}

/// Makes `localhost` at the server's port the tenant's relying party.
pub(crate) async fn localhost_relying_party(
    server: &TestServer,
    change: impl FnOnce(&mut PasskeyPolicy),
) {
    let tenant = TenantRef::Id(server.tenant.id);
    let mut settings = (*server.portico().tenant_settings_of(&tenant).await.unwrap()).clone();
    settings.passkeys.rp_id = Some("localhost".into());
    settings.passkeys.origins = vec![localhost_origin(server)];
    change(&mut settings.passkeys);
    server
        .portico()
        .set_tenant_settings(&tenant, settings)
        .await
        .unwrap();
}

/// Registers a passkey on `key` for `email` through the core API (the security page's
/// ceremony, without the page).
pub(crate) async fn enrol(server: &TestServer, key: &mut SoftKey, email: &str) -> String {
    let portico = server.portico();
    let user = portico
        .store
        .find_user_by_email(server.tenant.id, email)
        .await
        .unwrap()
        .unwrap();
    let options = portico
        .begin_passkey_registration(&server.tenant, &user, "test-enrolment")
        .await
        .unwrap();
    let response = key.register(&options.public_key).await.unwrap();
    portico
        .finish_passkey_registration(
            &server.tenant,
            &user,
            "test-enrolment",
            &options.challenge_id,
            &response,
            Some("Test key"),
        )
        .await
        .unwrap()
        .credential_id
}

/// A page's passkey ceremony: the options in its JSON script element, and its hidden form
/// fields but the (still empty) answer.
pub(crate) struct PasskeyPage {
    pub(crate) public_key: serde_json::Value,
    pub(crate) form: Vec<(String, String)>,
}

impl PasskeyPage {
    pub(crate) fn read(html: &str) -> Self {
        let start = html
            .find("id=\"passkey-options\"")
            .expect("passkey options");
        let json_start = start + html[start..].find('>').unwrap() + 1;
        let json_end = json_start + html[json_start..].find("</script>").unwrap();
        Self {
            public_key: serde_json::from_str(&html[json_start..json_end]).unwrap(),
            form: crate::harness::hidden_inputs(html)
                .into_iter()
                .filter(|(name, _)| name != "passkey_response")
                .collect(),
        }
    }

    /// A hidden field's value.
    pub(crate) fn field(&self, name: &str) -> String {
        self.form
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
}

/// `app`'s sign-in page (an authorization code request), in `client`.
pub(crate) async fn sign_in_page(
    server: &TestServer,
    client: &reqwest::Client,
    app: &str,
) -> String {
    let page = client
        .get(server.url("oauth2/v2.0/authorize"))
        .query(&[
            ("client_id", app),
            ("response_type", "code"),
            ("redirect_uri", &server.redirect_uri()),
            ("scope", "openid"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    page.text().await.unwrap()
}

/// The page after `email`'s password on `app`'s sign-in page.
pub(crate) async fn after_password(
    server: &TestServer,
    client: &reqwest::Client,
    app: &str,
    email: &str,
) -> reqwest::Response {
    let html = sign_in_page(server, client, app).await;
    crate::harness::submit_sign_in(server, client, &html, email, crate::harness::PASSWORD).await
}

/// A server whose relying party is `localhost`, with `users` (password `PASSWORD`) and a
/// confidential web app served by a flow of `config`: the app and its secret.
pub(crate) async fn passkey_server(
    users: &[&str],
    config: portico_core::directory::UserFlowConfig,
) -> (TestServer, String, String) {
    let server = TestServer::start().await;
    localhost_relying_party(&server, |_| {}).await;
    for user in users {
        server.user(user).await;
    }
    let (app, secret) = server.app(portico_core::directory::AppKind::Web).await;
    crate::page::flow_for(&server, &app, config).await;
    (server, app, secret.unwrap())
}
