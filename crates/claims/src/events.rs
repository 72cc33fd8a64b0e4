//! The five events' requests, typed, and the answers a handler gives, written in the exact
//! shapes Entra (and Portico) read.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Where the person is signing in from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientInfo {
    /// Their IP address (`0.0.0.0` when not known).
    #[serde(default)]
    pub ip: Option<String>,
    /// Their language (`en-us`).
    #[serde(default)]
    pub locale: Option<String>,
    /// Their market.
    #[serde(default)]
    pub market: Option<String>,
}

/// An app as the payload describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipal {
    /// Its object id.
    #[serde(default)]
    pub id: Option<String>,
    /// Its application (client) id.
    #[serde(default)]
    pub app_id: Option<String>,
    /// Its name.
    #[serde(default)]
    pub app_display_name: Option<String>,
    /// Its display name.
    #[serde(default)]
    pub display_name: Option<String>,
}

/// The account (token issuance and password submit; only populated properties are sent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// Object id.
    #[serde(default)]
    pub id: Option<String>,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Given name.
    #[serde(default)]
    pub given_name: Option<String>,
    /// Surname.
    #[serde(default)]
    pub surname: Option<String>,
    /// Email address.
    #[serde(default)]
    pub mail: Option<String>,
    /// User principal name.
    #[serde(default)]
    pub user_principal_name: Option<String>,
    /// `Member` or `Guest`.
    #[serde(default)]
    pub user_type: Option<String>,
    /// Company.
    #[serde(default)]
    pub company_name: Option<String>,
    /// Created (RFC 3339).
    #[serde(default)]
    pub created_date_time: Option<String>,
    /// Preferred language.
    #[serde(default)]
    pub preferred_language: Option<String>,
}

/// `data.authenticationContext`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationContext {
    /// The sign-in's correlation id (required: a request without one is refused).
    #[serde(default)]
    pub correlation_id: String,
    /// Where the person is.
    #[serde(default)]
    pub client: ClientInfo,
    /// `OAUTH2.0`.
    #[serde(default)]
    pub protocol: Option<String>,
    /// One-time codes: `signUp`, `signIn` or `passwordReset`.
    #[serde(default)]
    pub request_type: Option<String>,
    /// The app the person signs in to.
    #[serde(default)]
    pub client_service_principal: Option<ServicePrincipal>,
    /// The API the token is for.
    #[serde(default)]
    pub resource_service_principal: Option<ServicePrincipal>,
    /// The account, once there is one.
    #[serde(default)]
    pub user: Option<User>,
}

/// What every event carries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventCommon {
    /// The tenant.
    #[serde(default)]
    pub tenant_id: String,
    /// The listener that fired.
    #[serde(default)]
    pub authentication_event_listener_id: String,
    /// The extension called.
    #[serde(default)]
    pub custom_authentication_extension_id: String,
    /// Who and what the call is about.
    #[serde(default)]
    pub authentication_context: AuthenticationContext,
}

/// One attribute value of attribute collection.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AttributeValue {
    /// `microsoft.graph.stringDirectoryAttributeValue`, `…int64…` or `…boolean…`.
    #[serde(rename = "@odata.type", alias = "@odata.Type", default)]
    pub odata_type: String,
    /// The value (several choices as one comma-delimited string).
    #[serde(default)]
    pub value: Value,
    /// `builtIn` or `directorySchemaExtension`.
    #[serde(rename = "attributeType", default)]
    pub attribute_type: Option<String>,
}

/// An identity being signed up.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    /// `email`, `federated`, `userName`, …
    #[serde(default)]
    pub sign_in_type: Option<String>,
    /// Who vouches for it (`mail`, `google.com`, the tenant).
    #[serde(default)]
    pub issuer: Option<String>,
    /// The identifier.
    #[serde(default)]
    pub issuer_assigned_id: Option<String>,
}

/// `data.userSignUpInfo`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignUpInfo {
    /// Attributes by name.
    #[serde(default)]
    pub attributes: BTreeMap<String, AttributeValue>,
    /// The identities.
    #[serde(default)]
    pub identities: Vec<Identity>,
}

/// `data.otpContext`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OtpContext {
    /// Where the code goes (an email address).
    #[serde(default)]
    pub identifier: String,
    /// The code.
    #[serde(default, alias = "onetimecode")]
    pub one_time_code: String,
}

