//! `custom_headers`: extra headers sent with every batch, within SparkPost's limits (at most 5,
//! under 3,000 bytes in all) and never one the delivery itself sets.

use axum::http::{HeaderName, HeaderValue};
use serde_json::Value;

use super::view::MASK;

/// Most custom headers a webhook may have.
pub(crate) const MAX_HEADERS: usize = 5;

/// Names and values together must stay below this many bytes.
pub(crate) const MAX_TOTAL_BYTES: usize = 3000;

/// Headers the delivery sets itself (compared case-insensitively).
const RESERVED: &[&str] = &[
    "content-type",
    "content-length",
    "host",
    "x-messagesystems-batch-id",
];

/// Prefix of the Standard Webhooks headers (`webhook-id`, `webhook-signature`, …).
const RESERVED_PREFIX: &str = "webhook-";

/// Reads a `custom_headers` object into ordered pairs, or says everything wrong with it.
pub(crate) fn parse(value: &Value) -> Result<Vec<(String, String)>, Vec<String>> {
    let Some(object) = value.as_object() else {
        return Err(vec![
            "custom_headers must be an object of header names to string values".into(),
        ]);
    };
    // The cap comes first, so that a huge object is refused without the pairwise duplicate
    // check below (and without one problem per header).
    if object.len() > MAX_HEADERS {
        return Err(vec![format!(
            "custom_headers may have at most {MAX_HEADERS} headers, not {}",
            object.len()
        )]);
    }
    let mut problems = Vec::new();
    let mut headers: Vec<(String, String)> = Vec::with_capacity(object.len());
    let mut total = 0;
    for (name, value) in object {
        total += name.len();
        if HeaderName::from_bytes(name.as_bytes()).is_err() {
            problems.push(format!(
                "custom_headers: `{name}` is not a valid header name"
            ));
        } else if headers
            .iter()
            .any(|(seen, _)| seen.eq_ignore_ascii_case(name))
        {
            problems.push(format!("custom_headers: `{name}` is given twice"));
        }
        match value.as_str() {
            Some(text) if HeaderValue::from_str(text).is_ok() => {
                total += text.len();
                headers.push((name.clone(), text.to_string()));
            }
            Some(_) => problems.push(format!(
                "custom_headers: the value of `{name}` is not a valid header value"
            )),
            None => problems.push(format!(
                "custom_headers: the value of `{name}` must be a string"
            )),
        }
    }
    if total >= MAX_TOTAL_BYTES {
        problems.push(format!(
            "custom_headers must total less than {MAX_TOTAL_BYTES} bytes, not {total}"
        ));
    }
    if problems.is_empty() {
        Ok(headers)
    } else {
        Err(problems)
    }
}

/// The headers an update asks for, with the stored value put back wherever `given` echoes
/// the mask for a stored header (names compared case-insensitively). When the target moves
/// (`target_moved`), stored values must not follow it: an echoed mask is then a problem, as
/// are stored headers left out (`given` is `None`). `Err` lists the problems.
pub(crate) fn resolve(
    given: Option<&[(String, String)]>,
    stored: &[(String, String)],
    target_moved: bool,
) -> Result<Vec<(String, String)>, Vec<String>> {
    let Some(given) = given else {
        if target_moved && stored.iter().any(|(_, value)| !value.is_empty()) {
            return Err(vec![
                "custom_headers must be given again (values in full) when target changes".into(),
            ]);
        }
        return Ok(stored.to_vec());
    };
    let mut problems = Vec::new();
    let mut headers = Vec::with_capacity(given.len());
    for (name, value) in given {
        let kept = (value == MASK)
            .then(|| {
                stored
                    .iter()
                    .find(|(seen, _)| seen.eq_ignore_ascii_case(name))
            })
            .flatten();
        match kept {
            Some(_) if target_moved => problems.push(format!(
                "custom_headers: the value of `{name}` must be given in full (not masked) when target changes"
            )),
            Some((_, stored_value)) => headers.push((name.clone(), stored_value.clone())),
            None => headers.push((name.clone(), value.clone())),
        }
    }
    if problems.is_empty() {
        Ok(headers)
    } else {
        Err(problems)
    }
}

/// The header of the deprecated `auth_token`.
const TOKEN_HEADER: &str = "x-messagesystems-webhook-token";

