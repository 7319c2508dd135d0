//! One run, step by step (DESIGN 4.4): a model call (streamed), then each tool call it asked
//! for — decided by policy; run, refused, or turned into an approval request — and again,
//! until the model answers without tools or the agent's step limit is reached. The
//! supervisor's `delegate_to_<slug>` calls open a frame for that specialist, whose final
//! answer becomes the delegate call's result.
//!
//! Everything a resumption needs is stored after every step: the conversation's messages,
//! and the run's `state` (the frames of delegated work, the calls still to handle, the call
//! waiting for approval, whether an injection was seen). A run that must wait for a human
//! stops with `waiting_approval`; `resume.rs` carries on from the state when the request is
//! settled.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use switchboard_domain::{ApprovalId, MessageId, OrgId, OrgPolicy, RunId, RunStatus};
use switchboard_guard::wrap_untrusted;
use switchboard_llm::{Answer, ChatRequest, StreamEvent, ToolSpec};
use switchboard_store::{MessageRecord, RunRecord};
use tokio_util::sync::CancellationToken;

use super::agents::Agent;
use super::events::Emitter;
use super::transcript::{to_messages, StoredCall, ToolAnswer, Turn};
use super::{tool_name, wire_name, Done, RuntimeError};
use crate::audit::Actor;
use crate::identity::{Credential, Principal};
use crate::tools::{guarded, Called};
use crate::App;

const DELEGATE: &str = "delegate_to_";

/// A frame of work: the run's own agent at the bottom, a delegated specialist above it.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Frame {
    agent: String,
    /// The delegate call (in the frame below) this frame answers; `None` for the run's own.
    parent_call: Option<StoredCall>,
    /// The delegated task's turns (the run's own frame uses the conversation's messages).
    #[serde(default)]
    turns: Vec<Turn>,
    steps: u32,
    /// Tool calls of the last answer not yet handled, in order.
    #[serde(default)]
    queue: Vec<StoredCall>,
    /// The call waiting for a human, and its approval request.
    #[serde(default)]
    waiting: Option<(StoredCall, ApprovalId)>,
}

/// What a run keeps between steps.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct RunState {
    frames: Vec<Frame>,
    /// A tool result carried a suspected prompt injection: risky calls now ask a human.
    #[serde(default)]
    injection: bool,
}

impl RunState {
    pub(super) fn new(agent: &str) -> RunState {
        RunState {
            frames: vec![Frame {
                agent: agent.to_owned(),
                parent_call: None,
                turns: Vec::new(),
                steps: 0,
                queue: Vec::new(),
                waiting: None,
            }],
            injection: false,
        }
    }

    pub(super) fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }
}

/// How a drive ended.
enum Stop {
    Completed,
    Waiting(ApprovalId),
    Failed { code: String, message: String },
    Cancelled,
}

fn failed(code: &str, message: impl Into<String>) -> Stop {
    Stop::Failed {
        code: code.to_owned(),
        message: message.into(),
    }
}

/// What a step decided.
enum Next {
    Continue,
    Stop(Stop),
}

struct Runner<'a> {
    app: &'a App,
    run: RunRecord,
    state: RunState,
    principal: Principal,
    emitter: Emitter,
    /// The conversation's turns (the run's own frame).
    root: Vec<Turn>,
    agents: HashMap<String, Agent>,
    shutdown: CancellationToken,
    /// Someone asked to cancel the run (as of the last checkpoint).
    cancel_seen: bool,
    /// The organisation's tool policy as read for the last model call: the tools offered
    /// and the calls that come back are decided under the same one.
    policy: Option<OrgPolicy>,
    /// The last answer's message, stored with the checkpoint that follows it.
    unsaved: Option<MessageRecord>,
}

/// A run just created, with what its creator already knows (nothing to look up again): its
/// record, the person it works for and the conversation so far (the new message included).
pub(super) struct FreshRun {
    pub run: RunRecord,
    pub principal: Principal,
    pub history: Vec<Turn>,
}

impl App {
    /// Runs (or resumes) a run in the background under the supervisor.
    pub(super) fn start_run(self: &Arc<App>, org: OrgId, run: RunId, fresh: Option<FreshRun>) {
        let app = self.clone();
        self.workers.spawn("run", move |shutdown| async move {
            if let Err(e) = app.drive(org, run, fresh, shutdown).await {
                tracing::error!(run = %run, error = %e, "a run failed inside the hub");
                app.force_fail(org, run, "internal", "Something went wrong on our side.")
                    .await;
            }
        });
    }

