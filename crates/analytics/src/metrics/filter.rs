//! Filters over dimensions: the Metrics API's simple filters and `query_filters`.
//!
//! A [`Filter`] is a list of [`FilterGroup`]s that must all hold (SparkPost ANDs its groupings);
//! each group joins its conditions with AND or OR. Conditions compare a dimension's value:
//! `eq` / `notEq` exactly against a list, `like` / `notLike` as a case-insensitive substring
//! (any of the patterns for `like`, none of them for `notLike`).

use crate::Dimension;

/// How a condition compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterOp {
    /// The value is one of the given values.
    Eq,
    /// The value contains one of the given substrings (case-insensitive).
    Like,
    /// The value is none of the given values.
    NotEq,
    /// The value contains none of the given substrings (case-insensitive).
    NotLike,
}

impl FilterOp {
    /// The `query_filters` spelling.
    pub fn name(self) -> &'static str {
        match self {
            FilterOp::Eq => "eq",
            FilterOp::Like => "like",
            FilterOp::NotEq => "notEq",
            FilterOp::NotLike => "notLike",
        }
    }

    /// The operator spelled `name` in `query_filters`.
    pub fn from_name(name: &str) -> Option<FilterOp> {
        [
            FilterOp::Eq,
            FilterOp::Like,
            FilterOp::NotEq,
            FilterOp::NotLike,
        ]
        .into_iter()
        .find(|op| op.name() == name)
    }
}

/// One comparison of one dimension.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    /// The dimension compared.
    pub dimension: Dimension,
    /// How it is compared.
    pub op: FilterOp,
    /// The values (for subaccounts: decimal ids, `0` being the primary account).
    pub values: Vec<String>,
}

/// How a group joins its conditions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Combinator {
    /// Every condition holds.
    And,
    /// At least one condition holds.
    Or,
}

/// Conditions joined by one combinator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterGroup {
    /// AND or OR.
    pub combinator: Combinator,
    /// The conditions (a group without conditions holds).
    pub conditions: Vec<Condition>,
}

/// Groups that must all hold. The default filter lets everything through.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// The groups, ANDed.
    pub groups: Vec<FilterGroup>,
}

impl Filter {
    /// Adds a group of one condition (how simple filters and subaccount scoping are expressed).
    pub fn require(&mut self, dimension: Dimension, op: FilterOp, values: Vec<String>) {
        self.groups.push(FilterGroup {
            combinator: Combinator::And,
            conditions: vec![Condition {
                dimension,
                op,
                values,
            }],
        });
    }

    /// Whether a row whose dimension values are given by `value_of` passes: the reference
    /// semantics every store must match.
    pub fn matches<'a>(&self, value_of: impl Fn(Dimension) -> &'a str) -> bool {
        self.groups.iter().all(|group| {
            let mut results = group
                .conditions
                .iter()
                .map(|c| c.matches(value_of(c.dimension)));
            match group.combinator {
                Combinator::And => results.all(|ok| ok),
                Combinator::Or => group.conditions.is_empty() || results.any(|ok| ok),
            }
        })
    }
}

impl Condition {
    /// Whether `value` passes this condition.
    pub fn matches(&self, value: &str) -> bool {
        let contains = |pattern: &String| {
            value
                .to_lowercase()
                .contains(pattern.to_lowercase().as_str())
        };
        match self.op {
            FilterOp::Eq => self.values.iter().any(|v| v == value),
            FilterOp::NotEq => !self.values.iter().any(|v| v == value),
            FilterOp::Like => self.values.iter().any(contains),
            FilterOp::NotLike => !self.values.iter().any(contains),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(d: Dimension) -> &'static str {
        match d {
            Dimension::Domain => "gmail.com",
            Dimension::Campaign => "Black-Friday",
            _ => "",
        }
    }

    #[test]
    fn groups_are_anded_and_conditions_follow_their_combinator() {
        let mut filter = Filter::default();
        assert!(filter.matches(row));
        filter.require(Dimension::Domain, FilterOp::Eq, vec!["gmail.com".into()]);
        assert!(filter.matches(row));
        filter.groups.push(FilterGroup {
            combinator: Combinator::Or,
            conditions: vec![
                Condition {
                    dimension: Dimension::Campaign,
                    op: FilterOp::Like,
                    values: vec!["friday".into()],
                },
                Condition {
                    dimension: Dimension::Domain,
                    op: FilterOp::Eq,
                    values: vec!["yahoo.com".into()],
                },
            ],
        });
        assert!(filter.matches(row), "like is a case-insensitive substring");
        filter.require(Dimension::Campaign, FilterOp::NotLike, vec!["BLACK".into()]);
        assert!(!filter.matches(row));
    }
}
