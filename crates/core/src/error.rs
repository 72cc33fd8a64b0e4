//! Domain errors. Each layer has its own; the HTTP edge maps them to wire errors.

/// Errors from the store. Backends map their driver errors into these.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was violated (a name or email already taken).
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// A row the caller named does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A concurrent writer changed the row first; the caller may retry.
    #[error("concurrent update")]
    Contended,
    /// What the write hangs on ended first: the session was signed out, or the user signed
    /// out everywhere or disabled, while the write was on its way.
    #[error("the sign-in ended")]
    SessionEnded,
    /// The database failed or returned data that does not decode.
    #[error("database error: {0}")]
    Backend(String),
}

/// Errors of the domain services.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// Input that violates a domain rule; the message is safe to show to the caller.
    #[error("{0}")]
    Invalid(String),
    /// The named thing does not exist (in this tenant).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The thing exists already.
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// The server is at capacity for expensive work (password hashing); try again shortly.
    #[error("server busy")]
    Busy,
    /// This client asked for too much too fast (a rate limit); try again later.
    #[error("too many requests from this client")]
    RateLimited,
    /// The sign-in ended (a sign-out, a sign-out everywhere, a disabled account) while the
    /// request was being answered: nothing was issued; the person signs in again.
    #[error("the sign-in ended")]
    SessionEnded,
    /// A custom authentication extension failed or answered what Entra would refuse, at a
    /// step that fails closed: nothing was issued. Carries Entra's error number and name.
    #[error("custom authentication extension failed: {code} {name}")]
    Extension {
        /// Entra's number (1003xxx).
        code: u32,
        /// Entra's name for it.
        name: &'static str,
    },
    /// Key material failed.
    #[error(transparent)]
    Key(#[from] portico_keys::KeyError),
    /// The store failed.
    #[error("store: {0}")]
    Store(StoreError),
    /// An internal invariant broke; details are logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for CoreError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict(what) => Self::Conflict(what),
            StoreError::NotFound(what) => Self::NotFound(what),
            StoreError::SessionEnded => Self::SessionEnded,
            other => Self::Store(other),
        }
    }
}