    /// Drives a claimed, `running` run until it completes, fails, is cancelled or waits.
    pub(super) async fn drive(
        &self,
        org: OrgId,
        run_id: RunId,
        fresh: Option<FreshRun>,
        shutdown: CancellationToken,
    ) -> Result<(), RuntimeError> {
        let is_new = fresh.is_some();
        let (run, known, history) = match fresh {
            Some(f) => (f.run, Some(f.principal), Some(f.history)),
            None => match self.store.runs.get(org, run_id).await? {
                Some(run) => (run, None, None),
                None => return Ok(()),
            },
        };
        let state: RunState = serde_json::from_str(&run.state)
            .map_err(|e| RuntimeError::Internal(format!("run state: {e}")))?;
        let mut emitter = if is_new {
            Emitter::fresh(self, org, run_id)
        } else {
            Emitter::new(self, org, run_id)
        };
        let principal = match known {
            Some(p) => Some(p),
            None => self
                .identity
                .member_principal(org, run.user_id, Credential::Run(run_id))
                .await
                .map_err(|e| RuntimeError::Internal(e.to_string()))?,
        };
        let principal = match principal {
            Some(p) => p,
            None => {
                return self
                    .finish(
                        run,
                        &mut emitter,
                        failed("forbidden", "The person of this run is no longer a member."),
                    )
                    .await;
            }
        };
        let root = match history {
            Some(history) => history,
            None => self
                .store
                .conversations
                .messages(org, run.conversation_id)
                .await?
                .iter()
                .filter_map(|m| serde_json::from_str(&m.body).ok())
                .collect(),
        };
        let mut runner = Runner {
            app: self,
            run,
            state,
            principal,
            emitter,
            root,
            agents: HashMap::new(),
            cancel_seen: false,
            policy: None,
            unsaved: None,
            shutdown,
        };
        let stop = runner.drive().await?;
        let Runner {
            run,
            state,
            mut emitter,
            ..
        } = runner;
        let mut run = run;
        run.state = state.to_json();
        self.finish(run, &mut emitter, stop).await
    }

    /// Stores how the drive ended and emits the closing events.
    async fn finish(
        &self,
        mut run: RunRecord,
        emitter: &mut Emitter,
        stop: Stop,
    ) -> Result<(), RuntimeError> {
        let now = self.clock.now();
        let status = match &stop {
            Stop::Completed => RunStatus::Completed,
            Stop::Waiting(_) => RunStatus::WaitingApproval,
            Stop::Failed { .. } => RunStatus::Failed,
            Stop::Cancelled => RunStatus::Cancelled,
        };
        if let Stop::Failed { code, message } = &stop {
            emitter
                .emit("error", json!({"code": code, "message": message}))
                .await?;
            run.error = Some(format!("{code}: {message}"));
        }
        emitter.flush().await?;
        run.status = status.as_str().to_owned();
        run.waiting_on = match stop {
            Stop::Waiting(id) => Some(id),
            _ => None,
        };
        run.updated_at = now;
        run.claimed_at = Some(now);
        let saved = self
            .store
            .runs
            .save(&run, RunStatus::Running.as_str())
            .await?;
        if saved.is_none() {
            // Someone else ended it (a cancellation of a run that was not running here).
            return Ok(());
        }
        emitter
            .emit_stored(
                "done",
                serde_json::to_value(Done {
                    run_id: run.id.to_string(),
                    status: status.as_str().to_owned(),
                })
                .unwrap_or_default(),
            )
            .await?;
        Ok(())
    }

    /// Marks a run failed after an internal error, if it is still running.
    async fn force_fail(&self, org: OrgId, run: RunId, code: &str, message: &str) {
        let Ok(Some(record)) = self.store.runs.get(org, run).await else {
            return;
        };
        if record.status != RunStatus::Running.as_str() {
            return;
        }
        let mut emitter = Emitter::new(self, org, run);
        if let Err(e) = self
            .finish(record, &mut emitter, failed(code, message))
            .await
        {
            tracing::error!(run = %run, error = %e, "could not mark the run failed");
        }
    }

