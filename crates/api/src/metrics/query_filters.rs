//! `query_filters`: SparkPost's advanced filters, a URL-encoded JSON document
//! `{"groupings":[{"AND"|"OR":{<filter key>:{"eq"|"notEq"|"like"|"notLike":[…]}}}]}`.
//!
//! Groupings are ANDed; inside a grouping every comparison of every key is joined by the
//! grouping's AND or OR. `like` and `notLike` are case-insensitive substrings of at least three
//! characters. Subaccount values are ids (numbers or digit strings; `0` is the primary account).
//! [`parse`] reports every place that breaks the schema that [`schema`] publishes.

use eventhose_analytics::{Combinator, Condition, Dimension, FilterGroup, FilterOp};
use serde_json::{json, Map, Value};

use super::refusal::Violation;

/// The shortest `like` / `notLike` pattern.
const MIN_PATTERN_CHARS: usize = 3;

/// The Add-On's filter key, refused with an explanation.
const ADD_ON_KEY: &str = "subject_campaigns";

/// The filter keys, in SparkPost's order.
const KEYS: [Dimension; 9] = [
    Dimension::Domain,
    Dimension::SendingIp,
    Dimension::IpPool,
    Dimension::Campaign,
    Dimension::Template,
    Dimension::SendingDomain,
    Dimension::MailboxProvider,
    Dimension::Subaccount,
    Dimension::MailboxProviderRegion,
];

/// Collects violations with their paths.
struct Check {
    violations: Vec<Violation>,
}

impl Check {
    fn fail(&mut self, path: &str, message: impl Into<String>) {
        self.violations.push(Violation {
            path: path.to_string(),
            message: message.into(),
        });
    }

    /// `value` as an object with at least one member, or a violation.
    fn object<'v>(&mut self, path: &str, value: &'v Value) -> Option<&'v Map<String, Value>> {
        match value {
            Value::Object(members) if !members.is_empty() => Some(members),
            Value::Object(_) => {
                self.fail(path, "must not be empty");
                None
            }
            _ => {
                self.fail(path, "must be an object");
                None
            }
        }
    }
}

fn join(path: &str, member: &str) -> String {
    if path.is_empty() {
        member.to_string()
    } else {
        format!("{path}.{member}")
    }
}

/// The filter groups `text` describes, or every violation of the schema.
pub(super) fn parse(text: &str) -> Result<Vec<FilterGroup>, Vec<Violation>> {
    let mut check = Check {
        violations: Vec::new(),
    };
    let document: Value = match serde_json::from_str(text) {
        Ok(document) => document,
        Err(e) => {
            check.fail("", format!("is not valid JSON: {e}"));
            return Err(check.violations);
        }
    };
    let mut groups = Vec::new();
    let Value::Object(top) = &document else {
        check.fail("", "must be an object with `groupings`");
        return Err(check.violations);
    };
    for name in top.keys().filter(|k| *k != "groupings") {
        check.fail(name, "is not a known property (only `groupings`)");
    }
    match top.get("groupings") {
        None => check.fail("groupings", "is required"),
        Some(Value::Array(groupings)) => {
            for (i, grouping) in groupings.iter().enumerate() {
                if let Some(group) =
                    parse_grouping(&mut check, &format!("groupings[{i}]"), grouping)
                {
                    groups.push(group);
                }
            }
        }
        Some(_) => check.fail("groupings", "must be an array"),
    }
    if check.violations.is_empty() {
        Ok(groups)
    } else {
        Err(check.violations)
    }
}

