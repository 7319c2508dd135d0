//! The store's error type. Callers see what kind of failure happened; the underlying database
//! message is kept for logs and never shown to users.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL: use sqlite://PATH or postgres://...")]
    UnsupportedUrl,
    #[error("cannot open the database at {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("database migration failed: {0}")]
    Migrate(String),
    /// A uniqueness rule was violated (e.g. a slug or email already taken).
    #[error("already exists: {0}")]
    Conflict(String),
    #[error("not found")]
    NotFound,
    /// A stored value could not be turned back into a domain value.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
}

impl StoreError {
    /// Maps an sqlx error, turning unique-constraint violations into [`StoreError::Conflict`].
    pub(crate) fn from_sqlx(err: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &err {
            if db.is_unique_violation() {
                let what = db
                    .constraint()
                    .map(str::to_owned)
                    .unwrap_or_else(|| db.message().to_owned());
                return StoreError::Conflict(what);
            }
        }
        StoreError::Database(err)
    }
}
