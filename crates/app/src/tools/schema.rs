//! Validation of tool arguments against the tool's JSON Schema, before anything runs.
//!
//! The registry's schemas are ours, so this covers the subset they use (see
//! `docs/decisions.md`): `type` (one or a list), `properties`, `required`,
//! `additionalProperties: false`, `enum`, `minimum`/`maximum`, `minLength`/`maxLength`,
//! `items`, `maxItems`, `format: "date-time"` (RFC 3339) and `format: "date"` (`YYYY-MM-DD`). Every problem names its path
//! (`limit`, `filters.kind`, `ids[2]`), so the model or the API caller can fix the call.

use serde_json::Value;

/// The first problems found (at most this many are reported).
const MAX_PROBLEMS: usize = 10;

/// Checks `value` against `schema`; returns every problem found (empty = valid).
pub fn validate(schema: &Value, value: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    check(schema, value, "", &mut problems);
    problems.truncate(MAX_PROBLEMS);
    problems
}

fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_matches(expected: &str, value: &Value) -> bool {
    let actual = type_of(value);
    actual == expected
        || (expected == "number" && actual == "integer")
        || (expected == "integer" && value.as_f64().is_some_and(|f| f.fract() == 0.0))
}

fn at(path: &str) -> String {
    if path.is_empty() {
        "the arguments".to_owned()
    } else {
        format!("`{path}`")
    }
}

fn child(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

fn check(schema: &Value, value: &Value, path: &str, problems: &mut Vec<String>) {
    if problems.len() >= MAX_PROBLEMS {
        return;
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() && !types.iter().any(|t| type_matches(t, value)) {
        problems.push(format!(
            "{} must be {}, not {}",
            at(path),
            types.join(" or "),
            type_of(value)
        ));
        return;
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(value) {
            let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
            problems.push(format!("{} must be one of {}", at(path), list.join(", ")));
        }
    }
    match value {
        Value::Object(map) => {
            for name in schema["required"].as_array().into_iter().flatten() {
                if let Some(name) = name.as_str() {
                    if !map.contains_key(name) {
                        problems.push(format!("`{}` is required", child(path, name)));
                    }
                }
            }
            let properties = schema["properties"].as_object();
            for (name, v) in map {
                match properties.and_then(|p| p.get(name)) {
                    Some(s) => check(s, v, &child(path, name), problems),
                    None if schema["additionalProperties"] == Value::Bool(false) => {
                        let known: Vec<&str> = properties
                            .map(|p| p.keys().map(String::as_str).collect())
                            .unwrap_or_default();
                        problems.push(format!(
                            "`{}` is not a known argument (known: {})",
                            child(path, name),
                            if known.is_empty() {
                                "none".to_owned()
                            } else {
                                known.join(", ")
                            }
                        ));
                    }
                    None => {}
                }
            }
        }
        Value::Array(items) => {
            if let Some(max) = schema["maxItems"].as_u64() {
                if items.len() as u64 > max {
                    problems.push(format!("{} may have at most {max} items", at(path)));
                }
            }
            if schema["items"].is_object() {
                for (i, item) in items.iter().enumerate() {
                    check(&schema["items"], item, &format!("{path}[{i}]"), problems);
                }
            }
        }
        Value::String(s) => {
            let len = s.chars().count() as u64;
            if let Some(min) = schema["minLength"].as_u64() {
                if len < min {
                    problems.push(format!("{} must have at least {min} characters", at(path)));
                }
            }
            if let Some(max) = schema["maxLength"].as_u64() {
                if len > max {
                    problems.push(format!("{} must have at most {max} characters", at(path)));
                }
            }
            if schema["format"] == "date-time" && chrono::DateTime::parse_from_rfc3339(s).is_err() {
                problems.push(format!(
                    "{} must be an RFC 3339 date-time such as 2026-01-31T09:00:00Z",
                    at(path)
                ));
            }
            if schema["format"] == "date"
                && chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_err()
            {
                problems.push(format!("{} must be a date such as 2026-01-31", at(path)));
            }
        }
        Value::Number(n) => {
            let Some(x) = n.as_f64() else { return };
            if let Some(min) = schema["minimum"].as_f64() {
                if x < min {
                    problems.push(format!("{} must be at least {min}", at(path)));
                }
            }
            if let Some(max) = schema["maximum"].as_f64() {
                if x > max {
                    problems.push(format!("{} must be at most {max}", at(path)));
                }
            }
        }
        Value::Null | Value::Bool(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> Value {
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["kind"],
            "properties": {
                "kind": {"type": "string", "minLength": 1, "maxLength": 5},
                "limit": {"type": "integer", "minimum": 1, "maximum": 500},
                "group_by": {"type": "string", "enum": ["day", "model"]},
                "since": {"type": "string", "format": "date-time"},
                "ids": {"type": "array", "maxItems": 2, "items": {"type": "integer"}},
                "nested": {"type": "object", "properties": {"flag": {"type": "boolean"}}}
            }
        })
    }

    #[test]
    fn valid_arguments_pass() {
        let ok = json!({"kind": "auth", "limit": 10, "group_by": "day",
            "since": "2026-01-31T09:00:00Z", "ids": [1, 2], "nested": {"flag": true}});
        assert_eq!(validate(&schema(), &ok), Vec::<String>::new());
        assert!(validate(&schema(), &json!({"kind": "x", "limit": 3.0})).is_empty());
    }

    #[test]
    fn problems_name_their_path() {
        let bad = json!({"limit": 0, "group_by": "week", "since": "yesterday",
            "ids": [1, "two", 3], "nested": {"flag": "yes"}, "extra": 1});
        let problems = validate(&schema(), &bad);
        for expected in [
            "`kind` is required",
            "`limit` must be at least 1",
            "`group_by` must be one of \"day\", \"model\"",
            "`since` must be an RFC 3339 date-time",
            "`ids` may have at most 2 items",
            "`ids[1]` must be integer, not string",
            "`nested.flag` must be boolean, not string",
            "`extra` is not a known argument (known: group_by, ids, kind, limit, nested, since)",
        ] {
            assert!(
                problems.iter().any(|p| p.starts_with(expected)),
                "{expected}: {problems:?}"
            );
        }
        assert_eq!(
            validate(&schema(), &json!([1])),
            vec!["the arguments must be object, not array"]
        );
        assert_eq!(
            validate(&schema(), &json!({"kind": "toolong"})),
            vec!["`kind` must have at most 5 characters"]
        );
    }

    #[test]
    fn dates_are_calendar_days() {
        let schema =
            json!({"type": "object", "properties": {"due": {"type": "string", "format": "date"}}});
        assert!(validate(&schema, &json!({"due": "2026-02-28"})).is_empty());
        for bad in ["2026-02-30", "28.02.2026", "2026-02-28T00:00:00Z"] {
            assert_eq!(
                validate(&schema, &json!({"due": bad})),
                vec!["`due` must be a date such as 2026-01-31"],
                "{bad}"
            );
        }
    }
}
