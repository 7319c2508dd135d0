//! The document library over HTTP: uploads of each kind with their text found again, ranked
//! with highlighted snippets; downloads that return the very bytes (sealed at rest, never
//! inline); validation naming the field; limits; roles; the activity and audit logs; other
//! tenants seeing nothing; the tools; and the search-quality corpus (`testdata/documents`,
//! recall@5 ≥ 0.9).

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::Part;
use crate::server_tests;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/documents");

fn corpus_file(name: &str) -> Vec<u8> {
    std::fs::read(format!("{CORPUS}/{name}")).unwrap()
}

fn file<'a>(name: &'a str, content_type: &'a str, bytes: &'a [u8]) -> Part<'a> {
    Part::File {
        field: "file",
        name,
        content_type,
        bytes,
    }
}

/// Prints a measurement (shown with `--no-capture`).
#[allow(
    clippy::print_stderr,
    reason = "the measured recall is the search-quality test's report"
)]
fn report(line: &str) {
    eprintln!("{line}");
}

/// Announces a multipart body of `length` bytes with `Expect: 100-continue` and reads the
/// answer without sending the body (a server that refuses it never asks for it).
async fn declared_upload(
    server: &crate::harness::TestServer,
    caller: &crate::harness::Caller,
    path: &str,
    length: usize,
) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = server.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: multipart/form-data; boundary=x\r\n\
         Content-Length: {length}\r\nExpect: 100-continue\r\nConnection: close\r\n");
    if let Some(session) = &caller.session {
        head.push_str(&format!("Cookie: sb_session={session}\r\n"));
    }
    if let Some(csrf) = &caller.csrf {
        head.push_str(&format!("X-Csrf-Token: {csrf}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut answer),
    )
    .await
    .unwrap()
    .unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// A body over the general 1 MiB limit and well within the library's.
fn fits_general() -> Vec<u8> {
    vec![b'a'; 2 * 1024 * 1024]
}

fn field(body: &Value) -> Option<&str> {
    body["error"]["details"]["field"].as_str()
}

server_tests! {
    async fn documents_are_uploaded_found_downloaded_tagged_and_deleted(server: TestServer) {
        let operator = server.setup().await;
        let owner = server.org_with_owner(&operator, "acme").await;
        let member = server.member(&owner, "me@acme.test", "member").await;
        let viewer = server.member(&owner, "vi@acme.test", "viewer").await;
        let outsider = server.org_with_owner(&operator, "globex").await;

        // Bad input names the problem and stores nothing.
        let (status, answer) = server.upload(&member, "/api/v1/documents", &[Part::Text("tags", "x")]).await;
        assert_eq!((status, field(&answer)), (400, Some("file")), "{answer}");
        let (status, answer) = server.upload(&member, "/api/v1/documents", &[file("empty.txt", "text/plain", b"")]).await;
        assert_eq!((status, field(&answer)), (400, Some("file")), "{answer}");
        let (status, answer) = server.upload(&member, "/api/v1/documents",
            &[file("a.txt", "text/plain", b"hello"), Part::Text("tags", "no/slashes")]).await;
        assert_eq!((status, field(&answer)), (400, Some("tags")), "{answer}");
        let (status, answer) = server.send(&member, Method::POST, "/api/v1/documents", Some(json!({"file": "x"}))).await;
        assert_eq!((status, answer["error"]["code"].as_str()), (415, Some("unsupported_media_type")), "{answer}");
        let (status, _) = server.upload(&viewer, "/api/v1/documents", &[file("a.txt", "text/plain", b"hello")]).await;
        assert_eq!(status, 403, "viewers only read");
        let (_, empty) = server.send(&member, Method::GET, "/api/v1/documents", None).await;
        assert_eq!(empty["total"], 0, "nothing was stored: {empty}");

        // One of each kind; the text of each is found by a word from its body.
        let pdf = corpus_file("incident-response-plan.pdf");
        let html = corpus_file("vpn-setup.html");
        let kinds = [
            ("incident-response-plan.pdf", "application/pdf", pdf.as_slice(), "pdf", "insurer"),
            ("vpn-setup.html", "text/html", html.as_slice(), "html", "tunnelling"),
            ("notes.md", "text/markdown", b"# Notes\n\nThe **espresso** machine descales on Fridays.".as_slice(), "markdown", "espresso"),
            ("C:\\Users\\me\\todo.txt", "application/octet-stream", b"Order more toner & paper <soon>".as_slice(), "text", "toner"),
        ];
        let mut ids = Vec::new();
        for (name, content_type, bytes, format, _) in kinds {
            let (status, made) = server.upload(&member, "/api/v1/documents",
                &[file(name, content_type, bytes), Part::Text("tags", "Policy, howto")]).await;
            assert_eq!(status, 201, "{made}");
            assert_eq!(made["size"].as_u64(), Some(bytes.len() as u64));
            assert_eq!(made["format"], format);
            assert_eq!(made["tags"], json!(["howto", "policy"]));
            ids.push(made["id"].as_str().unwrap().to_owned());
        }
        let (_, todo) = server.send(&member, Method::GET, &format!("/api/v1/documents/{}", ids[3]), None).await;
        assert_eq!(todo["name"], "todo.txt", "paths are cut off the name");
        for (i, (name, _, _, _, word)) in kinds.iter().enumerate() {
            let (status, found) = server.send(&viewer, Method::GET, &format!("/api/v1/documents/search?q={word}"), None).await;
            assert_eq!(status, 200, "{found}");
            let first = &found["results"][0];
            assert_eq!(first["id"].as_str(), Some(ids[i].as_str()), "{name}: {found}");
            assert!(first["score"].as_f64().unwrap() > 0.0);
            let snippet = first["snippet"].as_str().unwrap().to_lowercase();
            assert!(snippet.contains(&format!("<mark>{word}</mark>")), "{name}: {snippet}");
        }
        // The snippet is escaped HTML: the document's own markup never comes through.
        let (_, found) = server.send(&viewer, Method::GET, "/api/v1/documents/search?q=toner", None).await;
        let snippet = found["results"][0]["snippet"].as_str().unwrap();
        assert!(snippet.starts_with("Order more <mark>toner</mark> &amp; paper"), "{snippet}");
        assert!(!snippet.contains("<soon>"), "{snippet}");
        let (status, answer) = server.send(&viewer, Method::GET, "/api/v1/documents/search?q=%20", None).await;
        assert_eq!((status, field(&answer)), (400, Some("q")));
        let (_, tagged) = server.send(&viewer, Method::GET, "/api/v1/documents?tag=howto&per_page=2", None).await;
        assert_eq!((tagged["total"].as_u64(), tagged["documents"].as_array().unwrap().len()), (Some(4), 2));

        // Downloads give back the very bytes, as an attachment that never renders inline.
        let response = server.request(&viewer, Method::GET, &format!("/api/v1/documents/{}/content", ids[1]), None).await;
        assert_eq!(response.status(), 200);
        let headers = response.headers().clone();
        assert_eq!(headers["content-type"], "text/html");
        assert!(headers["content-disposition"].to_str().unwrap().starts_with("attachment; filename=\"vpn-setup.html\""));
        assert_eq!(headers["content-security-policy"], "sandbox");
        assert_eq!(response.bytes().await.unwrap().as_ref(), html.as_slice());
        // At rest the file is sealed: its bytes are nowhere in the clear.
        let record = server.app.store.documents
            .get(server.app.store.orgs.get_by_slug("acme").await.unwrap().unwrap().id, ids[1].parse().unwrap())
            .await.unwrap().unwrap();
        let sealed = server.app.store.secrets.get(record.file_id).await.unwrap().unwrap();
        assert!(!sealed.ciphertext.windows(9).any(|w| w == b"WireGuard"), "sealed at rest");

        // Tags change (members), with compare-and-set.
        let (status, changed) = server.send(&member, Method::PATCH, &format!("/api/v1/documents/{}", ids[0]),
            Some(json!({"tags": ["security", "incident"]}))).await;
        assert_eq!((status, changed["tags"].clone()), (200, json!(["incident", "security"])), "{changed}");
        let (status, answer) = server.send(&member, Method::PATCH, &format!("/api/v1/documents/{}", ids[0]),
            Some(json!({"tags": "x", "expected_updated_at": "2020-01-01T00:00:00+00:00"}))).await;
        assert_eq!(status, 409, "{answer}");
        let (status, answer) = server.send(&member, Method::PATCH, &format!("/api/v1/documents/{}", ids[0]),
            Some(json!({"tags": "Bad Tag!"}))).await;
        assert_eq!((status, field(&answer)), (400, Some("tags")));
        let (_, found) = server.send(&viewer, Method::GET, "/api/v1/documents/search?q=ransom&tag=security", None).await;
        assert_eq!(found["results"].as_array().unwrap().len(), 1, "{found}");

        // Other organisations see nothing of it.
        let (_, none) = server.send(&outsider, Method::GET, "/api/v1/documents/search?q=insurer", None).await;
        assert_eq!(none["results"], json!([]));
        for path in [format!("/api/v1/documents/{}", ids[0]), format!("/api/v1/documents/{}/content", ids[0])] {
            let (status, _) = server.send(&outsider, Method::GET, &path, None).await;
            assert_eq!(status, 404, "{path}");
        }

        // Only admins delete; the file goes with it.
        let (status, _) = server.send(&member, Method::DELETE, &format!("/api/v1/documents/{}", ids[2]), None).await;
        assert_eq!(status, 403);
        let (status, _) = server.send(&owner, Method::DELETE, &format!("/api/v1/documents/{}", ids[2]), None).await;
        assert_eq!(status, 204);
        let (status, _) = server.send(&viewer, Method::GET, &format!("/api/v1/documents/{}/content", ids[2]), None).await;
        assert_eq!(status, 404);
        let (_, found) = server.send(&viewer, Method::GET, "/api/v1/documents/search?q=espresso", None).await;
        assert_eq!(found["results"], json!([]));

        // Every change is in the activity log and the audit log.
        let (_, detail) = server.send(&viewer, Method::GET, &format!("/api/v1/documents/{}", ids[0]), None).await;
        let lines: Vec<String> = detail["activity"].as_array().unwrap().iter()
            .map(|a| format!("{} {} {}", a["action"].as_str().unwrap(), a["field"].as_str().unwrap_or("-"), a["to"].as_str().unwrap_or("-")))
            .collect();
        assert_eq!(lines, ["created - -", "changed tags incident, security"], "{detail}");
        let (_, audit) = server.send(&owner, Method::GET, "/api/v1/audit?kind=workspace.document", None).await;
        let mut kinds: Vec<&str> = audit.as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds, ["workspace.document.deleted", "workspace.document.downloaded", "workspace.document.tagged", "workspace.document.uploaded"]);
    }

    async fn the_document_tools_use_the_same_rules(server: TestServer) {
        let operator = server.setup().await;
        let owner = server.org_with_owner(&operator, "acme").await;
        let member = server.member(&owner, "me@acme.test", "member").await;
        let invoke = |caller, tool: &str, arguments: Value| {
            let server = &server;
            let path = format!("/api/v1/tools/{tool}/invoke");
            async move { server.send(caller, Method::POST, &path, Some(json!({"arguments": arguments}))).await }
        };
        let (status, made) = invoke(&member, "workspace.create_document", json!({
            "name": "meeting-notes.md", "content": "# Board meeting\n\nAgreed to replace the **router** in May.", "tags": "meetings"})).await;
        assert_eq!(status, 200, "{made}");
        let id = made["result"]["id"].as_str().unwrap().to_owned();
        let (status, found) = invoke(&member, "workspace.search_documents", json!({"query": "routers"})).await;
        assert_eq!(status, 200, "{found}");
        assert_eq!(found["result"]["results"][0]["id"].as_str(), Some(id.as_str()));
        let snippet = found["result"]["results"][0]["snippet"].as_str().unwrap();
        assert!(snippet.contains("Agreed to replace the router"), "plain text for the model: {snippet}");
        assert!(!snippet.contains('<') && !snippet.contains('\u{27E6}'), "{snippet}");
        let (_, read) = invoke(&member, "workspace.read_document", json!({"id": id})).await;
        assert!(read["result"]["text"].as_str().unwrap().contains("replace the router"), "{read}");
        let (_, listed) = invoke(&member, "workspace.list_documents", json!({"tag": "meetings"})).await;
        assert_eq!(listed["result"]["total"], 1);
        let (status, tagged) = invoke(&member, "workspace.tag_document", json!({"id": id, "tags": "meetings, board"})).await;
        assert_eq!((status, tagged["result"]["tags"].clone()), (200, json!(["board", "meetings"])));
        let (status, answer) = invoke(&member, "workspace.search_documents", json!({})).await;
        assert_eq!((status, answer["error"]["code"].as_str()), (422, Some("invalid_arguments")));
        let (status, answer) = invoke(&member, "workspace.delete_document", json!({"id": id})).await;
        assert_eq!((status, answer["error"]["code"].as_str()), (403, Some("tool_denied")), "deletes are for admins: {answer}");
        let (status, pending) = invoke(&owner, "workspace.delete_document", json!({"id": id})).await;
        assert_eq!((status, pending["status"].as_str()), (202, Some("pending")), "T4 waits for a second person: {pending}");
    }

    async fn uploads_past_the_limit_stop_early(server: TestServer) {
        let operator = server.setup().await;
        let owner = server.org_with_owner(&operator, "acme").await;
        let big = vec![b'a'; server.app.document_max_bytes + 1];
        let (status, answer) = server.upload(&owner, "/api/v1/documents", &[file("big.txt", "text/plain", &big)]).await;
        assert_eq!((status, answer["error"]["code"].as_str()), (413, Some("payload_too_large")), "{answer}");
        assert!(answer["error"]["message"].as_str().unwrap().contains("20 MB"), "{answer}");
        // Declared larger than that: refused before a byte of it is sent (the client waits
        // for `100 Continue`, as curl does for big uploads), with the same reason.
        let declared = server.app.document_max_bytes + 100_000;
        let (status, answer) = declared_upload(&server, &owner, "/api/v1/documents", declared).await;
        assert_eq!((status, answer["error"]["code"].as_str()), (413, Some("payload_too_large")), "{answer}");
        assert!(answer["error"]["message"].as_str().unwrap().contains("20 MB"), "{answer}");
        // Every other route keeps the general limit.
        let (status, answer) = declared_upload(&server, &owner, "/api/v1/tickets", 2 * 1024 * 1024).await;
        assert_eq!((status, answer["error"]["code"].as_str()), (413, Some("payload_too_large")), "{answer}");
        let (status, _) = server.upload(&owner, "/api/v1/documents", &[file("fits.txt", "text/plain", &fits_general())]).await;
        assert_eq!(status, 201, "bigger than the general body limit, within the library's");
        let (_, list) = server.send(&owner, Method::GET, "/api/v1/documents", None).await;
        assert_eq!(list["total"], 1);
    }

    async fn search_quality_on_the_committed_corpus(server: TestServer) {
        let operator = server.setup().await;
        let owner = server.org_with_owner(&operator, "acme").await;
        let mut names: Vec<String> = std::fs::read_dir(CORPUS).unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n != "queries.json")
            .collect();
        names.sort();
        assert!(names.len() >= 40, "the corpus has {} documents", names.len());
        let mut by_id = std::collections::HashMap::new();
        for name in &names {
            let bytes = corpus_file(name);
            let (status, made) = server.upload(&owner, "/api/v1/documents", &[file(name, "application/octet-stream", &bytes)]).await;
            assert_eq!(status, 201, "{name}: {made}");
            assert!(made["text_note"].is_null(), "{name}: its text was read: {made}");
            by_id.insert(made["id"].as_str().unwrap().to_owned(), name.clone());
        }
        let queries: Vec<Value> = serde_json::from_slice(&corpus_file("queries.json")).unwrap();
        assert!(queries.len() >= 20);
        let mut total = 0.0;
        let mut misses = Vec::new();
        for query in &queries {
            let q = query["q"].as_str().unwrap();
            let expected: Vec<&str> = query["expect"].as_array().unwrap().iter().map(|e| e.as_str().unwrap()).collect();
            let url = format!("/api/v1/documents/search?q={}&limit=5", q.replace(' ', "+"));
            let (status, found) = server.send(&owner, Method::GET, &url, None).await;
            assert_eq!(status, 200, "{found}");
            let top: Vec<&str> = found["results"].as_array().unwrap().iter()
                .map(|r| by_id[r["id"].as_str().unwrap()].as_str()).collect();
            let hit = expected.iter().filter(|e| top.contains(e)).count();
            total += hit as f64 / expected.len() as f64;
            if hit < expected.len() {
                misses.push(format!("{q:?}: expected {expected:?}, top 5 {top:?}"));
            }
        }
        let recall = total / queries.len() as f64;
        report(&format!("recall@5 = {recall:.3} over {} queries and {} documents; misses: {misses:#?}", queries.len(), names.len()));
        assert!(recall >= 0.9, "recall@5 {recall:.3} < 0.9; misses: {misses:#?}");
    }
}
