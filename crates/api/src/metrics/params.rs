//! The parameters every metrics endpoint reads the same way: the shared query-string reader,
//! and `limit`.

pub(super) use crate::query::Params;

use super::refusal::MetricsError;

/// `limit` when none is given.
pub(super) const DEFAULT_LIMIT: usize = 1_000;
/// The largest `limit`.
pub(super) const MAX_LIMIT: usize = 10_000;

/// `limit`: 1 to [`MAX_LIMIT`], by default [`DEFAULT_LIMIT`].
pub(super) fn parse_limit(params: &Params) -> Result<usize, MetricsError> {
    let Some(text) = params.get("limit") else {
        return Ok(DEFAULT_LIMIT);
    };
    match text.parse::<usize>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(MetricsError::bad_param(
            "limit",
            format!("limit must be a whole number from 1 to {MAX_LIMIT}, got `{text}`"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_is_bounded() {
        assert_eq!(parse_limit(&Params::parse(None)).unwrap(), DEFAULT_LIMIT);
        assert_eq!(
            parse_limit(&Params::parse(Some("limit=10000"))).unwrap(),
            10_000
        );
        for bad in ["0", "10001", "-1", "ten", "1.5"] {
            assert!(
                parse_limit(&Params::parse(Some(&format!("limit={bad}")))).is_err(),
                "{bad}"
            );
        }
    }
}
