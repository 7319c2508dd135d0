//! A person's conversations with the assistant: create, list, rename, delete, read with the
//! whole history (tool calls and results included), and post a message — which stores it,
//! starts a run and returns at once; the run goes on in the background and its events are
//! followed with [`App::follow_run`]. Conversations belong to the person who started them.

use std::sync::Arc;

use serde::Serialize;
use serde_json::{json, Value};
use switchboard_domain::{ConversationId, MessageId, Role, RunId, RunStatus, UserId};
use switchboard_store::{ConversationRecord, MessageRecord, RunRecord};

use super::agents::SUPERVISOR;
use super::run_loop::RunState;
use super::transcript::{Speaker, Turn};
use super::RuntimeError;
use crate::identity::{IdentityError, Principal};
use crate::tools::guarded;
use crate::App;

const DEFAULT_TITLE: &str = "New conversation";
const MAX_MESSAGE: usize = 32_000;

#[derive(Clone, Debug, Serialize)]
pub struct ConversationView {
    pub id: String,
    pub title: String,
    pub agent: String,
    pub created_at: String,
    pub updated_at: String,
}

fn conversation_view(c: &ConversationRecord) -> ConversationView {
    ConversationView {
        id: c.id.to_string(),
        title: c.title.clone(),
        agent: c.agent.clone(),
        created_at: c.created_at.to_rfc3339(),
        updated_at: c.updated_at.to_rfc3339(),
    }
}

/// One message of the history, as people see it (arguments and results guarded).
#[derive(Clone, Debug, Serialize)]
pub struct MessageView {
    pub seq: i64,
    pub role: String,
    pub text: String,
    pub tool_calls: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    pub run_id: Option<String>,
    pub created_at: String,
}

fn message_view(m: &MessageRecord) -> MessageView {
    let turn: Option<Turn> = serde_json::from_str(&m.body).ok();
    let (text, tool_calls, result) = match turn {
        Some(t) => (
            t.text,
            t.tool_calls
                .iter()
                .map(|c| json!({"call_id": c.id, "tool": c.name, "arguments": guarded(&c.arguments)}))
                .collect(),
            t.result.map(|r| {
                json!({"call_id": r.call_id, "tool": r.tool, "ok": r.ok, "result": r.shown})
            }),
        ),
        None => (String::new(), Vec::new(), None),
    };
    MessageView {
        seq: m.seq,
        role: m.role.clone(),
        text,
        tool_calls,
        result,
        run_id: m.run_id.map(|r| r.to_string()),
        created_at: m.created_at.to_rfc3339(),
    }
}

/// A run as `GET /api/v1/runs/{id}` shows it: its status and its steps (every event but
/// the text deltas).
#[derive(Clone, Debug, Serialize)]
pub struct RunView {
    pub id: String,
    pub conversation_id: String,
    pub agent: String,
    pub status: String,
    /// How many model calls the run made.
    pub model_calls: i64,
    pub error: Option<String>,
    pub steps: Vec<super::RunEvent>,
    pub created_at: String,
    pub updated_at: String,
}

impl App {
    /// The conversation if it belongs to the caller (else `NotFound`).
    async fn own_conversation(
        &self,
        principal: &Principal,
        id: ConversationId,
    ) -> Result<(ConversationRecord, UserId), RuntimeError> {
        let access = principal.tenant(Role::Viewer)?;
        let user = person(principal)?;
        let conversation = self
            .store
            .conversations
            .get(access.org.id, id)
            .await?
            .filter(|c| c.user_id == user)
            .ok_or(RuntimeError::Identity(IdentityError::NotFound))?;
        Ok((conversation, user))
    }

    /// Starts a conversation (with `agent`, the supervisor by default).
    pub async fn create_conversation(
        &self,
        principal: &Principal,
        title: Option<String>,
        agent: Option<String>,
    ) -> Result<ConversationView, RuntimeError> {
        let access = principal.tenant(Role::Viewer)?;
        let org = access.org.id;
        let user = person(principal)?;
        let title = check_title(title.as_deref().unwrap_or(DEFAULT_TITLE))?;
        let agent = agent.unwrap_or_else(|| SUPERVISOR.to_owned());
        self.usable_agent(principal, &agent).await?;
        let now = self.clock.now();
        let record = ConversationRecord {
            id: ConversationId::generate(self.clock.as_ref()),
            org_id: org,
            user_id: user,
            title,
            agent,
            created_at: now,
            updated_at: now,
        };
        self.store.conversations.insert(&record).await?;
        Ok(conversation_view(&record))
    }

    /// The caller's conversations, most recent first.
    pub async fn conversations(
        &self,
        principal: &Principal,
    ) -> Result<Vec<ConversationView>, RuntimeError> {
        let access = principal.tenant(Role::Viewer)?;
        let user = person(principal)?;
        let list = self
            .store
            .conversations
            .list(access.org.id, user, 200)
            .await?;
        Ok(list.iter().map(conversation_view).collect())
    }

