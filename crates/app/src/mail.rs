//! Outgoing email over SMTP (RFC 5321): invites today, notifications later.
//!
//! A small client: EHLO, STARTTLS (or implicit TLS on connect), AUTH PLAIN, one message per
//! connection, plain text UTF-8. Certificates are checked against the Mozilla roots
//! (`webpki-roots`); unencrypted SMTP is accepted only to a loopback relay.

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use tokio::io::{AsyncBufReadExt as _, AsyncRead, AsyncWrite, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;
use zeroize::Zeroizing;

/// How the connection is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// Plain connect, then `STARTTLS` (port 587). The default.
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only to a relay on loopback.
    None,
}

impl Security {
    pub fn parse(text: &str) -> Option<Security> {
        match text {
            "starttls" => Some(Security::StartTls),
            "tls" => Some(Security::Tls),
            "none" => Some(Security::None),
            _ => None,
        }
    }
}

/// Where and as whom to send.
#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: Option<String>,
    pub password: Option<Zeroizing<String>>,
    /// The `From:` address, e.g. `Switchboard <switchboard@example.com>` or a bare address.
    pub from: String,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl SmtpSettings {
    /// Checks the settings: a sender address, and encryption unless the relay is on loopback.
    pub fn validate(&self) -> Result<(), String> {
        if self.host.trim().is_empty() {
            return Err("smtp.host: must not be empty".into());
        }
        if address_of(&self.from).is_none() {
            return Err("smtp.from: expected an email address".into());
        }
        let loopback = matches!(self.host.as_str(), "127.0.0.1" | "localhost" | "::1");
        if self.security == Security::None && !loopback {
            return Err(
                "smtp.security: `none` is only allowed for a relay on loopback; use starttls or tls"
                    .into(),
            );
        }
        if self.username.is_some() != self.password.is_some() {
            return Err("smtp.username and smtp.password go together".into());
        }
        Ok(())
    }
}

/// One outgoing message.
#[derive(Clone, Debug)]
pub struct Message<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("cannot reach the mail server: {0}")]
    Connect(String),
    #[error("the mail server refused: {0}")]
    Refused(String),
    #[error("the mail server took too long")]
    Timeout,
    #[error("TLS with the mail server failed: {0}")]
    Tls(String),
}

/// Sends mail with fixed settings.
#[derive(Clone, Debug)]
pub struct Mailer {
    settings: Arc<SmtpSettings>,
}

const TIMEOUT: Duration = Duration::from_secs(20);

impl Mailer {
    pub fn new(settings: SmtpSettings) -> Mailer {
        Mailer {
            settings: Arc::new(settings),
        }
    }

    /// Sends one message; the whole conversation is bounded by a 20 s timeout.
    pub async fn send(&self, message: &Message<'_>, date: &str) -> Result<(), MailError> {
        let text = render(&self.settings.from, message, date);
        tokio::time::timeout(TIMEOUT, self.deliver(message.to, &text))
            .await
            .map_err(|_| MailError::Timeout)?
    }

    async fn deliver(&self, to: &str, text: &str) -> Result<(), MailError> {
        let s = &self.settings;
        let tcp = TcpStream::connect((s.host.as_str(), s.port))
            .await
            .map_err(|e| MailError::Connect(e.to_string()))?;
        match s.security {
            Security::None => converse(BufReader::new(tcp), s, to, text, true).await,
            Security::Tls => {
                let tls = self.tls(tcp).await?;
                converse(BufReader::new(tls), s, to, text, true).await
            }
            Security::StartTls => {
                let mut plain = BufReader::new(tcp);
                expect(&mut plain, 220).await?;
                command(&mut plain, "EHLO switchboard", 250).await?;
                command(&mut plain, "STARTTLS", 220).await?;
                let tls = self.tls(plain.into_inner()).await?;
                converse(BufReader::new(tls), s, to, text, false).await
            }
        }
    }

    async fn tls(
        &self,
        tcp: TcpStream,
    ) -> Result<tokio_rustls::client::TlsStream<TcpStream>, MailError> {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| MailError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from(self.settings.host.clone())
            .map_err(|e| MailError::Tls(e.to_string()))?;
        tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| MailError::Tls(e.to_string()))
    }
}

