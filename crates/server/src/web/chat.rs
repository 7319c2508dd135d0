//! The chat console: the person's conversations, one conversation with its history (tool
//! calls as cards with their arguments and results, a waiting approval inline), and the
//! message form. With JavaScript, `app.js` streams the answer from the API; without it, the
//! form posts here and the page comes back when the run has answered or waits.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use serde_json::Value;
use switchboard_app::runtime::{ConversationView, MessageView, RunView};
use switchboard_domain::{ConversationId, Role};

use super::admin::refused;
use super::console::{redirect_with, ConsoleUser};
use super::flash::{self, FlashKind};
use super::{error_page, render, Layout};
use crate::error::ErrorCode;
use crate::state::AppState;

/// How long a form post without JavaScript waits for the answer: under the request timeout
/// (30 s by default); a longer run shows as "working" on the page it returns to.
const WAIT_WITHOUT_SCRIPT: Duration = Duration::from_secs(25);

/// A tool call as a card: the call, and its result once there is one.
pub struct ToolCard {
    pub call_id: String,
    pub tool: String,
    pub arguments: String,
    pub result: Option<String>,
    pub ok: bool,
}

/// One entry of the transcript.
pub enum Entry {
    User(String),
    Assistant { text: String, tools: Vec<ToolCard> },
}

fn pretty(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    }
}

/// The history as entries: tool results join the card of their call.
fn transcript(messages: &[MessageView]) -> Vec<Entry> {
    let mut entries: Vec<Entry> = Vec::new();
    for m in messages {
        match m.role.as_str() {
            "user" => entries.push(Entry::User(m.text.clone())),
            "assistant" => entries.push(Entry::Assistant {
                text: m.text.clone(),
                tools: m
                    .tool_calls
                    .iter()
                    .map(|c| ToolCard {
                        call_id: c["call_id"].as_str().unwrap_or_default().to_owned(),
                        tool: c["tool"].as_str().unwrap_or_default().to_owned(),
                        arguments: pretty(&c["arguments"]),
                        result: None,
                        ok: true,
                    })
                    .collect(),
            }),
            _ => {
                let Some(result) = &m.result else { continue };
                let call = result["call_id"].as_str().unwrap_or_default();
                let card = entries.iter_mut().rev().find_map(|e| match e {
                    Entry::Assistant { tools, .. } => tools.iter_mut().find(|t| t.call_id == call),
                    Entry::User(_) => None,
                });
                if let Some(card) = card {
                    card.result = Some(pretty(&result["result"]));
                    card.ok = result["ok"].as_bool().unwrap_or(false);
                }
            }
        }
    }
    entries
}

/// A run that has not ended, as the page shows it.
pub struct Active {
    pub run_id: String,
    /// The last event the page reflects; `app.js` follows from here.
    pub after: i64,
    /// The request it waits for: (approval id, tool, tier, arguments).
    pub waiting: Option<(String, String, String, String)>,
}