fn parse_grouping(check: &mut Check, path: &str, grouping: &Value) -> Option<FilterGroup> {
    let members = check.object(path, grouping)?;
    if members.len() > 1 {
        check.fail(path, "must hold exactly one of AND or OR");
        return None;
    }
    let (name, filters) = members.iter().next()?;
    let combinator = match name.as_str() {
        "AND" => Combinator::And,
        "OR" => Combinator::Or,
        _ => {
            check.fail(&join(path, name), "is not AND or OR");
            return None;
        }
    };
    let path = join(path, name);
    let filters = check.object(&path, filters)?;
    let mut conditions = Vec::new();
    for (key, comparisons) in filters {
        let key_path = join(&path, key);
        let Some(dimension) = KEYS.into_iter().find(|d| d.filter_param() == key) else {
            if key == ADD_ON_KEY {
                check.fail(
                    &key_path,
                    "needs the Deliverability Add-On, which eventhose does not have",
                );
            } else {
                let keys: Vec<_> = KEYS.iter().map(|d| d.filter_param()).collect();
                check.fail(
                    &key_path,
                    format!("is not a filter key (one of {})", keys.join(", ")),
                );
            }
            continue;
        };
        let Some(comparisons) = check.object(&key_path, comparisons) else {
            continue;
        };
        for (op_name, values) in comparisons {
            let op_path = join(&key_path, op_name);
            let Some(op) = FilterOp::from_name(op_name) else {
                check.fail(&op_path, "is not eq, notEq, like or notLike");
                continue;
            };
            if let Some(values) = parse_values(check, &op_path, dimension, op, values) {
                conditions.push(Condition {
                    dimension,
                    op,
                    values,
                });
            }
        }
    }
    Some(FilterGroup {
        combinator,
        conditions,
    })
}

fn parse_values(
    check: &mut Check,
    path: &str,
    dimension: Dimension,
    op: FilterOp,
    values: &Value,
) -> Option<Vec<String>> {
    let Value::Array(items) = values else {
        check.fail(path, "must be an array of values");
        return None;
    };
    if items.is_empty() {
        check.fail(path, "must hold at least one value");
        return None;
    }
    let pattern = matches!(op, FilterOp::Like | FilterOp::NotLike);
    let ids = dimension == Dimension::Subaccount && !pattern;
    let before = check.violations.len();
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let item_path = format!("{path}[{i}]");
        let text = match item {
            Value::String(text) => text.clone(),
            Value::Number(n) if ids => match whole_number(n) {
                Some(id) => id.to_string(),
                None => {
                    check.fail(&item_path, "must be a subaccount id (a whole number)");
                    continue;
                }
            },
            _ if ids => {
                check.fail(&item_path, "must be a subaccount id (a whole number)");
                continue;
            }
            _ => {
                check.fail(&item_path, "must be a string");
                continue;
            }
        };
        if ids {
            match text.trim().parse::<u64>() {
                Ok(id) => out.push(id.to_string()),
                Err(_) => check.fail(&item_path, "must be a subaccount id (a whole number)"),
            }
        } else if pattern && text.chars().count() < MIN_PATTERN_CHARS {
            check.fail(
                &item_path,
                format!("must be at least {MIN_PATTERN_CHARS} characters long"),
            );
        } else {
            out.push(text);
        }
    }
    (check.violations.len() == before).then_some(out)
}

/// A JSON number that is a non-negative whole number (`7` or `7.0`, as JSON Schema's
/// `integer` allows).
// The cast only sees a whole number in 0..u64::MAX: it cannot truncate.
#[allow(clippy::cast_possible_truncation)]
fn whole_number(n: &serde_json::Number) -> Option<u64> {
    n.as_u64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < u64::MAX as f64)
            .map(|f| f as u64)
    })
}

