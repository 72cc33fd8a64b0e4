//! Typed identifiers, parsed once at the edge so no handler mixes a user id with a client id.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! guid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new random (v4) identifier.
            pub fn new_random() -> Self {
                Self(Uuid::new_v4())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

guid_id!(
    /// A tenant's GUID (the `tid` claim).
    TenantId
);
guid_id!(
    /// An application's client id (the `aud` of its id tokens, `azp` of its access tokens).
    ClientId
);
guid_id!(
    /// A user's object id (the `oid` claim).
    UserId
);
guid_id!(
    /// An SSO session's public id (the `sid` claim); the cookie carries a separate secret.
    SessionId
);
guid_id!(
    /// A grant: everything issued from one user authorization (codes, refresh token family,
    /// access tokens). Revoking it revokes all of them.
    GrantId
);
guid_id!(
    /// A one-time passcode challenge.
    OtpChallengeId
);
guid_id!(
    /// A queued outbound message.
    OutboxId
);
guid_id!(
    /// A user flow.
    UserFlowId
);
guid_id!(
    /// One run of the sign-in engine (a sign-in, sign-up or password reset in progress).
    FlowId
);
guid_id!(
    /// A registered second factor of a user.
    AuthMethodId
);
guid_id!(
    /// A device authorization (RFC 8628): the device holds its secret device code, the person
    /// types its user code.
    DeviceCodeId
);
