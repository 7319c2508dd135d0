//! Text extraction for the document library, pure: what kind of file an upload is (by its
//! first bytes, its name and the type the client declared) and its searchable text — plain
//! text and Markdown as written (Markdown's markup dropped), HTML without its tags, scripts
//! and styles, PDF through `lopdf`. Other files are kept but not searched.

use switchboard_store::documents::{MARK_END, MARK_START};

/// The most text kept for search, in bytes (the rest of a long file is not indexed).
pub const MAX_TEXT: usize = 500_000;

/// What extraction found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extracted {
    /// `pdf`, `html`, `markdown`, `text` or `none`.
    pub format: &'static str,
    pub content_type: &'static str,
    pub text: String,
    /// Why there is no (or only part of the) text.
    pub note: Option<String>,
}

/// The kind of an upload, before its text is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Pdf,
    Html,
    Markdown,
    Text,
    Other,
}

impl Format {
    pub fn detect(name: &str, declared: Option<&str>, bytes: &[u8]) -> Format {
        let ext = name
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        let declared = declared
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let head = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).to_ascii_lowercase();
        let head = head.trim_start_matches('\u{feff}').trim_start();
        if bytes.starts_with(b"%PDF-") {
            return Format::Pdf;
        }
        match ext.as_str() {
            "html" | "htm" | "xhtml" => return Format::Html,
            "md" | "markdown" => return Format::Markdown,
            _ => {}
        }
        if declared == "text/html"
            || head.starts_with("<!doctype html")
            || head.starts_with("<html")
        {
            return Format::Html;
        }
        if declared == "text/markdown" {
            return Format::Markdown;
        }
        if looks_like_text(bytes) {
            Format::Text
        } else {
            Format::Other
        }
    }

    fn name(self) -> &'static str {
        match self {
            Format::Pdf => "pdf",
            Format::Html => "html",
            Format::Markdown => "markdown",
            Format::Text => "text",
            Format::Other => "none",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Pdf => "application/pdf",
            Format::Html => "text/html",
            Format::Markdown => "text/markdown",
            Format::Text => "text/plain",
            Format::Other => "application/octet-stream",
        }
    }
}

/// UTF-8 without NUL bytes.
fn looks_like_text(bytes: &[u8]) -> bool {
    !bytes.contains(&0) && std::str::from_utf8(bytes).is_ok()
}

/// The text of an upload. CPU-bound for PDFs: call it off the async runtime.
pub fn extract(name: &str, declared: Option<&str>, bytes: &[u8]) -> Extracted {
    let format = Format::detect(name, declared, bytes);
    let read = match format {
        Format::Pdf => pdf_text(bytes),
        Format::Html => Ok(html_text(&String::from_utf8_lossy(bytes))),
        Format::Markdown => Ok(markdown_text(&String::from_utf8_lossy(bytes))),
        Format::Text => Ok(String::from_utf8_lossy(bytes).into_owned()),
        Format::Other => Err("This kind of file is kept, but its text is not searched.".to_owned()),
    };
    let (text, mut note) = match read {
        Ok(text) => (tidy(&text), None),
        Err(why) => (String::new(), Some(why)),
    };
    if note.is_none() && text.is_empty() {
        note = Some("No text was found in this file.".to_owned());
    }
    let text = if text.len() > MAX_TEXT {
        let mut end = MAX_TEXT;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        note = Some(format!(
            "Only the first {} KB of this file's text is searched.",
            MAX_TEXT / 1000
        ));
        text[..end].to_owned()
    } else {
        text
    };
    Extracted {
        format: format.name(),
        content_type: format.content_type(),
        text,
        note,
    }
}

