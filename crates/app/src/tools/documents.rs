//! Document tools: the assistant searches (T1), lists and reads (T1) the organisation's
//! documents, files a text document (T2), tags one (T2) and deletes one (T4, admins) through
//! the same service as `/api/v1/documents` (`crate::workspace::documents`).

use std::future::Future;
use std::pin::Pin;

use serde_json::{json, Value};
use switchboard_domain::{Role, Tier};

use super::{ToolDef, ToolResult};
use crate::identity::Principal;
use crate::workspace::{DocumentListQuery, DocumentView, Upload};
use crate::App;

type Running<'a> = Pin<Box<dyn Future<Output = ToolResult> + Send + 'a>>;

/// The longest text document the assistant files.
const MAX_CONTENT: usize = 100_000;

pub(super) fn tools() -> Vec<ToolDef> {
    let id = json!({"type": "string", "maxLength": 40, "description": "The document's `id` (from a search or list)"});
    let tags = json!({"type": "string", "maxLength": 400, "description": "Tags separated by commas, e.g. `policy, backups`"});
    vec![
        ToolDef {
            name: "workspace.search_documents",
            description: "Search the organisation's documents by words (in their names, tags \
                          and text), best match first, each with a snippet around the words.",
            input_schema: json!({
                "type": "object", "additionalProperties": false, "required": ["query"],
                "properties": {
                    "query": {"type": "string", "minLength": 1, "maxLength": 500},
                    "tag": {"type": "string", "maxLength": 32},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 50}
                }
            }),
            min_role: Role::Viewer,
            tier: Tier::T1,
            tier_for: None,
            check: None,
            run: search,
        },
        ToolDef {
            name: "workspace.list_documents",
            description: "List the organisation's documents, newest first: name, tags, size.",
            input_schema: json!({
                "type": "object", "additionalProperties": false,
                "properties": {"tag": {"type": "string", "maxLength": 32}}
            }),
            min_role: Role::Viewer,
            tier: Tier::T1,
            tier_for: None,
            check: None,
            run: list,
        },
        ToolDef {
            name: "workspace.read_document",
            description: "Read a document's text (the first 20,000 characters).",
            input_schema: json!({"type": "object", "additionalProperties": false, "required": ["id"],
                                 "properties": {"id": id}}),
            min_role: Role::Viewer,
            tier: Tier::T1,
            tier_for: None,
            check: None,
            run: read,
        },
        ToolDef {
            name: "workspace.create_document",
            description: "File a new text or Markdown document in the library (e.g. meeting \
                          notes, a how-to). The name should end in .md or .txt.",
            input_schema: json!({
                "type": "object", "additionalProperties": false, "required": ["name", "content"],
                "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": 200},
                    "content": {"type": "string", "minLength": 1, "maxLength": MAX_CONTENT},
                    "tags": tags
                }
            }),
            min_role: Role::Member,
            tier: Tier::T2,
            tier_for: None,
            check: None,
            run: create,
        },
        ToolDef {
            name: "workspace.tag_document",
            description: "Replace a document's tags.",
            input_schema: json!({"type": "object", "additionalProperties": false,
                                 "required": ["id", "tags"], "properties": {"id": id, "tags": tags}}),
            min_role: Role::Member,
            tier: Tier::T2,
            tier_for: None,
            check: None,
            run: tag,
        },
        ToolDef {
            name: "workspace.delete_document",
            description: "Delete a document and its file for good.",
            input_schema: json!({"type": "object", "additionalProperties": false, "required": ["id"],
                                 "properties": {"id": id}}),
            min_role: Role::Admin,
            tier: Tier::T4,
            tier_for: None,
            check: None,
            run: delete,
        },
    ]
}

fn brief(d: &DocumentView) -> Value {
    json!({"id": d.id, "name": d.name, "tags": d.tags, "size": d.size, "format": d.format,
           "created_at": d.created_at})
}

fn search<'a>(app: &'a App, p: &'a Principal, args: Value) -> Running<'a> {
    Box::pin(async move {
        let limit = args["limit"].as_u64().and_then(|n| u32::try_from(n).ok());
        let hits = app
            .search_documents(
                p,
                args["query"].as_str().unwrap_or_default(),
                args["tag"].as_str(),
                limit,
            )
            .await?;
        let results: Vec<Value> = hits
            .iter()
            .map(|h| {
                json!({"id": h.document.id, "name": h.document.name, "tags": h.document.tags,
                       "snippet": h.snippet.plain(), "score": h.score})
            })
            .collect();
        Ok(json!({"results": results}))
    })
}

fn list<'a>(app: &'a App, p: &'a Principal, args: Value) -> Running<'a> {
    Box::pin(async move {
        let query = DocumentListQuery {
            tag: args["tag"].as_str().map(str::to_owned),
            page: None,
            per_page: Some(50),
        };
        let page = app.list_documents(p, &query).await?;
        let documents: Vec<Value> = page.documents.iter().map(brief).collect();
        Ok(json!({"documents": documents, "total": page.total}))
    })
}

fn read<'a>(app: &'a App, p: &'a Principal, args: Value) -> Running<'a> {
    Box::pin(async move {
        let (document, text, cut) = app
            .document_text(p, args["id"].as_str().unwrap_or_default())
            .await?;
        Ok(
            json!({"document": brief(&document), "text": text, "truncated": cut,
                  "note": document.text_note}),
        )
    })
}

fn create<'a>(app: &'a App, p: &'a Principal, args: Value) -> Running<'a> {
    Box::pin(async move {
        let upload = Upload {
            name: args["name"].as_str().unwrap_or_default().to_owned(),
            content_type: None,
            bytes: args["content"]
                .as_str()
                .unwrap_or_default()
                .as_bytes()
                .to_vec(),
            tags: args["tags"].as_str().map(str::to_owned),
        };
        let document = app.upload_document(p, upload).await?;
        Ok(brief(&document))
    })
}

fn tag<'a>(app: &'a App, p: &'a Principal, args: Value) -> Running<'a> {
    Box::pin(async move {
        let document = app
            .tag_document(
                p,
                args["id"].as_str().unwrap_or_default(),
                args["tags"].as_str().unwrap_or_default(),
                None,
            )
            .await?;
        Ok(brief(&document))
    })
}

fn delete<'a>(app: &'a App, p: &'a Principal, args: Value) -> Running<'a> {
    Box::pin(async move {
        let id = args["id"].as_str().unwrap_or_default();
        app.delete_document(p, id).await?;
        Ok(json!({"deleted": id}))
    })
}
