//! Portable SQL for [`crate::AuthStateRepo`].

/// The `INSERT` of an OIDC identity link, shared by linking and SSO sign-up.
macro_rules! insert_oidc_link {
    ($issuer:expr, $subject:expr, $user:expr, $at:expr) => {
        sqlx::query(
            "INSERT INTO oidc_identities (issuer, subject, user_id, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind($issuer)
        .bind($subject)
        .bind($user.as_uuid())
        .bind($at)
    };
}
pub(crate) use insert_oidc_link;

/// The `INSERT` of a new membership, shared by first-boot setup and SSO sign-up.
macro_rules! insert_membership {
    ($org:expr, $user:expr, $role:expr, $at:expr) => {
        sqlx::query(
            "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind($org.as_uuid())
        .bind($user.as_uuid())
        .bind($role.as_str())
        .bind($at)
    };
}
pub(crate) use insert_membership;

macro_rules! auth_state_repo {
    ($db:ty) => {
        #[async_trait::async_trait]
        impl $crate::auth_state::AuthStateRepo for $db {
            async fn record_failure(
                &self,
                scope: &str,
                key: &str,
                at: switchboard_domain::Timestamp,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query("INSERT INTO auth_failures (scope, key, at) VALUES ($1, $2, $3)")
                    .bind(scope)
                    .bind(key)
                    .bind(at)
                    .execute(self.writer())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn failures_since(
                &self,
                scope: &str,
                key: &str,
                since: switchboard_domain::Timestamp,
            ) -> Result<u64, $crate::StoreError> {
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM auth_failures WHERE scope = $1 AND key = $2 AND at >= $3",
                )
                .bind(scope)
                .bind(key)
                .bind(since)
                .fetch_one(self.reader())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                $crate::sql::count(n)
            }

            async fn clear_failures(
                &self,
                scope: &str,
                key: &str,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query("DELETE FROM auth_failures WHERE scope = $1 AND key = $2")
                    .bind(scope)
                    .bind(key)
                    .execute(self.writer())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn purge_failures(
                &self,
                before: switchboard_domain::Timestamp,
            ) -> Result<u64, $crate::StoreError> {
                let done = sqlx::query("DELETE FROM auth_failures WHERE at < $1")
                    .bind(before)
                    .execute(self.writer())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                Ok(done.rows_affected())
            }

            async fn setup_code(
                &self,
            ) -> Result<Option<$crate::auth_state::SetupCodeRecord>, $crate::StoreError> {
                let row: Option<(
                    Vec<u8>,
                    switchboard_domain::Timestamp,
                    Option<switchboard_domain::Timestamp>,
                )> = sqlx::query_as(
                    "SELECT code_hash, created_at, used_at FROM setup_codes WHERE id = 1",
                )
                .fetch_optional(self.reader())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                Ok(row.map(|(code_hash, created_at, used_at)| {
                    $crate::auth_state::SetupCodeRecord {
                        code_hash,
                        created_at,
                        used_at,
                    }
                }))
            }

            async fn put_setup_code(
                &self,
                hash: &[u8],
                at: switchboard_domain::Timestamp,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO setup_codes (id, code_hash, created_at) VALUES (1, $1, $2) \
                     ON CONFLICT (id) DO UPDATE SET code_hash = excluded.code_hash, \
                     created_at = excluded.created_at WHERE setup_codes.used_at IS NULL",
                )
                .bind(hash)
                .bind(at)
                .execute(self.writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn consume_setup_code(
                &self,
                at: switchboard_domain::Timestamp,
            ) -> Result<bool, $crate::StoreError> {
                let done = sqlx::query(
                    "UPDATE setup_codes SET used_at = $1 WHERE id = 1 AND used_at IS NULL",
                )
                .bind(at)
                .execute(self.writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                Ok(done.rows_affected() == 1)
            }

            async fn oidc_user(
                &self,
                issuer: &str,
                subject: &str,
            ) -> Result<Option<switchboard_domain::UserId>, $crate::StoreError> {
                let id: Option<uuid::Uuid> = sqlx::query_scalar(
                    "SELECT user_id FROM oidc_identities WHERE issuer = $1 AND subject = $2",
                )
                .bind(issuer)
                .bind(subject)
                .fetch_optional(self.reader())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                Ok(id.map(Into::into))
            }

            async fn link_oidc(
                &self,
                issuer: &str,
                subject: &str,
                user: switchboard_domain::UserId,
                at: switchboard_domain::Timestamp,
            ) -> Result<(), $crate::StoreError> {
                $crate::sql::auth_state::insert_oidc_link!(issuer, subject, user, at)
                    .execute(self.writer())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn complete_setup(
                &self,
                org: &$crate::OrgRecord,
                owner: &$crate::UserRecord,
                at: switchboard_domain::Timestamp,
            ) -> Result<bool, $crate::StoreError> {
                let mut tx = self
                    .writer()
                    .begin()
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                let used = sqlx::query(
                    "UPDATE setup_codes SET used_at = $1 WHERE id = 1 AND used_at IS NULL",
                )
                .bind(at)
                .execute(&mut *tx)
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                if used.rows_affected() != 1 {
                    return Ok(false);
                }
                $crate::sql::orgs::insert_org!(org)
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                $crate::sql::users::insert_user!(owner)
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                $crate::sql::auth_state::insert_membership!(
                    org.id,
                    owner.id,
                    switchboard_domain::Role::Owner,
                    at
                )
                .execute(&mut *tx)
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                tx.commit().await.map_err($crate::StoreError::from_sqlx)?;
                Ok(true)
            }

            async fn sso_signup(
                &self,
                signup: &$crate::auth_state::SsoSignup<'_>,
            ) -> Result<(), $crate::StoreError> {
                let mut tx = self
                    .writer()
                    .begin()
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                $crate::sql::users::insert_user!(signup.user)
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                $crate::sql::auth_state::insert_oidc_link!(
                    signup.issuer,
                    signup.subject,
                    signup.user.id,
                    signup.at
                )
                .execute(&mut *tx)
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                $crate::sql::auth_state::insert_membership!(
                    signup.org,
                    signup.user.id,
                    signup.role,
                    signup.at
                )
                .execute(&mut *tx)
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                tx.commit().await.map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn put_sso_login(
                &self,
                login: &$crate::auth_state::SsoLoginRecord,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO sso_logins (state_hash, provider, nonce, return_to, created_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&login.state_hash)
                .bind(&login.provider)
                .bind(&login.nonce)
                .bind(&login.return_to)
                .bind(login.created_at)
                .execute(self.writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }

            async fn take_sso_login(
                &self,
                state_hash: &[u8],
            ) -> Result<Option<$crate::auth_state::SsoLoginRecord>, $crate::StoreError> {
                let row: Option<(
                    Vec<u8>,
                    String,
                    String,
                    String,
                    switchboard_domain::Timestamp,
                )> = sqlx::query_as(
                    "DELETE FROM sso_logins WHERE state_hash = $1 \
                     RETURNING state_hash, provider, nonce, return_to, created_at",
                )
                .bind(state_hash)
                .fetch_optional(self.writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                Ok(
                    row.map(|(state_hash, provider, nonce, return_to, created_at)| {
                        $crate::auth_state::SsoLoginRecord {
                            state_hash,
                            provider,
                            nonce,
                            return_to,
                            created_at,
                        }
                    }),
                )
            }

            async fn purge_sso_logins(
                &self,
                before: switchboard_domain::Timestamp,
            ) -> Result<u64, $crate::StoreError> {
                let done = sqlx::query("DELETE FROM sso_logins WHERE created_at < $1")
                    .bind(before)
                    .execute(self.writer())
                    .await
                    .map_err($crate::StoreError::from_sqlx)?;
                Ok(done.rows_affected())
            }

            async fn sso_client_secret(
                &self,
                provider: &str,
            ) -> Result<Option<switchboard_domain::SecretId>, $crate::StoreError> {
                let id: Option<uuid::Uuid> = sqlx::query_scalar(
                    "SELECT secret_id FROM sso_client_secrets WHERE provider = $1",
                )
                .bind(provider)
                .fetch_optional(self.reader())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                Ok(id.map(Into::into))
            }

            async fn put_sso_client_secret(
                &self,
                provider: &str,
                secret: switchboard_domain::SecretId,
                at: switchboard_domain::Timestamp,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO sso_client_secrets (provider, secret_id, updated_at) \
                     VALUES ($1, $2, $3) ON CONFLICT (provider) DO UPDATE SET \
                     secret_id = excluded.secret_id, updated_at = excluded.updated_at",
                )
                .bind(provider)
                .bind(secret.as_uuid())
                .bind(at)
                .execute(self.writer())
                .await
                .map_err($crate::StoreError::from_sqlx)?;
                Ok(())
            }
        }
    };
}
pub(crate) use auth_state_repo;