/// Names the headers that the delivery sets itself; `Authorization` counts when the webhook
/// authenticates (`auth_in_use`), `X-MessageSystems-Webhook-Token` when it has an `auth_token`
/// (`token_in_use`).
pub(crate) fn reserved_problems(
    headers: &[(String, String)],
    auth_in_use: bool,
    token_in_use: bool,
) -> Vec<String> {
    headers
        .iter()
        .filter_map(|(name, _)| {
            let lower = name.to_ascii_lowercase();
            if RESERVED.contains(&lower.as_str()) || lower.starts_with(RESERVED_PREFIX) {
                Some(format!(
                    "custom_headers: `{name}` is set by eventhose itself"
                ))
            } else if token_in_use && lower == TOKEN_HEADER {
                Some(format!(
                    "custom_headers: `{name}` cannot be set when the webhook has an auth_token"
                ))
            } else if auth_in_use && lower == "authorization" {
                Some(format!(
                    "custom_headers: `{name}` cannot be set when auth_type is basic or oauth2"
                ))
            } else {
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_order_and_accepts_valid_headers() {
        let headers = parse(&json!({"X-Zed": "1", "X-Alpha": "two"})).unwrap();
        assert_eq!(
            headers,
            [
                ("X-Zed".to_string(), "1".to_string()),
                ("X-Alpha".to_string(), "two".to_string())
            ]
        );
        assert!(reserved_problems(&headers, true, true).is_empty());
    }

    #[test]
    fn reports_every_problem() {
        assert_eq!(parse(&json!(["x"])).unwrap_err().len(), 1);
        let too_many = json!({"a": "1", "b": "1", "c": "1", "d": "1", "e": "1", "f": "1"});
        assert!(parse(&too_many).unwrap_err()[0].contains("at most 5"));
        let big = json!({"x-big": "v".repeat(3000)});
        assert!(parse(&big).unwrap_err()[0].contains("less than 3000"));
        let problems = parse(&json!({"bad name": "1", "x-n": 5, "x-ctl": "a\nb"})).unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("bad name"));
        assert!(problems[1].contains("x-n"));
        assert!(problems[2].contains("x-ctl"));
        let dup = parse(&json!({"X-A": "1", "x-a": "2"})).unwrap_err();
        assert!(dup[0].contains("twice"));
    }

    #[test]
    fn huge_header_object_is_refused_before_any_duplicate_check() {
        // 2^17 spellings of one name (`abcdefghijklmnopq`, `Abcdefghijklmnopq`, …): checked
        // pair by pair, each is "given twice"; capped first, there is one problem.
        let letters = "abcdefghijklmnopq";
        let mut object = serde_json::Map::new();
        for mask in 0u32..(1 << letters.len()) {
            let name: String = letters
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    if mask & (1 << i) != 0 {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect();
            object.insert(name, json!("v"));
        }
        let started = std::time::Instant::now();
        let problems = parse(&Value::Object(object)).unwrap_err();
        assert_eq!(
            problems.len(),
            1,
            "{:?}",
            &problems[..problems.len().min(3)]
        );
        assert!(problems[0].contains("at most 5"), "{}", problems[0]);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "took {:?}",
            started.elapsed()
        );
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn the_mask_keeps_stored_values_only_while_the_target_stays() {
        let stored = pairs(&[("X-Api-Key", "tok-1"), ("X-Team", "mail")]);
        let echoed = pairs(&[("x-api-key", MASK), ("X-Team", "ops"), ("X-New", MASK)]);
        assert_eq!(
            resolve(Some(&echoed), &stored, false).unwrap(),
            pairs(&[("x-api-key", "tok-1"), ("X-Team", "ops"), ("X-New", MASK)])
        );
        let problems = resolve(Some(&echoed), &stored, true).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("x-api-key"), "{problems:?}");
        assert!(!problems[0].contains("tok-1"));
        // Given in full, the headers may follow a new target.
        let full = pairs(&[("X-Api-Key", "tok-2")]);
        assert_eq!(resolve(Some(&full), &stored, true).unwrap(), full);
        // Left out, they are kept, unless the target moves.
        assert_eq!(resolve(None, &stored, false).unwrap(), stored);
        assert!(resolve(None, &stored, true).is_err());
        assert!(resolve(None, &[], true).unwrap().is_empty());
    }

    #[test]
    fn reserved_names_are_refused() {
        let headers: Vec<(String, String)> = [
            "Content-Type",
            "content-length",
            "Host",
            "X-MessageSystems-Batch-ID",
            "Webhook-Signature",
            "Authorization",
            "X-MessageSystems-Webhook-Token",
        ]
        .iter()
        .map(|name| (name.to_string(), "v".to_string()))
        .collect();
        assert_eq!(reserved_problems(&headers, false, false).len(), 5);
        assert_eq!(reserved_problems(&headers, true, false).len(), 6);
        assert_eq!(reserved_problems(&headers, true, true).len(), 7);
    }
}
