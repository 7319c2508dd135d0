//! Messages as the runtime stores them — a conversation's turns (`user`, `assistant`,
//! `tool`) with their parts — and their translation into the provider-neutral request the
//! model sees. Consecutive tool results become one user turn, as both wire formats expect.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchboard_llm::{Message, Part, Role, ToolCall};

/// Who a stored message is from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Speaker {
    User,
    Assistant,
    Tool,
}

impl Speaker {
    pub fn as_str(self) -> &'static str {
        match self {
            Speaker::User => "user",
            Speaker::Assistant => "assistant",
            Speaker::Tool => "tool",
        }
    }
}

/// A tool call the model made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredCall {
    pub id: String,
    pub name: String,
    /// The arguments as the model sent them (an object, or the raw text when not JSON).
    pub arguments: Value,
}

/// One stored turn.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    pub speaker: Speaker,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<StoredCall>,
    /// For tool turns: which call this answers, whether it succeeded, and what the model
    /// is shown (already guarded and wrapped as untrusted data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<ToolAnswer>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolAnswer {
    pub call_id: String,
    pub tool: String,
    pub ok: bool,
    /// What the person sees (guarded).
    pub shown: Value,
    /// What the model is given.
    pub for_model: String,
}

impl ToolAnswer {
    /// A call that did not run (or failed), with what the model and the person are told.
    pub fn refused(call: &StoredCall, message: String) -> ToolAnswer {
        ToolAnswer {
            call_id: call.id.clone(),
            tool: call.name.clone(),
            ok: false,
            shown: serde_json::json!({ "error": message }),
            for_model: message,
        }
    }
}

impl Turn {
    pub fn user(text: impl Into<String>) -> Turn {
        Turn {
            speaker: Speaker::User,
            text: text.into(),
            tool_calls: Vec::new(),
            result: None,
        }
    }

    pub fn assistant(text: String, tool_calls: Vec<StoredCall>) -> Turn {
        Turn {
            speaker: Speaker::Assistant,
            text,
            tool_calls,
            result: None,
        }
    }

    pub fn tool(answer: ToolAnswer) -> Turn {
        Turn {
            speaker: Speaker::Tool,
            text: String::new(),
            tool_calls: Vec::new(),
            result: Some(answer),
        }
    }
}

/// The turns as provider-neutral messages.
pub fn to_messages(turns: &[Turn]) -> Vec<Message> {
    let mut out: Vec<Message> = Vec::new();
    for turn in turns {
        match turn.speaker {
            Speaker::User => out.push(Message::user(turn.text.clone())),
            Speaker::Assistant => {
                let mut parts = Vec::new();
                if !turn.text.is_empty() {
                    parts.push(Part::Text(turn.text.clone()));
                }
                for call in &turn.tool_calls {
                    parts.push(Part::ToolCall(ToolCall {
                        id: call.id.clone(),
                        name: call.name.clone(),
                        arguments: match &call.arguments {
                            Value::String(raw) => raw.clone(),
                            other => other.to_string(),
                        },
                    }));
                }
                if parts.is_empty() {
                    parts.push(Part::Text(String::new()));
                }
                out.push(Message {
                    role: Role::Assistant,
                    parts,
                });
            }
            Speaker::Tool => {
                let Some(answer) = &turn.result else { continue };
                let part = Part::ToolResult {
                    call_id: answer.call_id.clone(),
                    content: answer.for_model.clone(),
                    is_error: !answer.ok,
                };
                // Results of one assistant turn travel together in one user turn.
                match out.last_mut() {
                    Some(last)
                        if last.role == Role::User
                            && last
                                .parts
                                .iter()
                                .all(|p| matches!(p, Part::ToolResult { .. })) =>
                    {
                        last.parts.push(part);
                    }
                    _ => out.push(Message {
                        role: Role::User,
                        parts: vec![part],
                    }),
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(id: &str, ok: bool) -> ToolAnswer {
        ToolAnswer {
            call_id: id.into(),
            tool: "org.members".into(),
            ok,
            shown: json!({}),
            for_model: format!("result {id}"),
        }
    }

    #[test]
    fn tool_results_of_one_turn_are_grouped_after_the_calls() {
        let calls = vec![
            StoredCall {
                id: "a".into(),
                name: "org.members".into(),
                arguments: json!({}),
            },
            StoredCall {
                id: "b".into(),
                name: "org.members".into(),
                arguments: json!({"x": 1}),
            },
        ];
        let turns = vec![
            Turn::user("who is here?"),
            Turn::assistant(String::new(), calls),
            Turn::tool(answer("a", true)),
            Turn::tool(answer("b", false)),
            Turn::assistant("Ada and Bob.".into(), vec![]),
        ];
        let messages = to_messages(&turns);
        assert_eq!(messages.len(), 4);
        assert_eq!(messages[1].parts.len(), 2);
        assert_eq!(
            messages[2].parts,
            vec![
                Part::ToolResult {
                    call_id: "a".into(),
                    content: "result a".into(),
                    is_error: false
                },
                Part::ToolResult {
                    call_id: "b".into(),
                    content: "result b".into(),
                    is_error: true
                },
            ]
        );
        assert_eq!(messages[3], Message::assistant("Ada and Bob."));
    }

    #[test]
    fn turns_round_trip_through_json() {
        let turn = Turn::tool(answer("a", true));
        let text = serde_json::to_string(&turn).unwrap();
        assert_eq!(serde_json::from_str::<Turn>(&text).unwrap(), turn);
    }
}