/// The JSON Schema (draft-07) of `query_filters`, matching what [`parse`] accepts.
pub(super) fn schema() -> Value {
    let strings = json!({ "type": "array", "minItems": 1, "items": { "type": "string" } });
    let patterns = json!({
        "type": "array",
        "minItems": 1,
        "items": { "type": "string", "minLength": MIN_PATTERN_CHARS },
    });
    let ids = json!({
        "type": "array",
        "minItems": 1,
        "items": {
            "anyOf": [
                { "type": "integer", "minimum": 0 },
                { "type": "string", "pattern": "^\\s*[0-9]+\\s*$" },
            ],
        },
    });
    let comparisons = |equal: &str| {
        json!({
            "type": "object",
            "minProperties": 1,
            "additionalProperties": false,
            "properties": {
                "eq": { "$ref": format!("#/definitions/{equal}") },
                "notEq": { "$ref": format!("#/definitions/{equal}") },
                "like": { "$ref": "#/definitions/patterns" },
                "notLike": { "$ref": "#/definitions/patterns" },
            },
        })
    };
    let mut keys = Map::new();
    for dimension in KEYS {
        let reference = if dimension == Dimension::Subaccount {
            "#/definitions/subaccount_comparisons"
        } else {
            "#/definitions/comparisons"
        };
        keys.insert(
            dimension.filter_param().into(),
            json!({ "$ref": reference }),
        );
    }
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "query_filters",
        "description": "Advanced filters of the Metrics API. Groupings are ANDed; each joins its \
                        comparisons with AND or OR. like and notLike match case-insensitive \
                        substrings of at least 3 characters.",
        "type": "object",
        "required": ["groupings"],
        "additionalProperties": false,
        "properties": {
            "groupings": { "type": "array", "items": { "$ref": "#/definitions/grouping" } },
        },
        "definitions": {
            "grouping": {
                "type": "object",
                "minProperties": 1,
                "maxProperties": 1,
                "additionalProperties": false,
                "properties": {
                    "AND": { "$ref": "#/definitions/filters" },
                    "OR": { "$ref": "#/definitions/filters" },
                },
            },
            "filters": {
                "type": "object",
                "minProperties": 1,
                "additionalProperties": false,
                "properties": keys,
            },
            "comparisons": comparisons("strings"),
            "subaccount_comparisons": comparisons("ids"),
            "strings": strings,
            "patterns": patterns,
            "ids": ids,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(text: &str) -> Vec<String> {
        parse(text)
            .unwrap_err()
            .into_iter()
            .map(|v| v.path)
            .collect()
    }

    #[test]
    fn groupings_become_filter_groups() {
        let groups = parse(
            r#"{"groupings":[{"OR":{"domains":{"eq":["gmail.com"]},"campaigns":{"like":["sale"],"notEq":["x"]}}},
                             {"AND":{"subaccounts":{"eq":[7,"0"]}}}]}"#,
        )
        .unwrap();
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].combinator, Combinator::Or);
        assert_eq!(groups[0].conditions.len(), 3);
        assert_eq!(
            groups[1].conditions,
            vec![Condition {
                dimension: Dimension::Subaccount,
                op: FilterOp::Eq,
                values: vec!["7".into(), "0".into()],
            }]
        );
    }

    #[test]
    fn every_violation_is_named_by_its_path() {
        assert_eq!(paths("nope"), [""]);
        assert_eq!(paths("[]"), [""]);
        assert_eq!(paths(r#"{"groupings":{}}"#), ["groupings"]);
        assert_eq!(paths(r#"{"grouping":[]}"#), ["grouping", "groupings"]);
        assert_eq!(
            paths(
                r#"{"groupings":[{"AND":{"domains":{"like":["ab","abc",5]},"ips":{"eq":["x"]}}},
                                 {"XOR":{}},{"AND":{}, "OR":{}},
                                 {"OR":{"subaccounts":{"eq":["seven",-1,2.0]},"subject_campaigns":{"eq":["a"]}}},
                                 {"AND":{"templates":{"equals":["t"],"eq":[]}}}]}"#
            ),
            [
                "groupings[0].AND.domains.like[0]",
                "groupings[0].AND.domains.like[2]",
                "groupings[0].AND.ips",
                "groupings[1].XOR",
                "groupings[2]",
                "groupings[3].OR.subaccounts.eq[0]",
                "groupings[3].OR.subaccounts.eq[1]",
                "groupings[3].OR.subject_campaigns",
                "groupings[4].AND.templates.equals",
                "groupings[4].AND.templates.eq",
            ]
        );
    }
}
