//! A server-sent events parser (HTML Living Standard, "Parsing an event stream") that accepts
//! bytes in chunks of any size: lines may end in CRLF, LF or CR, a CRLF or a UTF-8 character may
//! be split across chunks, comments (`: ping`) and keep-alives are skipped, a leading BOM is
//! dropped, multi-line `data` is joined with `\n`. Lines longer than [`MAX_LINE_BYTES`] are an
//! error rather than unbounded memory.

/// Longest line accepted (a single `data:` line of a large tool-call argument fits easily).
pub const MAX_LINE_BYTES: usize = 8 * 1024 * 1024;

/// One dispatched event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Event {
    /// The `event:` field; `None` means the default type `message`.
    pub event: Option<String>,
    pub data: String,
    pub id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SseError {
    #[error("an event-stream line is longer than {MAX_LINE_BYTES} bytes")]
    LineTooLong,
}

/// Incremental parser: feed chunks with [`SseParser::push`], end with [`SseParser::finish`].
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    /// The previous chunk ended in CR: a LF at the start of the next one belongs to it.
    after_cr: bool,
    started: bool,
    event: Option<String>,
    data: String,
    has_data: bool,
    id: Option<String>,
}

impl SseParser {
    pub fn new() -> SseParser {
        SseParser::default()
    }

    /// Parses `chunk` and appends the events it completes to `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<Event>) -> Result<(), SseError> {
        if chunk.is_empty() {
            return Ok(());
        }
        let mut rest = chunk;
        if self.after_cr {
            self.after_cr = false;
            if let Some(stripped) = rest.strip_prefix(b"\n") {
                rest = stripped;
            }
        }
        while let Some(end) = rest.iter().position(|b| *b == b'\n' || *b == b'\r') {
            self.line.extend_from_slice(&rest[..end]);
            self.check_length()?;
            let line = std::mem::take(&mut self.line);
            self.process_line(&line, out);
            let ending = rest[end];
            rest = &rest[end + 1..];
            if ending == b'\r' {
                match rest.first() {
                    Some(b'\n') => rest = &rest[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
        }
        self.line.extend_from_slice(rest);
        self.check_length()
    }

    /// Ends the stream. A final event without its blank line is dispatched too (providers
    /// sometimes close right after the last `data:` line); a half line is dropped.
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.process_line(&line, out);
        }
        self.dispatch(out);
    }

    fn check_length(&self) -> Result<(), SseError> {
        if self.line.len() > MAX_LINE_BYTES {
            return Err(SseError::LineTooLong);
        }
        Ok(())
    }

    fn process_line(&mut self, raw: &[u8], out: &mut Vec<Event>) {
        let mut raw = raw;
        if !self.started {
            self.started = true;
            if let Some(stripped) = raw.strip_prefix("\u{feff}".as_bytes()) {
                raw = stripped;
            }
        }
        if raw.is_empty() {
            self.dispatch(out);
            return;
        }
        if raw[0] == b':' {
            return; // comment / keep-alive
        }
        let line = String::from_utf8_lossy(raw);
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line.as_ref(), ""),
        };
        match field {
            "event" => self.event = Some(value.to_owned()),
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "id" if !value.contains('\0') => self.id = Some(value.to_owned()),
            _ => {} // `retry` and unknown fields are ignored
        }
    }

    fn dispatch(&mut self, out: &mut Vec<Event>) {
        let event = self.event.take();
        if !self.has_data {
            return;
        }
        self.has_data = false;
        out.push(Event {
            event: event.filter(|e| !e.is_empty()),
            data: std::mem::take(&mut self.data),
            id: self.id.clone(),
        });
    }
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Parses `bytes` fed in the given pieces.
    pub(crate) fn parse_pieces(pieces: &[&[u8]]) -> Vec<Event> {
        let mut parser = SseParser::new();
        let mut out = Vec::new();
        for piece in pieces {
            parser.push(piece, &mut out).unwrap();
        }
        parser.finish(&mut out);
        out
    }

    /// Every way of cutting `bytes` in two, and byte by byte, gives the same events as whole.
    pub(crate) fn assert_split_invariant(bytes: &[u8]) -> Vec<Event> {
        let whole = parse_pieces(&[bytes]);
        for cut in 0..=bytes.len() {
            let (a, b) = bytes.split_at(cut);
            assert_eq!(parse_pieces(&[a, b]), whole, "cut at byte {cut}");
        }
        let singles: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(parse_pieces(&singles), whole, "byte by byte");
        let with_empties: Vec<&[u8]> = bytes.chunks(1).flat_map(|c| [c, &[][..]]).collect();
        assert_eq!(
            parse_pieces(&with_empties),
            whole,
            "with empty chunks between"
        );
        whole
    }

    fn data(events: &[Event]) -> Vec<&str> {
        events.iter().map(|e| e.data.as_str()).collect()
    }

    #[test]
    fn line_endings_comments_and_multiline_data() {
        let stream =
            "\u{feff}: keep-alive\r\nevent: greeting\r\ndata: hello\r\ndata: world\r\n\r\n\
                      data: cr only\r\rdata: lf only\n\n:ping\n\nid: 7\ndata:no space\n\n";
        let events = assert_split_invariant(stream.as_bytes());
        assert_eq!(
            data(&events),
            ["hello\nworld", "cr only", "lf only", "no space"]
        );
        assert_eq!(events[0].event.as_deref(), Some("greeting"));
        assert_eq!(events[1].event, None, "the event type does not carry over");
        assert_eq!(events[3].id.as_deref(), Some("7"));
    }

    #[test]
    fn utf8_split_anywhere_survives() {
        let stream = "data: {\"text\":\"Grüße 👋 — ok\"}\n\ndata: [DONE]\n\n";
        let events = assert_split_invariant(stream.as_bytes());
        assert_eq!(data(&events), ["{\"text\":\"Grüße 👋 — ok\"}", "[DONE]"]);
    }

    #[test]
    fn a_last_event_without_blank_line_is_kept_and_empty_events_are_not() {
        let events = assert_split_invariant(b"event: only-type\n\ndata: last");
        assert_eq!(data(&events), ["last"]);
    }

    #[test]
    fn overlong_lines_are_refused() {
        let mut parser = SseParser::new();
        let mut out = Vec::new();
        let big = vec![b'x'; MAX_LINE_BYTES + 1];
        assert_eq!(parser.push(&big, &mut out), Err(SseError::LineTooLong));
    }
}
