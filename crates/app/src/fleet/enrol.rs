//! Enrolment: registration tokens (`sbr_` + 43 random characters, shown once, kept as
//! SHA-256; a name, optional use limit and expiry, revocable), the exchange of one for an
//! agent's id and secret (`sba_…`, kept as SHA-256, compared in constant time), heartbeats and
//! revocation. An agent is online while it was seen within the configured silence.

use chrono::Duration;
use serde::{Deserialize, Serialize};
use serde_json::json;
use switchboard_domain::fleet::{parse_labels, Labels};
use switchboard_domain::{FleetAgentId, RegistrationTokenId, Role, Timestamp};
use switchboard_protocol::{Heartbeat, RegisterRequest, Registered, PROTOCOL_VERSION};
use switchboard_store::{FleetAgentRecord, RegistrationTokenRecord};

use super::{invalid, FleetError};
use crate::audit::{Actor, NewEvent};
use crate::identity::token::{digest, random_token};
use crate::identity::{IdentityError, Principal};
use crate::App;

/// The prefix of registration tokens.
pub const TOKEN_PREFIX: &str = "sbr_";
/// The prefix of agent secrets.
pub const SECRET_PREFIX: &str = "sba_";
/// An agent not heard from for this long is offline (unless configured otherwise).
pub const DEFAULT_OFFLINE_AFTER_SECS: i64 = 90;
/// The longest a registration token may live.
const MAX_TOKEN_DAYS: i64 = 365;

/// `POST /api/v1/fleet/registration-tokens`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub name: String,
    /// How many agents it may enrol (none: no limit).
    pub max_uses: Option<i64>,
    /// RFC 3339; none: 7 days from now.
    pub expires_at: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TokenView {
    pub id: String,
    pub name: String,
    pub max_uses: Option<i64>,
    pub uses: i64,
    pub expires_at: Option<String>,
    pub revoked: bool,
    /// Usable now: not revoked, not expired, uses left.
    pub usable: bool,
    pub created_at: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AgentView {
    pub id: String,
    pub name: String,
    pub host: String,
    pub version: String,
    /// `online`, `offline` (silent longer than allowed, or never seen) or `revoked`.
    pub status: &'static str,
    pub last_seen: Option<String>,
    pub labels: Labels,
    pub created_at: String,
}

/// The answer to unknown, wrong or revoked agent credentials (401).
pub(super) fn revoked() -> FleetError {
    FleetError::Unauthorized("Unknown or revoked agent credentials.")
}

fn token_view(t: &RegistrationTokenRecord, now: Timestamp) -> TokenView {
    let usable = t.revoked_at.is_none()
        && t.expires_at.is_none_or(|e| e > now)
        && t.max_uses.is_none_or(|m| t.uses < m);
    TokenView {
        id: t.id.to_string(),
        name: t.name.clone(),
        max_uses: t.max_uses,
        uses: t.uses,
        expires_at: t.expires_at.map(|e| e.to_rfc3339()),
        revoked: t.revoked_at.is_some(),
        usable,
        created_at: t.created_at.to_rfc3339(),
    }
}

/// A one-line name or host: trimmed, 1–100 characters, no control characters.
pub(super) fn short_text(field: &'static str, value: &str) -> Result<String, FleetError> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > 100 || v.chars().any(char::is_control) {
        return Err(invalid(
            field,
            format!("`{field}` must be 1–100 characters on one line."),
        ));
    }
    Ok(v.to_owned())
}