    /// Ends a run that is not running here: waiting runs at once (their approval request
    /// is denied so it cannot run later); running ones are flagged and stop themselves.
    pub(super) async fn cancel_run_record(&self, run: RunRecord) -> Result<(), RuntimeError> {
        let org = run.org_id;
        let Some(mut run) = self.store.runs.request_cancel(org, run.id).await? else {
            return Ok(());
        };
        if run.status != RunStatus::WaitingApproval.as_str() {
            return Ok(());
        }
        let now = self.clock.now();
        run.status = RunStatus::Cancelled.as_str().to_owned();
        run.updated_at = now;
        if self
            .store
            .runs
            .save(&run, RunStatus::WaitingApproval.as_str())
            .await?
            .is_none()
        {
            return Ok(());
        }
        if let Some(approval) = run.waiting_on {
            let decision = switchboard_store::approvals::ApprovalDecision {
                status: "denied",
                by: "system",
                reason: Some("The conversation's run was cancelled."),
                at: now,
            };
            self.store
                .approvals
                .decide(org, approval, &decision)
                .await?;
        }
        let mut emitter = Emitter::new(self, org, run.id);
        emitter
            .emit_stored(
                "done",
                json!({"run_id": run.id.to_string(), "status": "cancelled"}),
            )
            .await?;
        Ok(())
    }
}