/// The SMTP conversation after the connection is (or is not) encrypted. `greeting`: whether
/// the server's 220 greeting is still to be read (not after STARTTLS).
async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: BufReader<S>,
    settings: &SmtpSettings,
    to: &str,
    text: &str,
    greeting: bool,
) -> Result<(), MailError> {
    if greeting {
        expect(&mut stream, 220).await?;
    }
    command(&mut stream, "EHLO switchboard", 250).await?;
    if let (Some(user), Some(password)) = (&settings.username, &settings.password) {
        let plain = Zeroizing::new(format!("\0{user}\0{}", password.as_str()));
        let line = Zeroizing::new(format!("AUTH PLAIN {}", STANDARD.encode(plain.as_bytes())));
        command(&mut stream, &line, 235).await?;
    }
    let from = address_of(&settings.from).unwrap_or_default();
    command(&mut stream, &format!("MAIL FROM:<{from}>"), 250).await?;
    let to = address_of(to).ok_or_else(|| MailError::Refused("bad recipient".into()))?;
    command(&mut stream, &format!("RCPT TO:<{to}>"), 250).await?;
    command(&mut stream, "DATA", 354).await?;
    let mut data = String::with_capacity(text.len() + 8);
    for line in text.split("\r\n") {
        // Dot-stuffing (RFC 5321 4.5.2).
        if line.starts_with('.') {
            data.push('.');
        }
        data.push_str(line);
        data.push_str("\r\n");
    }
    data.push_str(".\r\n");
    send_line(&mut stream, &data, false).await?;
    expect(&mut stream, 250).await?;
    let _ = send_line(&mut stream, "QUIT\r\n", false).await;
    Ok(())
}

async fn command<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut BufReader<S>,
    line: &str,
    code: u16,
) -> Result<(), MailError> {
    send_line(stream, line, true).await?;
    expect(stream, code).await
}

async fn send_line<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut BufReader<S>,
    line: &str,
    crlf: bool,
) -> Result<(), MailError> {
    let inner = stream.get_mut();
    let io = |e: std::io::Error| MailError::Connect(e.to_string());
    inner.write_all(line.as_bytes()).await.map_err(io)?;
    if crlf {
        inner.write_all(b"\r\n").await.map_err(io)?;
    }
    inner.flush().await.map_err(io)
}

/// Reads a (possibly multi-line) reply and checks its code; 251 counts as 250.
async fn expect<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut BufReader<S>,
    code: u16,
) -> Result<(), MailError> {
    loop {
        let mut line = String::new();
        let read = stream
            .read_line(&mut line)
            .await
            .map_err(|e| MailError::Connect(e.to_string()))?;
        if read == 0 {
            return Err(MailError::Connect("connection closed".into()));
        }
        let got: u16 = line.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
        let ok = got == code || (code == 250 && got == 251);
        if !ok {
            return Err(MailError::Refused(
                line.trim_end().chars().take(200).collect(),
            ));
        }
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok(());
        }
    }
}

/// The bare address of `Name <a@b>` or `a@b`, if it looks like one and has no line breaks.
fn address_of(text: &str) -> Option<&str> {
    let address = match (text.find('<'), text.rfind('>')) {
        (Some(start), Some(end)) if start < end => &text[start + 1..end],
        _ => text.trim(),
    };
    let plausible = address.contains('@')
        && !address
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>');
    plausible.then_some(address)
}

/// The message text with headers, CRLF line endings. Header values lose line breaks (no
/// header injection); a non-ASCII subject is RFC 2047 encoded.
fn render(from: &str, message: &Message<'_>, date: &str) -> String {
    let clean = |s: &str| s.replace(['\r', '\n'], " ");
    let subject = clean(message.subject);
    let subject = if subject.is_ascii() {
        subject
    } else {
        format!("=?utf-8?B?{}?=", STANDARD.encode(subject.as_bytes()))
    };
    let body = message.body.replace("\r\n", "\n").replace('\n', "\r\n");
    format!(
        "From: {}\r\nTo: {}\r\nSubject: {subject}\r\nDate: {}\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}",
        clean(from),
        clean(message.to),
        clean(date),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_cannot_be_injected_and_subjects_are_encoded() {
        let text = render(
            "Switchboard <hub@example.com>",
            &Message {
                to: "ada@example.com\r\nBcc: evil@example.com",
                subject: "Einladung zu Müller GmbH",
                body: "line one\n.dot line",
            },
            "Sun, 22 Nov 2026 10:00:00 +0000",
        );
        assert!(!text.contains("\r\nBcc:"));
        assert!(text.contains("Subject: =?utf-8?B?"));
        assert!(text.ends_with("line one\r\n.dot line"));
        assert_eq!(
            address_of("Switchboard <hub@example.com>"),
            Some("hub@example.com")
        );
        assert_eq!(address_of("not an address"), None);
    }

    #[test]
    fn unencrypted_mail_only_goes_to_loopback() {
        let settings = SmtpSettings {
            host: "mail.example.com".into(),
            port: 25,
            security: Security::None,
            username: None,
            password: None,
            from: "hub@example.com".into(),
        };
        assert!(settings.validate().is_err());
        let local = SmtpSettings {
            host: "127.0.0.1".into(),
            ..settings.clone()
        };
        assert!(local.validate().is_ok());
        let starttls = SmtpSettings {
            security: Security::StartTls,
            ..settings
        };
        assert!(starttls.validate().is_ok());
    }
}