fn active(run: &RunView) -> Active {
    let waiting = (run.status == "waiting_approval")
        .then(|| {
            run.steps
                .iter()
                .rev()
                .find(|s| s.event == "approval_required")
                .map(|s| {
                    (
                        s.data["approval_id"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        s.data["tool"].as_str().unwrap_or_default().to_owned(),
                        s.data["tier"].as_str().unwrap_or_default().to_owned(),
                        pretty(&s.data["arguments"]),
                    )
                })
        })
        .flatten();
    Active {
        run_id: run.id.clone(),
        after: run.steps.last().map_or(0, |s| s.seq),
        waiting,
    }
}

#[derive(askama::Template)]
#[template(path = "chat.html")]
struct ChatPage {
    layout: Layout,
    conversations: Vec<ConversationView>,
    current: Option<ConversationView>,
    entries: Vec<Entry>,
    active: Option<Active>,
    /// A model is configured; otherwise the page says how to add one.
    ready: bool,
    is_admin: bool,
}

async fn show(
    state: &AppState,
    user: ConsoleUser,
    headers: &HeaderMap,
    id: Option<ConversationId>,
) -> Response {
    let principal = user.principal();
    let conversations = match state.app.conversations(principal).await {
        Ok(list) => list,
        Err(e) => return refused(e, "/"),
    };
    let (current, entries, active) = match id {
        Some(id) => {
            let (conversation, messages) = match state.app.conversation(principal, id).await {
                Ok(found) => found,
                Err(e) => return refused(e, "/chat"),
            };
            let run = match state.app.active_run(principal, id).await {
                Ok(run) => run,
                Err(e) => return refused(e, "/chat"),
            };
            (
                Some(conversation),
                transcript(&messages),
                run.as_ref().map(active),
            )
        }
        None => (None, Vec::new(), None),
    };
    let ready = state.app.assistant_ready(principal).await.unwrap_or(false);
    let (flashes, clear) = flash::take(headers);
    let title = current
        .as_ref()
        .map_or_else(|| "Assistant".to_owned(), |c| c.title.clone());
    let page = ChatPage {
        is_admin: user.view.role.is_some_and(|r| r.at_least(Role::Admin)),
        layout: Layout::signed_in(title, "/chat", flashes, user.view.clone()),
        conversations,
        current,
        entries,
        active,
        ready,
    };
    flash::finish(render(&page), clear)
}

pub async fn index(
    State(state): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
) -> Response {
    show(&state, user, &headers, None).await
}

pub async fn conversation(
    State(state): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse() else {
        return error_page(ErrorCode::NotFound);
    };
    show(&state, user, &headers, Some(id)).await
}

#[derive(Debug, Deserialize)]
pub struct NewForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    content: String,
}

/// Starts a conversation (with its first message, when one was typed).
pub async fn create(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form): Form<NewForm>,
) -> Response {
    if let Err(page) = user.check_csrf(&form.csrf) {
        return page;
    }
    let created = match state
        .app
        .create_conversation(user.principal(), None, None)
        .await
    {
        Ok(c) => c,
        Err(e) => return refused(e, "/chat"),
    };
    if form.content.trim().is_empty() {
        return Redirect::to(&format!("/chat/{}", created.id)).into_response();
    }
    send_and_wait(&state, &user, &created.id, &form.content).await
}

#[derive(Debug, Deserialize)]
pub struct MessageForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    content: String,
}

/// Sends a message without JavaScript: waits for the run to answer (or to wait for an
/// approval), then shows the conversation.
pub async fn send(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Form(form): Form<MessageForm>,
) -> Response {
    if let Err(page) = user.check_csrf(&form.csrf) {
        return page;
    }
    send_and_wait(&state, &user, &id, &form.content).await
}

async fn send_and_wait(state: &AppState, user: &ConsoleUser, id: &str, content: &str) -> Response {
    let back = format!("/chat/{id}");
    let Ok(conversation) = id.parse() else {
        return error_page(ErrorCode::NotFound);
    };
    let mut follower = match state
        .app
        .post_message(user.principal(), conversation, content, None)
        .await
    {
        Ok((_, follower)) => follower,
        Err(e) => return refused(e, &back),
    };
    let _ = tokio::time::timeout(WAIT_WITHOUT_SCRIPT, async {
        while follower.next().await.is_some() {}
    })
    .await;
    Redirect::to(&back).into_response()
}

#[derive(Debug, Deserialize)]
pub struct RenameForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    title: String,
}

pub async fn rename(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Form(form): Form<RenameForm>,
) -> Response {
    if let Err(page) = user.check_csrf(&form.csrf) {
        return page;
    }
    let back = format!("/chat/{id}");
    let Ok(conversation) = id.parse() else {
        return error_page(ErrorCode::NotFound);
    };
    match state
        .app
        .rename_conversation(user.principal(), conversation, &form.title)
        .await
    {
        Ok(_) => redirect_with(&back, FlashKind::Success, "Renamed."),
        Err(e) => refused(e, &back),
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn delete(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(page) = user.check_csrf(&form.csrf) {
        return page;
    }
    let Ok(conversation) = id.parse() else {
        return error_page(ErrorCode::NotFound);
    };
    match state
        .app
        .delete_conversation(user.principal(), conversation)
        .await
    {
        Ok(()) => redirect_with("/chat", FlashKind::Success, "Conversation deleted."),
        Err(e) => refused(e, &format!("/chat/{id}")),
    }
}