    /// A conversation with its whole history.
    pub async fn conversation(
        &self,
        principal: &Principal,
        id: ConversationId,
    ) -> Result<(ConversationView, Vec<MessageView>), RuntimeError> {
        let (conversation, _) = self.own_conversation(principal, id).await?;
        let messages = self
            .store
            .conversations
            .messages(conversation.org_id, id)
            .await?;
        Ok((
            conversation_view(&conversation),
            messages.iter().map(message_view).collect(),
        ))
    }

    pub async fn rename_conversation(
        &self,
        principal: &Principal,
        id: ConversationId,
        title: &str,
    ) -> Result<ConversationView, RuntimeError> {
        let (mut conversation, _) = self.own_conversation(principal, id).await?;
        let title = check_title(title)?;
        let now = self.clock.now();
        self.store
            .conversations
            .rename(conversation.org_id, id, &title, now)
            .await?;
        conversation.title = title;
        conversation.updated_at = now;
        Ok(conversation_view(&conversation))
    }

    /// Deletes a conversation with its messages and runs. A run still waiting for an
    /// approval is cancelled first, so its request cannot run for nobody.
    pub async fn delete_conversation(
        &self,
        principal: &Principal,
        id: ConversationId,
    ) -> Result<(), RuntimeError> {
        let (conversation, _) = self.own_conversation(principal, id).await?;
        for run in self
            .store
            .runs
            .for_conversation(conversation.org_id, id)
            .await?
        {
            if !RunStatus::parse(&run.status).is_some_and(RunStatus::is_final) {
                self.cancel_run_record(run).await?;
            }
        }
        self.store
            .conversations
            .delete(conversation.org_id, id)
            .await?;
        Ok(())
    }

    /// Stores the person's message and starts a run that answers it (in the background);
    /// returns the run and a follower of its events from the start.
    pub async fn post_message(
        self: &Arc<App>,
        principal: &Principal,
        id: ConversationId,
        content: &str,
        agent: Option<String>,
    ) -> Result<(RunId, super::RunFollower), RuntimeError> {
        let (conversation, user) = self.own_conversation(principal, id).await?;
        let org = conversation.org_id;
        let content = content.trim();
        if content.is_empty() || content.len() > MAX_MESSAGE {
            return Err(RuntimeError::Invalid {
                field: "content",
                message: format!("`content` must be 1–{MAX_MESSAGE} bytes of text."),
            });
        }
        let agent = agent.unwrap_or_else(|| conversation.agent.clone());
        self.usable_agent(principal, &agent).await?;
        let now = self.clock.now();
        let run_id = RunId::generate(self.clock.as_ref());
        let run = RunRecord {
            id: run_id,
            org_id: org,
            conversation_id: id,
            user_id: user,
            agent: agent.clone(),
            status: RunStatus::Running.as_str().to_owned(),
            state: RunState::new(&agent).to_json(),
            waiting_on: None,
            error: None,
            steps: 0,
            cancel_requested: false,
            created_at: now,
            updated_at: now,
            claimed_at: Some(now),
        };
        let turn = Turn::user(content);
        let message = MessageRecord {
            id: MessageId::generate(self.clock.as_ref()),
            conversation_id: id,
            org_id: org,
            seq: 0,
            role: Speaker::User.as_str().to_owned(),
            body: serde_json::to_string(&turn).unwrap_or_default(),
            run_id: Some(run_id),
            created_at: now,
        };
        // The first message names a new conversation; every message marks it active.
        let title = if conversation.title == DEFAULT_TITLE {
            content
                .chars()
                .take(60)
                .collect::<String>()
                .trim()
                .to_owned()
        } else {
            conversation.title.clone()
        };
        // Independent writes, and the history the run starts from, at the same time.
        let (inserted, appended, touched, stored) = tokio::join!(
            self.store.runs.insert(&run),
            self.store.conversations.append_message(&message),
            self.store.conversations.touch(org, id, &title, now),
            self.store.conversations.messages(org, id),
        );
        if let Err(e) = inserted {
            return Err(e.into());
        }
        let created = &run;
        let fail = |e: switchboard_store::StoreError| async move {
            let mut failed = created.clone();
            failed.status = RunStatus::Failed.as_str().to_owned();
            failed.error = Some("internal: the message could not be stored".to_owned());
            let _ = self
                .store
                .runs
                .save(&failed, RunStatus::Running.as_str())
                .await;
            RuntimeError::from(e)
        };
        let seq = match appended {
            Ok(seq) => seq,
            Err(e) => return Err(fail(e).await),
        };
        let stored = match (touched, stored) {
            (Ok(()), Ok(stored)) => stored,
            (Err(e), _) | (_, Err(e)) => return Err(fail(e).await),
        };
        // What was there before this message (the read may or may not have seen it).
        let mut history: Vec<Turn> = stored
            .iter()
            .filter(|m| m.seq < seq)
            .filter_map(|m| serde_json::from_str(&m.body).ok())
            .collect();
        history.push(turn);
        // Listening before the run starts: every event reaches it without a read.
        let mut follower = self.follower(org, run_id, 0, false);
        follower.listening_from_the_start();
        let worker = Principal {
            credential: crate::identity::Credential::Run(run_id),
            ..principal.clone()
        };
        self.start_run(
            org,
            run_id,
            Some(super::run_loop::FreshRun {
                run,
                principal: worker,
                history,
            }),
        );
        Ok((run_id, follower))
    }

