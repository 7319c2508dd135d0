//! Invites by email: a fake SMTP server on loopback receives the invite with its link; when
//! the mail server is down the invite still exists and says so. Both databases.

use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use reqwest::Method;
use serde_json::json;
use switchboard_app::identity::OutgoingMail;
use switchboard_app::mail::{Mailer, Security, SmtpSettings};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use zeroize::Zeroizing;

use crate::harness::TestServer;

const PUBLIC_URL: &str = "https://hub.example.com";

/// Accepts SMTP conversations and keeps each message's text and its AUTH PLAIN credentials.
#[derive(Clone, Default)]
struct FakeSmtp {
    messages: Arc<Mutex<Vec<(String, String)>>>,
}

impl FakeSmtp {
    async fn start() -> (FakeSmtp, u16) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let smtp = FakeSmtp::default();
        let keep = smtp.clone();
        #[allow(
            clippy::disallowed_methods,
            reason = "test server, ends with the runtime"
        )]
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let keep = keep.clone();
                #[allow(clippy::disallowed_methods, reason = "one test conversation")]
                tokio::spawn(async move { keep.converse(socket).await });
            }
        });
        (smtp, port)
    }

    async fn converse(&self, socket: tokio::net::TcpStream) {
        let (read, mut write) = socket.into_split();
        let mut lines = BufReader::new(read).lines();
        write.write_all(b"220 fake ESMTP\r\n").await.unwrap();
        let mut auth = String::new();
        while let Ok(Some(line)) = lines.next_line().await {
            let reply: &[u8] = match line.split(' ').next().unwrap_or("") {
                "EHLO" => b"250-fake\r\n250 AUTH PLAIN\r\n",
                "AUTH" => {
                    let decoded = STANDARD.decode(line.rsplit(' ').next().unwrap()).unwrap();
                    auth = String::from_utf8(decoded).unwrap();
                    b"235 ok\r\n"
                }
                "MAIL" | "RCPT" => b"250 ok\r\n",
                "DATA" => {
                    write.write_all(b"354 go on\r\n").await.unwrap();
                    let mut text = String::new();
                    while let Ok(Some(line)) = lines.next_line().await {
                        if line == "." {
                            break;
                        }
                        text.push_str(&line);
                        text.push('\n');
                    }
                    self.messages.lock().unwrap().push((text, auth.clone()));
                    b"250 queued\r\n"
                }
                "QUIT" => {
                    let _ = write.write_all(b"221 bye\r\n").await;
                    return;
                }
                _ => b"502 unknown\r\n",
            };
            write.write_all(reply).await.unwrap();
        }
    }
}

fn mail_to(port: u16) -> OutgoingMail {
    OutgoingMail {
        mailer: Mailer::new(SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            security: Security::None,
            username: Some("hub".into()),
            password: Some(Zeroizing::new("smtp-pass".into())),
            from: "Switchboard <hub@example.com>".into(),
        }),
        public_url: PUBLIC_URL.into(),
    }
}

async fn invites_are_emailed(server: TestServer, smtp: FakeSmtp) {
    let owner = server.setup().await;
    let (status, body) = server
        .send(
            &owner,
            Method::POST,
            "/api/v1/invites",
            Some(json!({"email": "new@ops.test", "role": "member"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["delivery"], "emailed");
    let token = body["url"].as_str().unwrap().rsplit('/').next().unwrap();
    let messages = smtp.messages.lock().unwrap().clone();
    assert_eq!(messages.len(), 1);
    let (text, auth) = &messages[0];
    assert!(text.contains("To: new@ops.test"), "{text}");
    assert!(
        text.contains("Subject: You are invited to Operators on Switchboard"),
        "{text}"
    );
    assert!(
        text.contains(&format!("{PUBLIC_URL}/invite/{token}")),
        "{text}"
    );
    assert_eq!(auth, "\0hub\0smtp-pass");
}

async fn invites_survive_a_mail_server_that_is_down(server: TestServer, _smtp: FakeSmtp) {
    let owner = server.setup().await;
    let (status, body) = server
        .send(
            &owner,
            Method::POST,
            "/api/v1/invites",
            Some(json!({"email": "new@ops.test", "role": "viewer"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["delivery"], "failed");
    let (_, open) = server
        .send(&owner, Method::GET, "/api/v1/invites", None)
        .await;
    assert_eq!(
        open.as_array().unwrap().len(),
        1,
        "the invite exists; its link still works"
    );
    server.join(body["url"].as_str().unwrap(), "New").await;
}

async fn approval_requests_are_emailed_to_approvers(server: TestServer, smtp: FakeSmtp) {
    let owner = server.setup().await;
    server.member(&owner, "admin@ops.test", "admin").await;
    server.member(&owner, "viewer@ops.test", "viewer").await;
    smtp.messages.lock().unwrap().clear();
    let (status, _) = server
        .send(
            &owner,
            Method::PUT,
            "/api/v1/tools/org.members/settings",
            Some(json!({"tier": "T4"})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = server
        .send(
            &owner,
            Method::POST,
            "/api/v1/tools/org.members/invoke",
            Some(json!({"arguments": {}})),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    for _ in 0..100 {
        if !smtp.messages.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Time for a (wrong) second message to arrive.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let sent = smtp.messages.lock().unwrap().clone();
    // Four eyes: the admin is told; the requester (the owner) and the viewer are not.
    assert_eq!(sent.len(), 1, "{sent:?}");
    let text = &sent[0].0;
    assert!(text.contains("To: admin@ops.test"), "{text}");
    assert!(
        text.contains("Subject: Approval needed: org.members (T4)"),
        "{text}"
    );
    assert!(text.contains(&format!("{PUBLIC_URL}/approvals")), "{text}");
}

/// A port where nothing listens.
async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

macro_rules! mail_tests {
    ($($name:ident => $down:expr),*) => {
        $(
            mod $name {
                use super::*;

                async fn start(db: switchboard_store::testing::TestDb) -> (TestServer, FakeSmtp) {
                    let (smtp, port) = FakeSmtp::start().await;
                    let port = if $down { closed_port().await } else { port };
                    let server = TestServer::start_app(db, Default::default(), |app| {
                        app.with_mail(mail_to(port))
                    })
                    .await;
                    (server, smtp)
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let (server, smtp) = start(switchboard_store::testing::TestDb::sqlite().await).await;
                    super::$name(server, smtp).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    match switchboard_store::testing::TestDb::postgres().await {
                        Some(db) => {
                            let (server, smtp) = start(db).await;
                            super::$name(server, smtp).await;
                        }
                        None => eprintln!("skipped: TEST_DATABASE_URL is not set"),
                    }
                }
            }
        )*
    };
}

mail_tests!(
    invites_are_emailed => false,
    invites_survive_a_mail_server_that_is_down => true,
    approval_requests_are_emailed_to_approvers => false
);
