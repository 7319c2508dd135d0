//! People who can sign in.

use std::str::FromStr;

use switchboard_domain::{Timestamp, UserId};

use crate::StoreError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserStatus {
    Active,
    Disabled,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Disabled => "disabled",
        }
    }
}

impl FromStr for UserStatus {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(UserStatus::Active),
            "disabled" => Ok(UserStatus::Disabled),
            other => Err(StoreError::Corrupt(format!("user status `{other}`"))),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    pub id: UserId,
    /// Stored lower-cased; the app normalises before saving and before looking up.
    pub email: String,
    pub name: String,
    /// An argon2id PHC string; `None` for users who only sign in through SSO.
    pub password_hash: Option<String>,
    pub is_operator: bool,
    pub status: UserStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[async_trait::async_trait]
pub trait UserRepo: Send + Sync {
    /// Saves a new user; [`StoreError::Conflict`] when the email is taken.
    async fn insert(&self, user: &UserRecord) -> Result<(), StoreError>;
    async fn get(&self, id: UserId) -> Result<Option<UserRecord>, StoreError>;
    async fn get_by_email(&self, email: &str) -> Result<Option<UserRecord>, StoreError>;
    async fn count(&self) -> Result<u64, StoreError>;
}