    /// The agent if the caller may talk to it.
    async fn usable_agent(
        &self,
        principal: &Principal,
        slug: &str,
    ) -> Result<super::Agent, RuntimeError> {
        let access = principal.tenant(Role::Viewer)?;
        let agent =
            self.find_agent(access.org.id, slug)
                .await?
                .ok_or_else(|| RuntimeError::Invalid {
                    field: "agent",
                    message: format!("There is no agent `{slug}`."),
                })?;
        if !access.role.at_least(agent.min_role) {
            return Err(RuntimeError::Identity(IdentityError::Forbidden(
                "Your role may not use this agent.",
            )));
        }
        Ok(agent)
    }

    /// The conversation's last run when it has not ended (running or waiting for an
    /// approval), so a reopened page can show it and follow it.
    pub async fn active_run(
        &self,
        principal: &Principal,
        id: ConversationId,
    ) -> Result<Option<RunView>, RuntimeError> {
        let (conversation, _) = self.own_conversation(principal, id).await?;
        let runs = self
            .store
            .runs
            .for_conversation(conversation.org_id, id)
            .await?;
        match runs.last() {
            Some(run) if !RunStatus::parse(&run.status).is_some_and(RunStatus::is_final) => {
                Ok(Some(self.run(principal, run.id).await?))
            }
            _ => Ok(None),
        }
    }

    /// Whether the organisation has a model for the assistant (a default one).
    pub async fn assistant_ready(&self, principal: &Principal) -> Result<bool, RuntimeError> {
        let access = principal.tenant(Role::Viewer)?;
        self.gateway
            .has_default_model(access.org.id)
            .await
            .map_err(|e| RuntimeError::Internal(e.to_string()))
    }

    /// A run of the caller's, with its steps.
    pub async fn run(&self, principal: &Principal, id: RunId) -> Result<RunView, RuntimeError> {
        let run = self.own_run(principal, id).await?;
        let events = self
            .store
            .runs
            .events_after(run.org_id, id, 0, 10_000)
            .await?;
        Ok(RunView {
            id: run.id.to_string(),
            conversation_id: run.conversation_id.to_string(),
            agent: run.agent.clone(),
            status: run.status.clone(),
            model_calls: run.steps,
            error: run.error.clone(),
            steps: events
                .into_iter()
                .filter(|e| e.kind != "text")
                .map(Into::into)
                .collect(),
            created_at: run.created_at.to_rfc3339(),
            updated_at: run.updated_at.to_rfc3339(),
        })
    }

    pub(super) async fn own_run(
        &self,
        principal: &Principal,
        id: RunId,
    ) -> Result<RunRecord, RuntimeError> {
        let access = principal.tenant(Role::Viewer)?;
        let user = person(principal)?;
        self.store
            .runs
            .get(access.org.id, id)
            .await?
            .filter(|r| r.user_id == user)
            .ok_or(RuntimeError::Identity(IdentityError::NotFound))
    }

    /// Cancels a run: one waiting for an approval ends at once (its request is denied); a
    /// running one stops before its next step.
    pub async fn cancel_run(
        &self,
        principal: &Principal,
        id: RunId,
    ) -> Result<RunView, RuntimeError> {
        let run = self.own_run(principal, id).await?;
        if RunStatus::parse(&run.status).is_some_and(RunStatus::is_final) {
            return Err(RuntimeError::Conflict(format!(
                "This run has already ended ({}).",
                run.status
            )));
        }
        self.cancel_run_record(run).await?;
        self.run(principal, id).await
    }
}

/// Conversations belong to people; API keys act for no one in particular.
fn person(principal: &Principal) -> Result<UserId, RuntimeError> {
    principal
        .user_id()
        .ok_or(RuntimeError::Identity(IdentityError::Forbidden(
            "Conversations belong to people: sign in to talk to the assistant (software uses the \
         /v1 gateway).",
        )))
}

fn check_title(title: &str) -> Result<String, RuntimeError> {
    let title = title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(RuntimeError::Invalid {
            field: "title",
            message: "`title` must be 1–200 characters.".to_owned(),
        });
    }
    Ok(title.to_owned())
}