impl App {
    /// Whether the agent counts as online at `now`.
    pub fn agent_status(&self, agent: &FleetAgentRecord, now: Timestamp) -> &'static str {
        if agent.revoked_at.is_some() {
            "revoked"
        } else if agent
            .last_seen
            .is_some_and(|seen| now - seen <= self.fleet_offline_after)
        {
            "online"
        } else {
            "offline"
        }
    }

    fn agent_view(&self, a: &FleetAgentRecord, now: Timestamp) -> AgentView {
        AgentView {
            id: a.id.to_string(),
            name: a.name.clone(),
            host: a.host.clone(),
            version: a.version.clone(),
            status: self.agent_status(a, now),
            last_seen: a.last_seen.map(|t| t.to_rfc3339()),
            labels: a.labels.clone(),
            created_at: a.created_at.to_rfc3339(),
        }
    }

    /// Creates a registration token (admins); the token itself is in the answer only.
    pub async fn create_registration_token(
        &self,
        principal: &Principal,
        input: NewToken,
    ) -> Result<(TokenView, String), FleetError> {
        let org = principal.tenant(Role::Admin)?.org.id;
        let now = self.clock.now();
        let name = short_text("name", &input.name)?;
        if let Some(m) = input.max_uses {
            if !(1..=10_000).contains(&m) {
                return Err(invalid("max_uses", "`max_uses` must be 1–10000."));
            }
        }
        let expires_at = match input.expires_at.as_deref().map(str::trim) {
            None | Some("") => now + Duration::days(7),
            Some(raw) => {
                let at = chrono::DateTime::parse_from_rfc3339(raw)
                    .map_err(|_| invalid("expires_at", "`expires_at` is an RFC 3339 time."))?
                    .with_timezone(&chrono::Utc);
                if at <= now || at - now > Duration::days(MAX_TOKEN_DAYS) {
                    return Err(invalid(
                        "expires_at",
                        format!("`expires_at` must be in the next {MAX_TOKEN_DAYS} days."),
                    ));
                }
                at
            }
        };
        let token = format!("{TOKEN_PREFIX}{}", random_token());
        let (actor_kind, actor_id) = principal.actor().parts();
        let record = RegistrationTokenRecord {
            id: RegistrationTokenId::generate(self.clock.as_ref()),
            org_id: org,
            name,
            token_hash: digest(&token),
            max_uses: input.max_uses,
            uses: 0,
            expires_at: Some(expires_at),
            revoked_at: None,
            actor_kind: actor_kind.to_owned(),
            actor_id,
            created_at: now,
        };
        self.store.fleet.insert_token(&record).await?;
        self.fleet_audit(
            org,
            principal.actor(),
            "fleet.token.created",
            &record.id.to_string(),
            json!({"name": record.name, "max_uses": record.max_uses,
                   "expires_at": expires_at.to_rfc3339()}),
        )
        .await?;
        Ok((token_view(&record, now), token))
    }

    pub async fn registration_tokens(
        &self,
        principal: &Principal,
    ) -> Result<Vec<TokenView>, FleetError> {
        let org = principal.tenant(Role::Admin)?.org.id;
        let now = self.clock.now();
        let tokens = self.store.fleet.tokens(org).await?;
        Ok(tokens.iter().map(|t| token_view(t, now)).collect())
    }

    pub async fn revoke_registration_token(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<(), FleetError> {
        let org = principal.tenant(Role::Admin)?.org.id;
        let id: RegistrationTokenId = id.parse().map_err(|_| IdentityError::NotFound)?;
        self.store
            .fleet
            .revoke_token(org, id, self.clock.now())
            .await?;
        self.fleet_audit(
            org,
            principal.actor(),
            "fleet.token.revoked",
            &id.to_string(),
            json!({}),
        )
        .await
    }

    /// Exchanges a registration token for an agent's id and secret (no other credentials).
    pub async fn register_agent(&self, request: RegisterRequest) -> Result<Registered, FleetError> {
        if request.identity.protocol_version != PROTOCOL_VERSION {
            return Err(invalid(
                "identity",
                format!(
                    "This hub speaks agent protocol {PROTOCOL_VERSION}; the agent speaks {}.",
                    request.identity.protocol_version
                ),
            ));
        }
        let name = short_text("name", &request.name)?;
        let host = short_text("host", &request.host)?;
        let labels = parse_labels(
            request
                .labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .iter()
                .map(String::as_str),
        )
        .map_err(|e| invalid("labels", e))?;
        let secret = format!("{SECRET_PREFIX}{}", random_token());
        let now = self.clock.now();
        let agent = FleetAgentRecord {
            id: FleetAgentId::generate(self.clock.as_ref()),
            org_id: switchboard_domain::OrgId::generate(self.clock.as_ref()),
            name,
            host,
            version: request.identity.agent_version.chars().take(40).collect(),
            labels,
            secret_hash: digest(&secret),
            token_id: None,
            revoked_at: None,
            last_seen: Some(now),
            created_at: now,
        };
        let enrolled = self
            .store
            .fleet
            .register(&digest(request.token.trim()), agent, now)
            .await?
            .ok_or(FleetError::Unauthorized(
                "The registration token is unknown, expired, revoked or used up.",
            ))?;
        self.fleet_audit(
            enrolled.org_id,
            Actor::Agent(format!("fleet-agent:{}", enrolled.id)),
            "fleet.agent.registered",
            &enrolled.id.to_string(),
            json!({"name": enrolled.name, "host": enrolled.host, "labels": enrolled.labels,
                   "token": enrolled.token_id.map(|t| t.to_string())}),
        )
        .await?;
        let org = self
            .store
            .orgs
            .get(enrolled.org_id)
            .await?
            .map(|o| o.slug.to_string())
            .unwrap_or_default();
        Ok(Registered {
            agent_id: enrolled.id.to_string(),
            secret,
            organization: org,
        })
    }

    /// The agent these credentials belong to, if they are right and it is not revoked (read
    /// through [`crate::cache`]: a revocation through another hub process counts within a
    /// second).
    pub async fn authenticate_agent(
        &self,
        id: &str,
        secret: &str,
    ) -> Result<FleetAgentRecord, FleetError> {
        use subtle::ConstantTimeEq as _;
        let id: FleetAgentId = id.parse().map_err(|_| revoked())?;
        let stamp = self
            .agent_credentials
            .stamp(self.identity.org_status_changes());
        let found = match self.agent_credentials.get(&id, stamp) {
            Some(known) => Some(known),
            None => {
                let read = self.store.fleet.agent_with_org_status(id).await?;
                if let Some(read) = &read {
                    self.agent_credentials.put(id, read.clone(), stamp);
                }
                read
            }
        };
        let offered = digest(secret);
        match found {
            Some((a, org))
                if a.revoked_at.is_none() && bool::from(a.secret_hash.ct_eq(&offered)) =>
            {
                // A suspended organisation's agents wait (and try again later); a deleted
                // one's are cut off like revoked agents.
                match org.as_str() {
                    "active" => Ok(a),
                    "suspended" | "pending" => Err(IdentityError::OrgSuspended.into()),
                    _ => Err(revoked()),
                }
            }
            _ => Err(revoked()),
        }
    }

    /// Marks the agent seen.
    pub async fn agent_heartbeat(
        &self,
        agent: &FleetAgentRecord,
        beat: Heartbeat,
    ) -> Result<(), FleetError> {
        let host = short_text("host", &beat.host)?;
        let version: String = beat.identity.agent_version.chars().take(40).collect();
        self.store
            .fleet
            .heartbeat(agent.id, &host, &version, self.clock.now())
            .await
            .map_err(|e| match e {
                switchboard_store::StoreError::NotFound => revoked(),
                other => other.into(),
            })
    }

    /// The organisation's agents with their status (viewers and up).
    pub async fn fleet_agents(&self, principal: &Principal) -> Result<Vec<AgentView>, FleetError> {
        let org = principal.tenant(Role::Viewer)?.org.id;
        let now = self.clock.now();
        let agents = self.store.fleet.agents(org).await?;
        Ok(agents.iter().map(|a| self.agent_view(a, now)).collect())
    }

    /// One agent of the organisation.
    pub async fn fleet_agent(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<AgentView, FleetError> {
        let org = principal.tenant(Role::Viewer)?.org.id;
        let agent = self.own_fleet_agent(org, id).await?;
        Ok(self.agent_view(&agent, self.clock.now()))
    }

    /// Cuts an agent off (admins): its credentials stop working at once.
    pub async fn revoke_agent(&self, principal: &Principal, id: &str) -> Result<(), FleetError> {
        let org = principal.tenant(Role::Admin)?.org.id;
        let agent = self.own_fleet_agent(org, id).await?;
        self.store
            .fleet
            .revoke_agent(org, agent.id, self.clock.now())
            .await?;
        self.agent_credentials.invalidate();
        self.fleet_waiters.cut_off(agent.id);
        self.fleet_audit(
            org,
            principal.actor(),
            "fleet.agent.revoked",
            &agent.id.to_string(),
            json!({"name": agent.name}),
        )
        .await
    }

    pub(crate) async fn own_fleet_agent(
        &self,
        org: switchboard_domain::OrgId,
        id: &str,
    ) -> Result<FleetAgentRecord, FleetError> {
        let id: FleetAgentId = id.parse().map_err(|_| IdentityError::NotFound)?;
        self.store
            .fleet
            .agent(id)
            .await?
            .filter(|a| a.org_id == org)
            .ok_or_else(|| IdentityError::NotFound.into())
    }

    /// Stores events in the audit log (in one group commit when the writer runs).
    pub(crate) async fn fleet_audits(&self, events: Vec<NewEvent>) -> Result<(), FleetError> {
        self.audit
            .submit(events)
            .await
            .map(|_| ())
            .map_err(|e| FleetError::Internal(e.to_string()))
    }

    pub(crate) async fn fleet_audit(
        &self,
        org: switchboard_domain::OrgId,
        actor: Actor,
        kind: &str,
        target: &str,
        details: serde_json::Value,
    ) -> Result<(), FleetError> {
        self.audit
            .record(NewEvent {
                org,
                actor,
                kind: kind.to_owned(),
                target: Some(target.to_owned()),
                decision: Some("ok".to_owned()),
                details,
            })
            .await
            .map(|_| ())
            .map_err(|e| FleetError::Internal(e.to_string()))
    }
}