/// An event's request.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Claims for a token.
    TokenIssuanceStart(EventCommon),
    /// Before the sign-up page.
    AttributeCollectionStart(EventCommon, SignUpInfo),
    /// After the sign-up page.
    AttributeCollectionSubmit(EventCommon, SignUpInfo),
    /// A code to deliver.
    OtpSend(EventCommon, OtpContext),
    /// A password to check against a legacy store (the encrypted context as sent).
    PasswordSubmit(EventCommon, Option<String>),
}

impl Event {
    /// What every event carries.
    pub fn common(&self) -> &EventCommon {
        match self {
            Self::TokenIssuanceStart(common)
            | Self::AttributeCollectionStart(common, _)
            | Self::AttributeCollectionSubmit(common, _)
            | Self::OtpSend(common, _)
            | Self::PasswordSubmit(common, _) => common,
        }
    }
}

/// Why a request body was refused (400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadRequest(pub String);

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type", default)]
    kind: String,
    data: Map<String, Value>,
}

fn field<T: serde::de::DeserializeOwned + Default>(
    data: &Map<String, Value>,
    name: &str,
) -> Result<T, BadRequest> {
    match data.get(name) {
        None | Some(Value::Null) => Ok(T::default()),
        Some(value) => serde_json::from_value(value.clone())
            .map_err(|e| BadRequest(format!("data.{name}: {e}"))),
    }
}

/// Reads a request body: the event by its `type` (or `data.@odata.type`), its data typed.
/// Refuses a body that is not JSON, an unknown event, a missing `correlationId`, and a user
/// object without an id.
pub fn parse_event(body: &[u8]) -> Result<Event, BadRequest> {
    let envelope: Envelope =
        serde_json::from_slice(body).map_err(|e| BadRequest(format!("not a request: {e}")))?;
    let common: EventCommon = serde_json::from_value(Value::Object(envelope.data.clone()))
        .map_err(|e| BadRequest(format!("data: {e}")))?;
    if common
        .authentication_context
        .correlation_id
        .trim()
        .is_empty()
    {
        return Err(BadRequest(
            "authenticationContext.correlationId is missing".into(),
        ));
    }
    if let Some(user) = &common.authentication_context.user
        && user.id.as_deref().is_none_or(str::is_empty)
    {
        return Err(BadRequest(
            "authenticationContext.user.id is missing".into(),
        ));
    }
    let odata = envelope
        .data
        .get("@odata.type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    let kind = envelope.kind.to_ascii_lowercase();
    let is = |event: &str, data_type: &str| kind.ends_with(event) || odata.ends_with(data_type);
    let data = &envelope.data;
    if is(".tokenissuancestart", ".ontokenissuancestartcalloutdata") {
        Ok(Event::TokenIssuanceStart(common))
    } else if is(
        ".attributecollectionstart",
        ".onattributecollectionstartcalloutdata",
    ) {
        Ok(Event::AttributeCollectionStart(
            common,
            field(data, "userSignUpInfo")?,
        ))
    } else if is(
        ".attributecollectionsubmit",
        ".onattributecollectionsubmitcalloutdata",
    ) {
        Ok(Event::AttributeCollectionSubmit(
            common,
            field(data, "userSignUpInfo")?,
        ))
    } else if is(".emailotpsend", ".onotpsendcalloutdata") {
        Ok(Event::OtpSend(common, field(data, "otpContext")?))
    } else if is(".passwordsubmit", ".onpasswordsubmitcalloutdata") {
        let context: Option<String> = field(data, "encryptedPasswordContext")?;
        Ok(Event::PasswordSubmit(common, context))
    } else {
        Err(BadRequest(format!("unknown event {:?}", envelope.kind)))
    }
}

/// A claim value: a string or a list of strings (nothing else is accepted by Entra).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum ClaimValue {
    /// A string.
    Text(String),
    /// A list of strings.
    List(Vec<String>),
}

impl From<&str> for ClaimValue {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

impl From<String> for ClaimValue {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

impl From<Vec<String>> for ClaimValue {
    fn from(items: Vec<String>) -> Self {
        Self::List(items)
    }
}

/// A token-issuance handler's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimsDecision {
    /// These claims for the token (none is a handler error: 500).
    Allow(BTreeMap<String, ClaimValue>),
    /// No token (403).
    Deny,
}

/// Before the sign-up page.
#[derive(Debug, Clone, PartialEq)]
pub enum StartAction {
    /// Go on.
    Continue,
    /// Prefill these attributes.
    Prefill(Map<String, Value>),
    /// Stop sign-up with this message (Entra's default when `None`).
    Block(Option<String>),
}

/// After the sign-up page.
#[derive(Debug, Clone, PartialEq)]
pub enum SubmitAction {
    /// Go on.
    Continue,
    /// Replace these attributes.
    Modify(Map<String, Value>),
    /// Show these errors and ask again.
    ValidationError {
        /// The page's message.
        message: String,
        /// Attribute → what is wrong with it.
        attribute_errors: BTreeMap<String, String>,
    },
    /// Stop sign-up with this message.
    Block(Option<String>),
}

/// A code to deliver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtpAction {
    /// The handler delivered it.
    Sent,
}

