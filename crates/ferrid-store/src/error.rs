use thiserror::Error;

/// What can go wrong in the storage layer. Callers map these to protocol
/// errors; the text is for logs, never for a caller on the network.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database URL is neither `sqlite://…` nor `postgres://…`.
    #[error("unsupported database URL (expected sqlite://PATH or postgres://…)")]
    UnsupportedUrl,
    /// No connection could be had from the pool. (Its cause is part of
    /// the message, not a separate source, so reports do not repeat it.)
    #[error("database connection pool: {0}")]
    Pool(r2d2::Error),
    /// A query failed.
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
    /// Applying migrations failed.
    #[error("database migration: {0}")]
    Migration(String),
    /// A row with the same unique value exists already.
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// The named row does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A stored value could not be decoded (corrupt row).
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// The operation does not apply to this database.
    #[error("{0}")]
    Unsupported(&'static str),
    /// Password hashing failed (bad parameters).
    #[error("password hashing: {0}")]
    PasswordHash(String),
}

impl StoreError {
    /// Maps a unique-constraint violation to [`StoreError::Conflict`] naming `what`.
    pub(crate) fn conflict_as(what: &'static str) -> impl Fn(diesel::result::Error) -> StoreError {
        move |error| match error {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => StoreError::Conflict(what),
            other => StoreError::Database(other),
        }
    }
}

impl From<r2d2::Error> for StoreError {
    fn from(error: r2d2::Error) -> Self {
        StoreError::Pool(error)
    }
}

impl StoreError {
    /// Whether the database could not be reached or did not answer in
    /// time (as opposed to refusing a query): the caller should try again
    /// later.
    pub fn is_unavailable(&self) -> bool {
        use diesel::result::DatabaseErrorKind;
        match self {
            StoreError::Pool(_) => true,
            StoreError::Database(diesel::result::Error::DatabaseError(kind, info)) => {
                matches!(
                    kind,
                    DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand
                ) || [
                    "statement timeout",  // PostgreSQL's statement_timeout
                    "database is locked", // SQLite's busy timeout
                    "database or disk is full",
                    "disk I/O error", // SQLite, e.g. a file-size limit
                ]
                .iter()
                .any(|cause| info.message().contains(cause))
            }
            _ => false,
        }
    }
}

/// Result alias for the storage layer.
pub type StoreResult<T> = Result<T, StoreError>;
