//! People who can sign in.

use std::str::FromStr;

use switchboard_domain::{SecretId, Timestamp, UserId};

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
    /// The sealed TOTP secret (pending until `totp_enabled_at` is set).
    pub totp_secret_id: Option<SecretId>,
    pub totp_enabled_at: Option<Timestamp>,
    /// The last accepted TOTP time step; a code of this step or earlier is refused.
    pub totp_last_step: Option<i64>,
}

impl UserRecord {
    pub fn totp_enabled(&self) -> bool {
        self.totp_secret_id.is_some() && self.totp_enabled_at.is_some()
    }
}

#[async_trait::async_trait]
pub trait UserRepo: Send + Sync {
    /// Saves a new user; [`StoreError::Conflict`] when the email is taken.
    async fn insert(&self, user: &UserRecord) -> Result<(), StoreError>;
    async fn get(&self, id: UserId) -> Result<Option<UserRecord>, StoreError>;
    async fn get_by_email(&self, email: &str) -> Result<Option<UserRecord>, StoreError>;
    async fn count(&self) -> Result<u64, StoreError>;
    async fn set_password(
        &self,
        id: UserId,
        password_hash: &str,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Sets (or clears) the TOTP secret and its confirmation time; resets the replay marker.
    async fn set_totp(
        &self,
        id: UserId,
        secret: Option<SecretId>,
        enabled_at: Option<Timestamp>,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Records `step` as used if it is later than the last used step; `false` for a replay.
    async fn accept_totp_step(&self, id: UserId, step: i64) -> Result<bool, StoreError>;
    /// Replaces the user's backup codes with these hashes (all unused).
    async fn replace_backup_codes(&self, id: UserId, hashes: &[Vec<u8>]) -> Result<(), StoreError>;
    /// Marks an unused backup code as used; `false` when there is no such unused code.
    async fn use_backup_code(
        &self,
        id: UserId,
        hash: &[u8],
        at: Timestamp,
    ) -> Result<bool, StoreError>;
    async fn unused_backup_codes(&self, id: UserId) -> Result<u64, StoreError>;
}