impl Runner<'_> {
    async fn drive(&mut self) -> Result<Stop, RuntimeError> {
        // A resumed run first learns how its approval request was settled.
        if let Some(next) = self.settle_waiting().await? {
            return Ok(next);
        }
        loop {
            if self.shutdown.is_cancelled() {
                return Ok(failed(
                    "interrupted",
                    "The hub stopped while the assistant was working.",
                ));
            }
            if self.cancel_seen {
                return Ok(Stop::Cancelled);
            }
            let next = if self.frame().queue.is_empty() {
                let next = self.model_step().await?;
                // After each model call that goes on: the state is saved, the run shows it
                // is alive, and learns whether someone asked to cancel it. (A stop is saved
                // by `finish`.)
                if matches!(next, Next::Continue) {
                    self.checkpoint().await?;
                }
                next
            } else {
                let call = self.frame_mut().queue.remove(0);
                self.handle_call(call).await?
            };
            if let Next::Stop(stop) = next {
                return Ok(stop);
            }
        }
    }

    fn frame(&self) -> &Frame {
        #[expect(clippy::expect_used, reason = "a run always has its own frame")]
        self.state.frames.last().expect("a run has a frame")
    }

    fn frame_mut(&mut self) -> &mut Frame {
        #[expect(clippy::expect_used, reason = "a run always has its own frame")]
        self.state.frames.last_mut().expect("a run has a frame")
    }

    fn is_root(&self) -> bool {
        self.state.frames.len() == 1
    }

    /// Saves the state and shows the run is alive.
    async fn checkpoint(&mut self) -> Result<(), RuntimeError> {
        let now = self.app.clock.now();
        self.run.state = self.state.to_json();
        self.run.updated_at = now;
        self.run.claimed_at = Some(now);
        let store = &self.app.store;
        let message = self.unsaved.take();
        // A waiting message and the run's state are independent rows: written together.
        let (appended, saved) = tokio::join!(
            async {
                match &message {
                    Some(m) => store.conversations.append_message(m).await.map(|_| ()),
                    None => Ok(()),
                }
            },
            store
                .runs
                .checkpoint(&self.run, RunStatus::Running.as_str())
        );
        appended?;
        let saved = saved?;
        // `None`: the run is no longer running here (it was ended elsewhere).
        self.cancel_seen = saved.unwrap_or(true);
        Ok(())
    }

    async fn agent(&mut self, slug: &str) -> Result<Agent, RuntimeError> {
        if let Some(agent) = self.agents.get(slug) {
            return Ok(agent.clone());
        }
        let agent = self
            .app
            .find_agent(self.run.org_id, slug)
            .await?
            .ok_or_else(|| RuntimeError::Internal(format!("agent `{slug}` is gone")))?;
        self.agents.insert(slug.to_owned(), agent.clone());
        Ok(agent)
    }

    /// Adds a turn to the current frame (stored in the conversation for the run's own).
    async fn push_turn(&mut self, turn: Turn) -> Result<(), RuntimeError> {
        if let Some(message) = self.turn_message(turn) {
            self.app
                .store
                .conversations
                .append_message(&message)
                .await?;
        }
        Ok(())
    }

    /// [`Runner::push_turn`], the message stored with the next checkpoint (at the same time).
    fn push_turn_with_checkpoint(&mut self, turn: Turn) {
        self.unsaved = self.turn_message(turn);
    }

    /// Adds a turn to the current frame; the message to store for the run's own frame.
    fn turn_message(&mut self, turn: Turn) -> Option<MessageRecord> {
        if !self.is_root() {
            self.frame_mut().turns.push(turn);
            return None;
        }
        let app = self.app;
        let message = MessageRecord {
            id: MessageId::generate(app.clock.as_ref()),
            conversation_id: self.run.conversation_id,
            org_id: self.run.org_id,
            seq: 0,
            role: turn.speaker.as_str().to_owned(),
            body: serde_json::to_string(&turn).unwrap_or_default(),
            run_id: Some(self.run.id),
            created_at: app.clock.now(),
        };
        self.root.push(turn);
        Some(message)
    }

    /// Records a tool's answer in the frame and tells the client.
    async fn answer(&mut self, answer: ToolAnswer) -> Result<(), RuntimeError> {
        self.emitter
            .emit(
                "tool_result",
                json!({"call_id": answer.call_id, "ok": answer.ok, "result": answer.shown}),
            )
            .await?;
        self.push_turn(Turn::tool(answer)).await
    }

    /// The tools the current frame's agent may offer the model.
    async fn tools_for(&mut self, agent: &Agent) -> Result<Vec<ToolSpec>, RuntimeError> {
        let role = self
            .principal
            .org
            .as_ref()
            .map(|a| a.role)
            .unwrap_or(switchboard_domain::Role::Viewer);
        if agent.supervisor {
            let specialists = self.app.org_agents(self.run.org_id).await?;
            return Ok(specialists
                .iter()
                .filter(|a| !a.supervisor && role.at_least(a.min_role))
                .map(|a| ToolSpec {
                    name: format!("{DELEGATE}{}", a.slug),
                    description: format!(
                        "Hand a task to the {} specialist: {}",
                        a.name, a.description
                    ),
                    input_schema: json!({
                        "type": "object",
                        "properties": {"task": {"type": "string",
                            "description": "The complete task, with every detail the specialist needs."}},
                        "required": ["task"]
                    }),
                })
                .collect());
        }
        let policy = self
            .app
            .tool_policy(self.run.org_id)
            .await
            .map_err(|e| RuntimeError::Internal(e.to_string()))?;
        let visible = self
            .app
            .list_tools_under(&self.principal, &policy)
            .map_err(|e| RuntimeError::Internal(e.to_string()))?;
        self.policy = Some(policy);
        Ok(visible
            .into_iter()
            .filter(|t| t.decision != "deny" && allowed(agent, t.name))
            .map(|t| ToolSpec {
                name: wire_name(t.name),
                description: t.description.to_owned(),
                input_schema: t.input_schema,
            })
            .collect())
    }

    /// One model call for the current frame.
    async fn model_step(&mut self) -> Result<Next, RuntimeError> {
        let slug = self.frame().agent.clone();
        let agent = self.agent(&slug).await?;
        if self.frame().steps >= agent.max_steps {
            let message = format!(
                "{} stopped after {} steps without a final answer.",
                agent.name, agent.max_steps
            );
            if self.is_root() {
                return Ok(Next::Stop(failed("max_steps", message)));
            }
            return self.close_frame(message, false).await;
        }
        self.frame_mut().steps += 1;
        self.run.steps += 1;
        let org = self.run.org_id;
        if !self
            .app
            .gateway
            .has_default_model(org)
            .await
            .map_err(|e| RuntimeError::Internal(e.to_string()))?
            && agent.model.is_none()
        {
            return Ok(Next::Stop(failed(
                "no_provider",
                "No AI model is configured for this organisation yet. An admin can add a \
                 provider and choose a default model under Models (/models).",
            )));
        }
        let tools = self.tools_for(&agent).await?;
        let turns = if self.is_root() {
            &self.root
        } else {
            &self.frame().turns
        };
        let request = ChatRequest {
            system: Some(agent.system_prompt()),
            messages: to_messages(turns),
            tools,
            ..ChatRequest::default()
        };
        let user = self.run.user_id;
        let model = agent.model.clone().unwrap_or_else(|| "default".to_owned());
        let stream = self
            .app
            .gateway
            .converse(
                org,
                Some(user),
                Actor::User(user.to_string()),
                &model,
                request,
            )
            .await;
        let mut stream = match stream {
            Ok(stream) => stream,
            Err(e) => return Ok(Next::Stop(failed(e.status(), public_message(&e)))),
        };
        let mut answer = Answer::default();
        let mut indices = Vec::new();
        let root = self.is_root();
        loop {
            let item = tokio::select! {
                item = stream.next() => item,
                () = self.shutdown.cancelled() => {
                    return Ok(Next::Stop(failed(
                        "interrupted",
                        "The hub stopped while the assistant was answering.",
                    )));
                }
            };
            match item {
                None => break,
                Some(Ok(event)) => {
                    if let (StreamEvent::Text(delta), true) = (&event, root) {
                        self.emitter.text(delta).await?;
                    }
                    answer.apply(event, &mut indices);
                }
                Some(Err(e)) => {
                    self.emitter.flush().await?;
                    return Ok(Next::Stop(failed(e.status(), public_message(&e))));
                }
            }
        }
        self.emitter.flush().await?;
        let calls: Vec<StoredCall> = answer
            .tool_calls
            .iter()
            .map(|c| StoredCall {
                id: c.id.clone(),
                name: tool_name(&c.name),
                arguments: serde_json::from_str(&c.arguments)
                    .unwrap_or_else(|_| Value::String(c.arguments.clone())),
            })
            .collect();
        let text = answer.text.clone();
        if calls.is_empty() {
            self.push_turn(Turn::assistant(text.clone(), calls)).await?;
            if self.is_root() {
                return Ok(Next::Stop(Stop::Completed));
            }
            return self.close_frame(text, true).await;
        }
        // Stored with the checkpoint that follows (see `drive`).
        self.push_turn_with_checkpoint(Turn::assistant(text, calls.clone()));
        self.frame_mut().queue = calls;
        Ok(Next::Continue)
    }

    /// A delegated frame is finished: its answer is the result of the delegate call below.
    async fn close_frame(&mut self, text: String, ok: bool) -> Result<Next, RuntimeError> {
        let Some(frame) = self.state.frames.pop() else {
            return Ok(Next::Continue);
        };
        let Some(call) = frame.parent_call else {
            return Ok(Next::Continue);
        };
        let wrapped = wrap_untrusted(&format!("agent:{}", frame.agent), &text);
        self.state.injection |= wrapped.is_suspicious();
        self.answer(ToolAnswer {
            call_id: call.id,
            tool: call.name,
            ok,
            shown: Value::String(text),
            for_model: wrapped.text,
        })
        .await?;
        Ok(Next::Continue)
    }

    /// Handles one tool call of the current frame.
    async fn handle_call(&mut self, call: StoredCall) -> Result<Next, RuntimeError> {
        let shown_arguments = guarded(&call.arguments);
        let slug = self.frame().agent.clone();
        let agent = self.agent(&slug).await?;
        if let (true, Some(target)) = (agent.supervisor, call.name.strip_prefix(DELEGATE)) {
            self.emitter
                .emit(
                    "tool_call",
                    json!({"call_id": call.id, "tool": call.name, "arguments": shown_arguments}),
                )
                .await?;
            return self.delegate(call.clone(), target.to_owned()).await;
        }
        self.emitter
            .emit(
                "tool_call",
                json!({"call_id": call.id, "tool": call.name, "arguments": shown_arguments}),
            )
            .await?;
        let refuse = |message: String| ToolAnswer::refused(&call, message);
        if agent.supervisor || !allowed(&agent, &call.name) {
            let message = format!("`{}` is not one of {}'s tools.", call.name, agent.name);
            self.answer(refuse(message)).await?;
            return Ok(Next::Continue);
        }
        if !call.arguments.is_object() {
            self.answer(refuse(
                "The arguments must be a JSON object; call the tool again with valid JSON."
                    .to_owned(),
            ))
            .await?;
            return Ok(Next::Continue);
        }
        let policy = match self.policy.take() {
            Some(policy) => policy,
            None => self
                .app
                .tool_policy(self.run.org_id)
                .await
                .map_err(|e| RuntimeError::Internal(e.to_string()))?,
        };
        let called = self
            .app
            .call_tool_under(
                &self.principal,
                &call.name,
                call.arguments.clone(),
                self.state.injection,
                &policy,
            )
            .await
            .map_err(|e| RuntimeError::Internal(e.to_string()));
        self.policy = Some(policy);
        let called = called?;
        let answer = match called {
            Called::Done(value) => self.result_answer(&call, &value, true),
            Called::Failed(message) => refuse(format!("The tool failed: {message}")),
            Called::Denied(reason) => refuse(format!(
                "The call was denied by policy: {reason}. Tell the person; do not retry it."
            )),
            Called::Invalid(problems) => refuse(format!(
                "The arguments are invalid: {}. Fix them and call again.",
                problems.join("; ")
            )),
            Called::Pending { approval_id, tier } => {
                self.emitter
                    .emit(
                        "approval_required",
                        json!({"approval_id": approval_id.to_string(), "tool": call.name,
                               "arguments": shown_arguments, "tier": tier.as_str()}),
                    )
                    .await?;
                self.frame_mut().waiting = Some((call, approval_id));
                return Ok(Next::Stop(Stop::Waiting(approval_id)));
            }
        };
        self.answer(answer).await?;
        Ok(Next::Continue)
    }

    /// A tool's result: guarded for people, and wrapped as untrusted data for the model.
    fn result_answer(&mut self, call: &StoredCall, value: &Value, ok: bool) -> ToolAnswer {
        let shown = guarded(value);
        let text = match &shown {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let wrapped = wrap_untrusted(&format!("tool:{}", call.name), &text);
        self.state.injection |= wrapped.is_suspicious();
        ToolAnswer {
            call_id: call.id.clone(),
            tool: call.name.clone(),
            ok,
            shown,
            for_model: wrapped.text,
        }
    }

    /// Opens a frame for a specialist (the supervisor's delegate call).
    async fn delegate(&mut self, call: StoredCall, target: String) -> Result<Next, RuntimeError> {
        let role = self
            .principal
            .org
            .as_ref()
            .map(|a| a.role)
            .unwrap_or(switchboard_domain::Role::Viewer);
        let specialist = self
            .app
            .find_agent(self.run.org_id, &target)
            .await?
            .filter(|a| !a.supervisor && role.at_least(a.min_role));
        let task = call.arguments["task"].as_str().unwrap_or_default().trim();
        let problem = match (&specialist, task.is_empty()) {
            (None, _) => Some(format!("There is no specialist `{target}` you may use.")),
            (_, true) => Some("Give the specialist a `task`.".to_owned()),
            _ => None,
        };
        if let Some(message) = problem {
            self.answer(ToolAnswer::refused(&call, message)).await?;
            return Ok(Next::Continue);
        }
        let task = task.to_owned();
        self.state.frames.push(Frame {
            agent: target,
            parent_call: Some(call),
            turns: vec![Turn::user(task)],
            steps: 0,
            queue: Vec::new(),
            waiting: None,
        });
        Ok(Next::Continue)
    }

    /// After a resumption: the waiting call's outcome becomes its answer.
    async fn settle_waiting(&mut self) -> Result<Option<Stop>, RuntimeError> {
        let Some((call, approval_id)) = self.frame_mut().waiting.take() else {
            return Ok(None);
        };
        let record = self
            .app
            .store
            .approvals
            .get(self.run.org_id, approval_id)
            .await?;
        let Some(record) = record else {
            return Ok(Some(failed("internal", "The approval request is gone.")));
        };
        self.emitter
            .emit(
                "approval_resolved",
                json!({"approval_id": approval_id.to_string(), "status": record.status}),
            )
            .await?;
        let result: Value = record
            .result
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok())
            .unwrap_or(Value::Null);
        let refused = |message: String| ToolAnswer::refused(&call, message);
        let answer = match record.status.as_str() {
            "executed" => self.result_answer(&call, &result, true),
            "failed" => refused(format!(
                "The call was approved but failed: {}",
                result["error"].as_str().unwrap_or("unknown error")
            )),
            "denied" => refused(format!(
                "A person denied this call{}. Tell the person; do not retry it.",
                record
                    .decision_reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            )),
            "expired" => refused(
                "Nobody approved this call in time, so it was denied. Tell the person; do not \
                 retry it."
                    .to_owned(),
            ),
            other => {
                return Ok(Some(failed(
                    "internal",
                    format!("The approval request is still {other}."),
                )))
            }
        };
        self.answer(answer).await?;
        Ok(None)
    }
}

/// Whether the agent's tool patterns include `tool`.
fn allowed(agent: &Agent, tool: &str) -> bool {
    agent
        .tools
        .iter()
        .any(|pattern| switchboard_domain::policy::glob_match(pattern, tool))
}

/// What a person is told about a failed model call (no provider internals).
fn public_message(e: &crate::gateway::GatewayError) -> String {
    use crate::gateway::GatewayError as E;
    match e {
        E::Upstream(_) => "The model provider failed (and so did any fallback); try again \
                           in a moment."
            .to_owned(),
        E::Identity(_) | E::Internal(_) => "Something went wrong on our side.".to_owned(),
        other => other.to_string(),
    }
}
