//! One-shot messages shown after a redirect ("API key created"). Carried in a short-lived
//! cookie, shown once, then cleared. The text is escaped when rendered like any other text.

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;

const COOKIE: &str = "sb_flash";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlashKind {
    Success,
    Info,
    Warning,
    Error,
}

impl FlashKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FlashKind::Success => "success",
            FlashKind::Info => "info",
            FlashKind::Warning => "warning",
            FlashKind::Error => "error",
        }
    }

    fn parse(s: &str) -> Option<FlashKind> {
        [
            FlashKind::Success,
            FlashKind::Info,
            FlashKind::Warning,
            FlashKind::Error,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flash {
    pub kind: FlashKind,
    pub message: String,
}

/// The `Set-Cookie` value that shows `flash` on the next page.
pub fn cookie(flash: &Flash) -> Option<HeaderValue> {
    let value = format!(
        "{COOKIE}={}.{}; Path=/; Max-Age=60; HttpOnly; SameSite=Lax",
        flash.kind.as_str(),
        encode(&flash.message)
    );
    HeaderValue::from_str(&value).ok()
}

/// Reads the pending flash, if any; the bool says whether the cookie must be cleared.
pub fn take(headers: &HeaderMap) -> (Vec<Flash>, bool) {
    let raw = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .find_map(|pair| {
            pair.strip_prefix(COOKIE)
                .and_then(|rest| rest.strip_prefix('='))
        });
    let Some(raw) = raw else {
        return (Vec::new(), false);
    };
    let flash = raw.split_once('.').and_then(|(kind, message)| {
        Some(Flash {
            kind: FlashKind::parse(kind)?,
            message: decode(message)?,
        })
    });
    (flash.into_iter().collect(), true)
}

/// Clears the flash cookie on the response when one was shown.
pub fn finish(mut response: Response, clear: bool) -> Response {
    if clear {
        let expired =
            HeaderValue::from_static("sb_flash=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
        response.headers_mut().append(header::SET_COOKIE, expired);
    }
    response
}

fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes().take(300) {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flash_survives_the_cookie_round_trip() {
        let flash = Flash {
            kind: FlashKind::Success,
            message: "Key “ops” created; <b>copy it</b> now.".into(),
        };
        let set = cookie(&flash).unwrap();
        let pair = set.to_str().unwrap().split(';').next().unwrap().to_owned();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("other=1; {pair}")).unwrap(),
        );
        let (flashes, clear) = take(&headers);
        assert_eq!(flashes, vec![flash]);
        assert!(clear);
    }

    #[test]
    fn garbage_cookies_show_nothing_but_are_cleared() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("sb_flash=bogus.%ZZ"),
        );
        assert_eq!(take(&headers), (Vec::new(), true));
        assert_eq!(take(&HeaderMap::new()), (Vec::new(), false));
    }
}
