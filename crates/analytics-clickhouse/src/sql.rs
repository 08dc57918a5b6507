//! Values and filters as ClickHouse SQL.
//!
//! Servers before 19.x take no query parameters, so values are written into the statement as
//! literals: strings quoted by [`quote`], numbers formatted by Rust. Nothing else of a caller's
//! text reaches a statement.

use eventhose_analytics::{AnalyticsError, Combinator, Condition, Dimension, Filter, FilterOp};

/// A string literal holding `text` exactly: inside single quotes ClickHouse reads backslash
/// escapes, so backslashes and quotes are escaped, and so are NUL and line ends (for readable
/// logs).
pub(crate) fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\0' => out.push_str("\\0"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// A dimension's value as text (the subaccount id as decimal).
pub(crate) fn dimension_text(dimension: Dimension) -> String {
    match dimension {
        Dimension::Subaccount => format!("toString({})", dimension.column()),
        other => other.column().to_owned(),
    }
}

/// `text` contains `needle`, case-insensitively.
pub(crate) fn contains(text: &str, needle: &str) -> String {
    format!("positionCaseInsensitiveUTF8({text}, {}) > 0", quote(needle))
}

/// The SQL of `filter` over the dimension columns (`1` for an empty filter).
pub(crate) fn filter_sql(filter: &Filter) -> Result<String, AnalyticsError> {
    let mut groups = Vec::new();
    for group in &filter.groups {
        if group.conditions.is_empty() {
            continue;
        }
        let parts = group
            .conditions
            .iter()
            .map(condition_sql)
            .collect::<Result<Vec<_>, _>>()?;
        let joiner = match group.combinator {
            Combinator::And => " AND ",
            Combinator::Or => " OR ",
        };
        groups.push(format!("({})", parts.join(joiner)));
    }
    Ok(if groups.is_empty() {
        "1".to_owned()
    } else {
        groups.join(" AND ")
    })
}

fn condition_sql(condition: &Condition) -> Result<String, AnalyticsError> {
    let column = condition.dimension.column();
    if condition.values.is_empty() {
        // `x IN ()` holds for nothing; `x NOT IN ()` for everything.
        return Ok(match condition.op {
            FilterOp::Eq | FilterOp::Like => "0".into(),
            FilterOp::NotEq | FilterOp::NotLike => "1".into(),
        });
    }
    match condition.op {
        FilterOp::Eq | FilterOp::NotEq => {
            let values = condition
                .values
                .iter()
                .map(|value| {
                    if condition.dimension == Dimension::Subaccount {
                        value.parse::<u64>().map(|id| id.to_string()).map_err(|_| {
                            AnalyticsError::Invalid(format!(
                                "subaccount {value:?} is not a subaccount id"
                            ))
                        })
                    } else {
                        Ok(quote(value))
                    }
                })
                .collect::<Result<Vec<_>, _>>()?;
            let not = if condition.op == FilterOp::NotEq {
                "NOT "
            } else {
                ""
            };
            Ok(format!("{column} {not}IN ({})", values.join(", ")))
        }
        FilterOp::Like | FilterOp::NotLike => {
            let target = dimension_text(condition.dimension);
            let any = condition
                .values
                .iter()
                .map(|value| contains(&target, value))
                .collect::<Vec<_>>()
                .join(" OR ");
            Ok(if condition.op == FilterOp::NotLike {
                format!("NOT ({any})")
            } else {
                format!("({any})")
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_escapes_what_would_end_the_literal() {
        assert_eq!(quote("gmail.com"), "'gmail.com'");
        assert_eq!(quote(r"a'b\c"), r"'a\'b\\c'");
        assert_eq!(quote("x\0y\n"), r"'x\0y\n'");
        assert_eq!(quote("ünï"), "'ünï'");
    }

    #[test]
    fn subaccount_values_must_be_ids() {
        let mut filter = Filter::default();
        filter.require(Dimension::Subaccount, FilterOp::Eq, vec!["1 OR 1".into()]);
        assert!(matches!(
            filter_sql(&filter),
            Err(AnalyticsError::Invalid(_))
        ));
    }

    #[test]
    fn filters_become_sql() {
        let mut filter = Filter::default();
        filter.require(
            Dimension::Domain,
            FilterOp::NotEq,
            vec!["a".into(), "b'".into()],
        );
        filter.require(Dimension::Subaccount, FilterOp::Like, vec!["9".into()]);
        filter.require(Dimension::Campaign, FilterOp::Eq, vec![]);
        assert_eq!(
            filter_sql(&filter).unwrap(),
            "(domain NOT IN ('a', 'b\\'')) AND ((positionCaseInsensitiveUTF8(toString(subaccount), '9') > 0)) AND (0)"
        );
        assert_eq!(filter_sql(&Filter::default()).unwrap(), "1");
    }
}
