//! Reading a search request: the window (`from`, `to`), paging (`cursor`, `per_page`) and every
//! filter of SparkPost's Events API, each bad parameter named; and the caller's scope.

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use eventhose_analytics::{
    Comparison, EventFilters, EventQuery, TextFilter, SEARCHABLE_EVENT_TYPES,
};
use eventhose_model::EventType;
use eventhose_state::ApiKey;

use super::cursor;
use super::params::{Params, Problems};
use super::RETENTION_DAYS;
use crate::error::ApiError;

/// `per_page` when none is given.
pub(super) const DEFAULT_PER_PAGE: usize = 1_000;
/// The largest `per_page`.
pub(super) const MAX_PER_PAGE: usize = 10_000;

/// The resolved window `[from, to)`, unix seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Window {
    pub from: i64,
    pub to: i64,
}

/// A checked search request.
#[derive(Debug)]
pub(super) struct Search {
    /// What the store is asked.
    pub query: EventQuery,
    /// False when a subaccount key named only other subaccounts: nothing is visible.
    pub visible: bool,
}

/// Reads `YYYY-MM-DDTHH:MM:ssZ` and its relatives: without seconds, with fractions, with an
/// offset, or without a zone (UTC). A `+` of an offset that arrived as a space (unencoded in
/// the query string) is read as `+`.
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim().replace(' ', "+");
    if let Ok(time) = DateTime::parse_from_rfc3339(&text) {
        return Some(time.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%dT%H:%M%:z",
        "%Y-%m-%dT%H:%M%z",
        "%Y-%m-%dT%H:%M:%S%z",
    ] {
        if let Ok(time) = DateTime::parse_from_str(&text, format) {
            return Some(time.with_timezone(&Utc));
        }
    }
    let naive = text
        .strip_suffix('Z')
        .or_else(|| text.strip_suffix('z'))
        .unwrap_or(&text);
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(naive, format).ok())
        .map(|time| time.and_utc())
}

/// Whole seconds: `from` rounds down, the exclusive `to` rounds up.
fn seconds(time: DateTime<Utc>, round_up: bool) -> i64 {
    let whole = time.timestamp();
    if round_up && time.timestamp_subsec_nanos() > 0 {
        whole + 1
    } else {
        whole
    }
}

/// `from` (default 24 hours ago) and `to` (default a minute ago), checked.
fn window(params: &Params, now: DateTime<Utc>, problems: &mut Problems) -> Option<Window> {
    let mut read = |name: &str, round_up: bool, default: TimeDelta| match params.get(name) {
        None => Some((now - default).timestamp()),
        Some(text) => match parse_time(text) {
            Some(time) => Some(seconds(time, round_up)),
            None => {
                problems.bad(
                    name,
                    format!("{name} must be a time like 2024-01-31T09:00:00Z (got `{text}`)"),
                );
                None
            }
        },
    };
    let from = read("from", false, TimeDelta::hours(24));
    let to = read("to", true, TimeDelta::minutes(1));
    let (from, to) = (from?, to?);
    if from >= to {
        let param = if params.get("to").is_some() {
            "to"
        } else {
            "from"
        };
        problems.bad(param, "from must be before to");
        return None;
    }
    let oldest = now - TimeDelta::days(RETENTION_DAYS);
    if from < oldest.timestamp() {
        problems.bad(
            "from",
            format!(
                "events are kept for {RETENTION_DAYS} days: from must be at or after {}",
                oldest.format("%Y-%m-%dT%H:%M:%SZ")
            ),
        );
        return None;
    }
    Some(Window { from, to })
}

fn per_page(params: &Params, problems: &mut Problems) -> Option<usize> {
    let Some(text) = params.get("per_page") else {
        return Some(DEFAULT_PER_PAGE);
    };
    match text.parse::<usize>() {
        Ok(n) if (1..=MAX_PER_PAGE).contains(&n) => Some(n),
        _ => {
            problems.bad(
                "per_page",
                format!("per_page must be a whole number from 1 to {MAX_PER_PAGE} (got `{text}`)"),
            );
            None
        }
    }
}

fn parse_cursor(
    params: &Params,
    problems: &mut Problems,
) -> Option<eventhose_analytics::EventCursor> {
    match params.get("cursor") {
        None | Some("initial") => None,
        Some(token) => {
            let decoded = cursor::decode(token);
            if decoded.is_none() {
                problems.bad(
                    "cursor",
                    "cursor must be `initial` or the value from a `links.next` of an earlier page",
                );
            }
            decoded
        }
    }
}

/// The searchable event types named by `events`, each once and in the order named (every
/// searchable type when absent), and the names that are not searchable types.
pub(super) fn searchable_types(params: &Params) -> (Vec<EventType>, Vec<String>) {
    let Some(names) = params.list("events") else {
        return (SEARCHABLE_EVENT_TYPES.to_vec(), Vec::new());
    };
    let mut types = Vec::new();
    let mut unknown = Vec::new();
    for name in names {
        match name.parse::<EventType>() {
            Ok(t) if SEARCHABLE_EVENT_TYPES.contains(&t) => {
                if !types.contains(&t) {
                    types.push(t);
                }
            }
            _ => unknown.push(name),
        }
    }
    (types, unknown)
}

