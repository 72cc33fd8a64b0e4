//! Custom authentication extensions (issue 14, under way): a company's own service is called
//! at steps of the sign-in engine and the token pipeline, with Microsoft Entra's payloads, so
//! endpoints written for Entra work unchanged. `answer.rs` reads what an extension answers,
//! exactly as Entra reads it, and refuses what Entra refuses with Entra's error numbers.

mod answer;
mod callout;
mod collection;
mod issuance;
mod jwe;
mod otp_send;
mod password_submit;
mod payload;
mod registry;
mod trial;

pub use answer::{
    Answer, AnswerError, ClaimValue, MAX_ANSWER_BYTES, MAX_CLAIMS_BYTES, parse_answer,
};
pub use callout::{
    CalloutError, CalloutFailure, CalloutReply, CalloutRequest, CalloutTransport,
    ENTRA_AUTHENTICATION_EVENTS_APP,
};
pub use issuance::ProvidedClaims;
pub(crate) use password_submit::Migration;
pub use payload::{CalloutContext, envelope, otp_context, sign_up_attributes, sign_up_info};
pub(crate) use registry::validate_claim_name;
pub use registry::{DEFAULT_TIMEOUT_MS, Extension, ExtensionCall, NewExtension, TIMEOUT_MS};
pub use trial::Trial;

/// The events an extension can be attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExtensionEvent {
    /// Before tokens are issued: claims for them (Entra's custom claims provider).
    TokenIssuanceStart,
    /// Before the sign-up page asks for attributes: prefill or block.
    AttributeCollectionStart,
    /// After the person submits attributes: change them, refuse them, or block.
    AttributeCollectionSubmit,
    /// A one-time code is to be sent: the company's service delivers it.
    OtpSend,
    /// A password was submitted for an account still in a legacy store: migrate it.
    PasswordSubmit,
}

impl ExtensionEvent {
    /// Every event.
    pub const ALL: [Self; 5] = [
        Self::TokenIssuanceStart,
        Self::AttributeCollectionStart,
        Self::AttributeCollectionSubmit,
        Self::OtpSend,
        Self::PasswordSubmit,
    ];

    /// The CLI and stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TokenIssuanceStart => "token-issuance-start",
            Self::AttributeCollectionStart => "attribute-collection-start",
            Self::AttributeCollectionSubmit => "attribute-collection-submit",
            Self::OtpSend => "otp-send",
            Self::PasswordSubmit => "password-submit",
        }
    }

    /// The request envelope's `type`.
    pub fn wire_type(self) -> &'static str {
        match self {
            Self::TokenIssuanceStart => "microsoft.graph.authenticationEvent.tokenIssuanceStart",
            Self::AttributeCollectionStart => {
                "microsoft.graph.authenticationEvent.attributeCollectionStart"
            }
            Self::AttributeCollectionSubmit => {
                "microsoft.graph.authenticationEvent.attributeCollectionSubmit"
            }
            Self::OtpSend => "microsoft.graph.authenticationEvent.emailOtpSend",
            Self::PasswordSubmit => "microsoft.graph.authenticationEvent.passwordSubmit",
        }
    }

    /// The request's `data.@odata.type`.
    pub fn callout_data_type(self) -> &'static str {
        match self {
            Self::TokenIssuanceStart => "microsoft.graph.onTokenIssuanceStartCalloutData",
            Self::AttributeCollectionStart => {
                "microsoft.graph.onAttributeCollectionStartCalloutData"
            }
            Self::AttributeCollectionSubmit => {
                "microsoft.graph.onAttributeCollectionSubmitCalloutData"
            }
            Self::OtpSend => "microsoft.graph.onOtpSendCalloutData",
            Self::PasswordSubmit => "microsoft.graph.onPasswordSubmitCalloutData",
        }
    }
}

impl std::str::FromStr for ExtensionEvent {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|e| e.as_str()).collect();
                format!("unknown event {s:?} (expected one of {})", names.join(", "))
            })
    }
}
