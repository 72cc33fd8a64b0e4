//! OAuth 2.0 and OpenID Connect rules: authorization requests, client authentication, grants,
//! PKCE, scopes, userinfo and logout (RP-initiated, front- and back-channel). Wire parsing lives in the HTTP crate; the rules live here.

mod authorize;
mod authorize_answer;
mod backchannel;
mod bearer;
mod client_assertion;
mod client_auth;
mod consent;
mod device;
mod dpop;
mod error;
mod front_channel;
mod grants;
mod introspection;
mod logout;
mod on_behalf_of;
mod par;
mod pkce;
mod refresh;
mod resource;
mod scope;
mod token_exchange;

pub use authorize::{
    AuthorizeDecision, AuthorizeFailure, AuthorizeParams, AuthorizeRequest, AuthorizeResponse,
    Prompt, ResponseMode,
};
pub use backchannel::{
    BACKCHANNEL_LOGOUT_EVENT, BackchannelLogout, LOGOUT_TOKEN_TYP, LogoutTokens,
};
pub use bearer::{Presentation, UserInfo};
pub use client_assertion::JWT_BEARER_ASSERTION;
pub use client_auth::{ClientAuthMethod, ClientCredentials};
pub use consent::ConsentView;
pub use device::{
    DEVICE_CODE_GRANT, DeviceAuthorization, DeviceAuthorizationRequest, PendingDevice,
    display_user_code, normalize_user_code,
};
pub use dpop::{DPOP_ALGORITHMS, DPOP_PROOF_TYP, DpopKey, DpopRequest, DpopUse, proof_key};
pub use error::{OAuthError, OAuthErrorCode};
pub use front_channel::ResponseType;
pub use grants::{DpopHeader, ExchangeParams, TokenRequest};
pub use introspection::Introspection;
pub use logout::{LogoutOutcome, LogoutRequest};
pub use on_behalf_of::JWT_BEARER_GRANT;
pub use par::{PushedAuthorization, REQUEST_URI_PREFIX};
pub use pkce::verify_s256;
pub use resource::Audience;
pub use scope::{OIDC_SCOPES, Scope, is_scope_byte};
pub use token_exchange::TOKEN_EXCHANGE_GRANT;