/// Spaces collapsed within lines, blank lines collapsed, control characters and the snippet
/// markers dropped.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = true;
    for line in text.lines() {
        let words: Vec<&str> = line
            .split(|c: char| c.is_whitespace() || (c.is_control() && c != '\t'))
            .filter(|w| !w.is_empty())
            .collect();
        if words.is_empty() {
            if !blank {
                out.push('\n');
                blank = true;
            }
            continue;
        }
        for (i, w) in words.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.extend(w.chars().filter(|c| *c != MARK_START && *c != MARK_END));
        }
        out.push('\n');
        blank = false;
    }
    out.trim_end().to_owned()
}

fn pdf_text(bytes: &[u8]) -> Result<String, String> {
    let unreadable = |e: lopdf::Error| format!("The PDF's text could not be read ({e}).");
    let doc = lopdf::Document::load_mem(bytes).map_err(unreadable)?;
    if doc.is_encrypted() {
        return Err("The PDF is encrypted; its text is not searched.".to_owned());
    }
    let mut text = String::new();
    for page in doc.get_pages().keys() {
        // A page that cannot be read does not hide the others.
        if let Ok(t) = doc.extract_text(&[*page]) {
            text.push_str(&t);
            text.push('\n');
        }
        if text.len() > MAX_TEXT {
            break;
        }
    }
    Ok(text)
}

/// The visible text of an HTML page: tags dropped (block tags end a line), `script`, `style`
/// and comments skipped, character references decoded.
pub fn html_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&decode_entities(&rest[..lt]));
        rest = &rest[lt..];
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        let Some(gt) = rest.find('>') else {
            rest = "";
            break;
        };
        let inside = &rest[1..gt];
        let opening = !inside.starts_with('/') && !inside.ends_with('/');
        let name: String = inside
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        rest = &rest[gt + 1..];
        if opening && (name == "script" || name == "style") {
            let close = format!("</{name}");
            let lower = rest.to_ascii_lowercase();
            rest = lower
                .find(&close)
                .and_then(|at| rest[at..].find('>').map(|gt| &rest[at + gt + 1..]))
                .unwrap_or("");
            continue;
        }
        if BLOCK_TAGS.contains(&name.as_str()) {
            out.push('\n');
        } else {
            out.push(' ');
        }
    }
    out.push_str(&decode_entities(rest));
    out
}

const BLOCK_TAGS: &[&str] = &[
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "tr",
    "td",
    "th",
    "table",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "section",
    "article",
    "header",
    "footer",
    "title",
    "pre",
    "blockquote",
    "hr",
    "dt",
    "dd",
    "main",
    "nav",
    "aside",
];

fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let end = rest[1..].find(';').map(|i| i + 1).filter(|i| *i <= 10);
        let decoded = end.and_then(|end| {
            let name = &rest[1..end];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ => name
                    .strip_prefix("#x")
                    .or_else(|| name.strip_prefix("#X"))
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Markdown's words without its markup: heading and list markers, emphasis, code fences and
/// link targets dropped (a link keeps its text).
pub fn markdown_text(md: &str) -> String {
    let mut out = String::with_capacity(md.len());
    for line in md.lines() {
        let line = line.trim_start();
        if line.starts_with("```") || line.starts_with("~~~") {
            out.push('\n');
            continue;
        }
        let line = line.trim_start_matches(['#', '>']).trim_start();
        let line = ["- ", "* ", "+ "]
            .iter()
            .find_map(|m| line.strip_prefix(m))
            .unwrap_or(line);
        out.push_str(&strip_links(line).replace(['*', '`'], "").replace("__", ""));
        out.push('\n');
    }
    out
}

/// `[text](target)` → `text`; `![alt](src)` → `alt`.
fn strip_links(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find("](").map(|i| open + i) else {
            break;
        };
        let Some(end) = rest[close..].find(')').map(|i| close + i) else {
            break;
        };
        out.push_str(rest[..open].trim_end_matches('!'));
        out.push_str(&rest[open + 1..close]);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pdf_gives_the_text_of_every_page() {
        // Two pages, compressed content streams (made by testdata/make-pdf.py).
        let bytes = include_bytes!("../../../../testdata/documents/incident-response-plan.pdf");
        let got = extract("plan.bin", None, bytes);
        assert_eq!(got.format, "pdf");
        assert_eq!(got.content_type, "application/pdf");
        assert!(
            got.text
                .starts_with("Security incident response plan\nIf you see a ransom note"),
            "{}",
            got.text
        );
        assert!(
            got.text
                .contains("the data protection authority within 72 hours"),
            "page 2: {}",
            got.text
        );
        assert_eq!(got.note, None);
    }

    #[test]
    fn a_broken_pdf_is_kept_with_a_note() {
        let got = extract(
            "broken.pdf",
            Some("application/pdf"),
            b"%PDF-1.4\nnot really",
        );
        assert_eq!(got.format, "pdf");
        assert!(got.text.is_empty());
        assert!(got.note.unwrap().contains("could not be read"));
    }

    #[test]
    fn html_loses_its_tags_scripts_and_styles() {
        let html = "<!doctype html><html><head><title>VPN &amp; Wi-Fi</title>\
                    <style>p { color: red }</style><script>var secret = 1;</script></head>\
                    <body><h1>Remote&nbsp;access</h1><p>Use <b>WireGuard</b>&#44; not PPTP.</p>\
                    <!-- hidden note --><SCRIPT type=x>alert(1)</SCRIPT><p>Café &#x263A; &bogus; a&b</p></body></html>";
        let got = extract("vpn.html", None, html.as_bytes());
        assert_eq!(got.format, "html");
        // Blocks end lines; a run of blank lines becomes one.
        assert_eq!(
            got.text,
            "VPN & Wi-Fi\n\nRemote access\n\nUse WireGuard , not PPTP.\n\nCafé ☺ &bogus; a&b"
        );
    }

    #[test]
    fn markdown_keeps_words_not_markup() {
        let md = "# Backups\n\n- **Nightly** to the `NAS`\n> See [the runbook](https://x.example/runbook) and ![diagram](d.png)\n```\ncode\n```";
        let got = extract("backups.md", None, md.as_bytes());
        assert_eq!(got.format, "markdown");
        assert_eq!(
            got.text,
            "Backups\n\nNightly to the NAS\nSee the runbook and diagram\n\ncode"
        );
    }

    #[test]
    fn kinds_are_detected_from_bytes_name_and_declared_type() {
        assert_eq!(Format::detect("a.txt", None, b"%PDF-1.7"), Format::Pdf);
        assert_eq!(
            Format::detect("notes", Some("text/html; charset=utf-8"), b"x"),
            Format::Html
        );
        assert_eq!(
            Format::detect("page", None, b"  <!DOCTYPE html><p>x"),
            Format::Html
        );
        assert_eq!(Format::detect("README.MD", None, b"x"), Format::Markdown);
        assert_eq!(
            Format::detect("notes.log", None, "plain ünïcode".as_bytes()),
            Format::Text
        );
        assert_eq!(
            Format::detect("photo.jpg", Some("image/jpeg"), &[0xff, 0xd8, 0, 1]),
            Format::Other
        );
        let got = extract("photo.jpg", None, &[0xff, 0xd8, 0, 1]);
        assert_eq!((got.format, got.text.as_str()), ("none", ""));
        assert!(got.note.is_some());
    }

    #[test]
    fn long_text_is_cut_at_a_character_boundary_and_markers_never_get_in() {
        let long = "é".repeat(MAX_TEXT);
        let got = extract("long.txt", None, long.as_bytes());
        assert!(got.text.len() <= MAX_TEXT && got.text.len() > MAX_TEXT - 4);
        assert!(got.note.unwrap().contains("first"));
        let got = extract("t.txt", None, "a \u{27E6}b\u{27E7} c".as_bytes());
        assert_eq!(got.text, "a b c");
    }
}