/// A legacy password checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordAction {
    /// Right: the server keeps it and never asks again.
    Migrate,
    /// Right, but the person must choose a new one.
    Update,
    /// Wrong.
    Retry,
    /// Stop.
    Block {
        /// A title.
        title: Option<String>,
        /// A message.
        message: Option<String>,
    },
}

fn response(data_type: &str, action: Value) -> Value {
    json!({"data": {"@odata.type": data_type, "actions": [action]}})
}

/// The answer to a token-issuance request providing `claims`.
pub fn claims_response(claims: &BTreeMap<String, ClaimValue>) -> Value {
    response(
        "microsoft.graph.onTokenIssuanceStartResponseData",
        json!({"@odata.type": "microsoft.graph.tokenIssuanceStart.provideClaimsForToken", "claims": claims}),
    )
}

/// The answer to an attribute-collection-start request.
pub fn start_response(action: &StartAction) -> Value {
    let action = match action {
        StartAction::Continue => {
            json!({"@odata.type": "microsoft.graph.attributeCollectionStart.continueWithDefaultBehavior"})
        }
        StartAction::Prefill(inputs) => {
            json!({"@odata.type": "microsoft.graph.attributeCollectionStart.setPrefillValues", "inputs": inputs})
        }
        StartAction::Block(message) => {
            let mut action =
                json!({"@odata.type": "microsoft.graph.attributeCollectionStart.showBlockPage"});
            if let (Some(message), Some(object)) = (message, action.as_object_mut()) {
                object.insert("message".into(), message.clone().into());
            }
            action
        }
    };
    response(
        "microsoft.graph.onAttributeCollectionStartResponseData",
        action,
    )
}

/// The answer to an attribute-collection-submit request.
pub fn submit_response(action: &SubmitAction) -> Value {
    let action = match action {
        SubmitAction::Continue => {
            json!({"@odata.type": "microsoft.graph.attributeCollectionSubmit.continueWithDefaultBehavior"})
        }
        SubmitAction::Modify(attributes) => {
            json!({"@odata.type": "microsoft.graph.attributeCollectionSubmit.modifyAttributeValues", "attributes": attributes})
        }
        SubmitAction::ValidationError {
            message,
            attribute_errors,
        } => json!({
            "@odata.type": "microsoft.graph.attributeCollectionSubmit.showValidationError",
            "message": message,
            "attributeErrors": attribute_errors,
        }),
        SubmitAction::Block(message) => {
            let mut action =
                json!({"@odata.type": "microsoft.graph.attributeCollectionSubmit.showBlockPage"});
            if let (Some(message), Some(object)) = (message, action.as_object_mut()) {
                object.insert("message".into(), message.clone().into());
            }
            action
        }
    };
    response(
        "microsoft.graph.onAttributeCollectionSubmitResponseData",
        action,
    )
}

/// The answer to a one-time-code request (capitalised as Entra documents it).
pub fn otp_response(_: OtpAction) -> Value {
    response(
        "microsoft.graph.OnOtpSendResponseData",
        json!({"@odata.type": "microsoft.graph.OtpSend.continueWithDefaultBehavior"}),
    )
}

/// The answer to a password-submit request, echoing its `nonce`.
pub fn password_response(action: &PasswordAction, nonce: &str) -> Value {
    let action = match action {
        PasswordAction::Migrate => {
            json!({"@odata.type": "microsoft.graph.passwordSubmit.MigratePassword"})
        }
        PasswordAction::Update => {
            json!({"@odata.type": "microsoft.graph.passwordSubmit.UpdatePassword"})
        }
        PasswordAction::Retry => json!({"@odata.type": "microsoft.graph.passwordSubmit.Retry"}),
        PasswordAction::Block { title, message } => json!({
            "@odata.type": "microsoft.graph.passwordSubmit.Block",
            "title": title,
            "message": message,
        }),
    };
    let mut answer = response("microsoft.graph.onPasswordSubmitResponseData", action);
    if let Some(data) = answer.get_mut("data").and_then(Value::as_object_mut) {
        data.insert("nonce".into(), nonce.into());
    }
    answer
}

#[cfg(test)]
mod tests;
