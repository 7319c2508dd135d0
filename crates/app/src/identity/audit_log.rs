//! Reading an organisation's audit log (admins): search, export, verification.

use switchboard_domain::Role;
use switchboard_store::{AuditFilter, AuditRecord};

use super::principal::Principal;
use super::{Identity, IdentityError};
use crate::audit::VerifyReport;

/// The most events one page may hold.
pub const MAX_PAGE: u32 = 1000;

impl Identity {
    /// Events of the caller's organisation matching `filter`, in chain order.
    pub async fn audit_events(
        &self,
        principal: &Principal,
        mut filter: AuditFilter,
    ) -> Result<Vec<AuditRecord>, IdentityError> {
        let access = principal.tenant(Role::Admin)?;
        filter.limit = filter.limit.clamp(1, MAX_PAGE);
        Ok(self.store.audit.search(access.org.id, &filter).await?)
    }

    /// Recomputes the caller's organisation's chain.
    pub async fn verify_audit(&self, principal: &Principal) -> Result<VerifyReport, IdentityError> {
        let access = principal.tenant(Role::Admin)?;
        Ok(self.audit.verify(Some(access.org.id)).await?)
    }
}
