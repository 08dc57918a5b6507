//! Entry points for the fuzz targets in `fuzz/`: the query-string reader and the paging
//! cursors, checked against their oracles; each function panics where they disagree.

use eventhose_state::SuppressionCursor;
use url::form_urlencoded;

use crate::events::cursor;
use crate::query::Params;

/// Reads `query` as the APIs do and checks it against the form decoder and the documented
/// rules: pairs in order, the first value wins, blank values are absent, list items are
/// trimmed, non-blank and free of the delimiter; re-encoded pairs read back the same.
pub fn check_query(query: &str) {
    let params = Params::parse(Some(query));
    let decoded: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    assert_eq!(params.pairs(), &decoded[..], "pairs of {query:?}");
    let first = |name: &str| {
        decoded
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    let delimiter = first("delimiter")
        .filter(|value| !value.is_empty())
        .unwrap_or(",");
    assert_eq!(params.delimiter(), delimiter, "delimiter of {query:?}");
    let names = decoded.iter().map(|(name, _)| name.as_str());
    for name in names.chain(["campaigns", "delimiter"]) {
        let expected = first(name).map(str::trim).filter(|value| !value.is_empty());
        assert_eq!(params.get(name), expected, "{name:?} in {query:?}");
        let list = params.list(name);
        for item in list.iter().flatten() {
            assert!(!item.is_empty() && item.trim() == item, "item {item:?}");
            assert!(
                !item.contains(delimiter),
                "item {item:?} holds {delimiter:?}"
            );
        }
        assert_eq!(list.is_some(), list.iter().flatten().next().is_some());
        if let (Some(items), Some(value)) = (&list, expected) {
            let rejoined: Vec<&str> = value
                .split(delimiter)
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .collect();
            assert_eq!(items, &rejoined, "{name:?} in {query:?}");
        }
    }
    let again = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&decoded)
        .finish();
    assert_eq!(Params::parse(Some(&again)).pairs(), &decoded[..]);
}

/// Decodes `token` as an events cursor and as a suppressions cursor; whatever it decodes to
/// must encode to a token that decodes to the same cursor.
pub fn check_cursors(token: &str) {
    if let Some(events) = cursor::decode(token) {
        assert_eq!(cursor::decode(&cursor::encode(&events)), Some(events));
    }
    if let Some(suppressions) = SuppressionCursor::from_token(token) {
        let again = SuppressionCursor::from_token(&suppressions.to_token());
        assert_eq!(again, Some(suppressions));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checks_pass_on_ordinary_input() {
        for query in [
            "",
            "campaigns=a%7Cb,c&delimiter=%7C&campaigns=z",
            "a&&=&b=%zz+%41",
        ] {
            check_query(query);
        }
        for token in ["", "initial", "ZTI6MToyOjM", "czE6MToy", "czE6KzE6Mg"] {
            check_cursors(token);
        }
    }
}
