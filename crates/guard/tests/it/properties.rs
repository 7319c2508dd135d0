//! Properties: streaming equals whole-text redaction for any chunking; placeholders are
//! stable within a conversation and independent across conversations; redaction is bounded
//! and idempotent.

use proptest::prelude::*;
use switchboard_guard::{
    redact, scanner, Placeholders, Policy, StreamRedactor, MAX_PLACEHOLDER_BYTES,
};

fn corpus_texts() -> Vec<String> {
    include_str!("../corpus/corpus.jsonl")
        .lines()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// Splits `text` at the given cut fractions (snapped to character boundaries).
fn chunks(text: &str, cuts: &[u16]) -> Vec<String> {
    let mut points: Vec<usize> = cuts
        .iter()
        .map(|c| {
            let mut at = usize::from(*c) * text.len() / usize::from(u16::MAX);
            while !text.is_char_boundary(at) {
                at += 1;
            }
            at
        })
        .collect();
    points.sort_unstable();
    points.dedup();
    let mut out = Vec::new();
    let mut from = 0;
    for p in points.into_iter().chain([text.len()]) {
        if p > from {
            out.push(text[from..p].to_owned());
            from = p;
        }
    }
    out
}

fn streamed(parts: &[String], policy: &Policy) -> String {
    let mut redactor = StreamRedactor::new(policy.clone());
    let mut placeholders = Placeholders::new();
    let mut out = String::new();
    for part in parts {
        out.push_str(&redactor.push(part, &mut placeholders).unwrap());
    }
    out.push_str(&redactor.finish(&mut placeholders).unwrap());
    out
}

/// Texts made of corpus pieces glued together, so values sit next to each other and to
/// chunk boundaries in many ways.
fn glued_text() -> impl Strategy<Value = String> {
    let texts = corpus_texts();
    proptest::collection::vec(0..texts.len(), 1..6).prop_map(move |picks| {
        picks
            .iter()
            .map(|i| texts[*i].as_str())
            .collect::<Vec<_>>()
            .join(" ")
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn streaming_equals_whole_text(text in glued_text(), cuts in proptest::collection::vec(any::<u16>(), 0..40)) {
        let policy = Policy::default();
        let whole = redact(scanner(), &text, &policy, &mut Placeholders::new()).unwrap().text;
        prop_assert_eq!(streamed(&chunks(&text, &cuts), &policy), whole);
    }

    #[test]
    fn streaming_equals_whole_text_on_noise(text in "[a-zA-Z0-9 @.:+()\\-_=/\n]{0,600}", cuts in proptest::collection::vec(any::<u16>(), 0..30)) {
        let policy = Policy::default();
        let whole = redact(scanner(), &text, &policy, &mut Placeholders::new()).unwrap().text;
        prop_assert_eq!(streamed(&chunks(&text, &cuts), &policy), whole);
    }

    #[test]
    fn byte_at_a_time_streaming_equals_whole_text(index in 0usize..1000) {
        let texts = corpus_texts();
        let text = &texts[index % texts.len()];
        let parts: Vec<String> = text.chars().map(String::from).collect();
        let policy = Policy::default();
        let whole = redact(scanner(), text, &policy, &mut Placeholders::new()).unwrap().text;
        prop_assert_eq!(streamed(&parts, &policy), whole);
    }

    #[test]
    fn placeholders_are_stable_within_and_independent_across_conversations(
        a in "[a-z]{3,8}", b in "[a-z]{3,8}",
    ) {
        prop_assume!(a != b);
        let (x, y) = (format!("{a}@example.com"), format!("{b}@example.org"));
        let policy = Policy::default();
        let mut first = Placeholders::new();
        let one = redact(scanner(), &format!("{x} then {y}"), &policy, &mut first).unwrap().text;
        let two = redact(scanner(), &format!("again {y} and {x}"), &policy, &mut first).unwrap().text;
        prop_assert_eq!(one, "[EMAIL_1] then [EMAIL_2]");
        prop_assert_eq!(two, "again [EMAIL_2] and [EMAIL_1]");
        // Another conversation numbers independently: the same value gets another name.
        let mut second = Placeholders::new();
        let other = redact(scanner(), &format!("{y} first"), &policy, &mut second).unwrap().text;
        prop_assert_eq!(other, "[EMAIL_1] first");
        prop_assert_eq!(second.value_of("[EMAIL_1]"), Some(y.as_str()));
        prop_assert_eq!(first.value_of("[EMAIL_1]"), Some(x.as_str()));
    }

    #[test]
    fn redaction_is_bounded_and_idempotent(text in glued_text()) {
        let policy = Policy::default();
        let mut placeholders = Placeholders::new();
        let once = redact(scanner(), &text, &policy, &mut placeholders).unwrap();
        let changed = once.findings.len();
        prop_assert!(once.text.len() <= text.len() + MAX_PLACEHOLDER_BYTES * changed);
        let twice = redact(scanner(), &once.text, &policy, &mut placeholders).unwrap();
        prop_assert_eq!(twice.text, once.text);
    }

    #[test]
    fn findings_lie_on_character_boundaries(text in "\\PC{0,300}") {
        for f in scanner().scan(&text).unwrap() {
            prop_assert!(f.start < f.end && f.end <= text.len());
            prop_assert!(text.is_char_boundary(f.start) && text.is_char_boundary(f.end));
        }
    }
}

/// Inputs the fuzzer found where a second redaction changed the text (each now fixed).
#[test]
fn fuzz_findings_stay_idempotent() {
    for input in [
        "55::5+5.111055555=52_5555",
        "Tel: 0171 2957275\nFax: +49 30 5540218 EAN 4865569123038",
        "'RRMURRRRRR+RnRRRRRRRR13GGGGR/055RMURRRRRR+RnRRRRRRRR13GGGGR/055S+@1.TS+@1.TR",
        "C-101@2.kkkkkkk--5::11-,MkkU2PT",
        "](\u{18}%\0\0\0\u{f}:C://\0//\0+1111 1.11 1//\0*2\u{18}F0C::C20D--::D\0:\0\0\0@\0\0QAC://::C20D--::D\0:\0\0\0@\0\0QAC:/\0+1111 1.11 1//\0/22\"2\"@@:0\0!0:/\0*5:5:\0\0\0H\0\0Q",
        "+1C0::0B/:(GB+2C0::0QU@QU.CPPPCCCC:B/:(GB6XK",
        "+1-@'11.-@'110\u{0}5\u{0}\u{0}\u{0}\u{0}53333/-@'110\u{0}553333/.::111.1.1.1-5::111.1.1.1-.@",
    ] {
        let policy = Policy::default();
        let mut placeholders = Placeholders::new();
        let once = redact(scanner(), input, &policy, &mut placeholders).unwrap().text;
        let twice = redact(scanner(), &once, &policy, &mut placeholders).unwrap().text;
        assert_eq!(twice, once, "{input:?}");
    }
}
