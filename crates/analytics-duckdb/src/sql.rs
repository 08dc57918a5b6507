//! Filters as SQL, with their values bound as parameters (never spliced into the text).

use duckdb::ToSql;
use eventhose_analytics::{AnalyticsError, Combinator, Condition, Dimension, Filter, FilterOp};

/// A SQL boolean expression and its parameters, in order.
#[derive(Default)]
pub(crate) struct Predicate {
    pub(crate) sql: String,
    pub(crate) params: Vec<Box<dyn ToSql>>,
}

/// The SQL of `filter` over the dimension columns (`TRUE` for an empty filter).
pub(crate) fn filter_sql(filter: &Filter) -> Result<Predicate, AnalyticsError> {
    let mut params: Vec<Box<dyn ToSql>> = Vec::new();
    let mut groups = Vec::new();
    for group in &filter.groups {
        if group.conditions.is_empty() {
            continue;
        }
        let mut parts = Vec::new();
        for condition in &group.conditions {
            parts.push(condition_sql(condition, &mut params)?);
        }
        let joiner = match group.combinator {
            Combinator::And => " AND ",
            Combinator::Or => " OR ",
        };
        groups.push(format!("({})", parts.join(joiner)));
    }
    let sql = if groups.is_empty() {
        "TRUE".to_owned()
    } else {
        groups.join(" AND ")
    };
    Ok(Predicate { sql, params })
}

fn condition_sql(
    condition: &Condition,
    params: &mut Vec<Box<dyn ToSql>>,
) -> Result<String, AnalyticsError> {
    let column = condition.dimension.column();
    if condition.values.is_empty() {
        // `x IN ()` holds for nothing; `x NOT IN ()` for everything.
        return Ok(match condition.op {
            FilterOp::Eq | FilterOp::Like => "FALSE".into(),
            FilterOp::NotEq | FilterOp::NotLike => "TRUE".into(),
        });
    }
    let placeholders = vec!["?"; condition.values.len()].join(", ");
    match condition.op {
        FilterOp::Eq | FilterOp::NotEq => {
            for value in &condition.values {
                if condition.dimension == Dimension::Subaccount {
                    let id: u64 = value.parse().map_err(|_| {
                        AnalyticsError::Invalid(format!(
                            "subaccount {value:?} is not a subaccount id"
                        ))
                    })?;
                    params.push(Box::new(id));
                } else {
                    params.push(Box::new(value.clone()));
                }
            }
            let not = if condition.op == FilterOp::NotEq {
                "NOT "
            } else {
                ""
            };
            Ok(format!("{column} {not}IN ({placeholders})"))
        }
        FilterOp::Like | FilterOp::NotLike => {
            let target = if condition.dimension == Dimension::Subaccount {
                format!("CAST({column} AS VARCHAR)")
            } else {
                column.to_owned()
            };
            let mut alternatives = Vec::new();
            for value in &condition.values {
                params.push(Box::new(format!("%{}%", escape_like(value))));
                alternatives.push(format!("{target} ILIKE ? ESCAPE '\\'"));
            }
            let any = alternatives.join(" OR ");
            Ok(if condition.op == FilterOp::NotLike {
                format!("NOT ({any})")
            } else {
                format!("({any})")
            })
        }
    }
}

/// Escapes LIKE's wildcards so a pattern matches literally.
pub(crate) fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