/// The event types named by `events` (every searchable type when absent).
fn event_types(params: &Params, problems: &mut Problems) -> Vec<EventType> {
    let (types, unknown) = searchable_types(params);
    if !unknown.is_empty() {
        let known: Vec<&str> = SEARCHABLE_EVENT_TYPES.iter().map(|t| t.as_str()).collect();
        problems.bad(
            "events",
            format!(
                "unknown event types: {} (known: {})",
                unknown.join(", "),
                known.join(", ")
            ),
        );
    }
    types
}

/// A list of whole numbers.
fn numbers(params: &Params, name: &str, what: &str, problems: &mut Problems) -> Vec<u64> {
    let Some(items) = params.list(name) else {
        return Vec::new();
    };
    let parsed: Result<Vec<u64>, _> = items.iter().map(|item| item.parse::<u64>()).collect();
    parsed.unwrap_or_else(|_| {
        problems.bad(name, format!("{name} must be {what} (whole numbers)"));
        Vec::new()
    })
}

/// Every filter; `ab_test_versions` needs `ab_tests`, and a keyword value needs a keyword.
fn filters(params: &Params, problems: &mut Problems) -> EventFilters {
    let mut filters = EventFilters {
        event_types: event_types(params, problems),
        bounce_classes: numbers(
            params,
            "bounce_classes",
            "bounce classification codes",
            problems,
        ),
        subaccounts: numbers(
            params,
            "subaccounts",
            "subaccount ids (0 is the primary account)",
            problems,
        ),
        ab_test_versions: numbers(params, "ab_test_versions", "A/B test versions", problems),
        ..EventFilters::default()
    };
    for filter in TextFilter::ALL {
        let Some(values) = params.list(filter.param()) else {
            continue;
        };
        if let Comparison::Keywords(tokenizer) = filter.comparison() {
            let empty: Vec<&str> = values
                .iter()
                .filter(|v| tokenizer.tokens(v).is_empty())
                .map(String::as_str)
                .collect();
            if !empty.is_empty() {
                problems.bad(
                    filter.param(),
                    format!(
                        "{} is a keyword search and `{}` holds no keyword",
                        filter.param(),
                        empty.join("`, `")
                    ),
                );
            }
        }
        filters.set_text(filter, values);
    }
    if params.get("ab_test_versions").is_some() && filters.text(TextFilter::AbTests).is_empty() {
        problems.bad("ab_test_versions", "ab_test_versions requires ab_tests");
    }
    filters
}

/// Reads and checks a search request by `key` at `now`; a page holds at most
/// `page_max_bytes` of events (see [`EventQuery::max_bytes`]).
pub(super) fn parse(
    params: &Params,
    key: &ApiKey,
    now: DateTime<Utc>,
    page_max_bytes: usize,
) -> Result<Search, ApiError> {
    let mut problems = Problems::default();
    let window = window(params, now, &mut problems);
    let per_page = per_page(params, &mut problems);
    let cursor = parse_cursor(params, &mut problems);
    let mut filters = filters(params, &mut problems);
    problems.finish()?;
    let (Some(window), Some(per_page)) = (window, per_page) else {
        return Err(ApiError::bad_param("from", "invalid window"));
    };
    let mut visible = true;
    if let Some(own) = key.subaccount {
        visible = filters.subaccounts.is_empty() || filters.subaccounts.contains(&own);
        filters.subaccounts = vec![own];
    }
    Ok(Search {
        query: EventQuery {
            from: window.from,
            to: window.to,
            filters,
            per_page,
            max_bytes: page_max_bytes,
            cursor,
        },
        visible,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn times_in_several_spellings() {
        let expected = at("2024-03-05T10:00:00Z");
        for text in [
            "2024-03-05T10:00:00Z",
            "2024-03-05T10:00Z",
            "2024-03-05T10:00",
            "2024-03-05T10:00:00",
            "2024-03-05T12:00:00+02:00",
            "2024-03-05T12:00+02:00",
            "2024-03-05T12:00+0200",
            "2024-03-05T12:00:00 02:00",
            "2024-03-05T10:00:00.000Z",
        ] {
            assert_eq!(parse_time(text), Some(expected), "{text}");
        }
        for bad in ["2024-03-05", "yesterday", "2024-13-05T10:00Z", "1709632800"] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn defaults_and_rounding_of_the_window() {
        let now = at("2024-03-05T10:00:30.5Z");
        let mut problems = Problems::default();
        let w = window(&Params::parse(None), now, &mut problems).unwrap();
        assert_eq!(w.from, at("2024-03-04T10:00:30Z").timestamp());
        assert_eq!(w.to, at("2024-03-05T09:59:30Z").timestamp());
        let params = Params::parse(Some(
            "from=2024-03-05T09:00:00.5Z&to=2024-03-05T09:30:00.5Z",
        ));
        let w = window(&params, now, &mut problems).unwrap();
        assert_eq!(w.from, at("2024-03-05T09:00:00Z").timestamp());
        assert_eq!(w.to, at("2024-03-05T09:30:01Z").timestamp());
        assert!(problems.finish().is_ok());
    }
}
