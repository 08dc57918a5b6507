//! The query parameters of the search and retrieve routes, and the paging links of their
//! answers.

use chrono::{DateTime, NaiveDateTime};
use eventhose_state::suppressions::{recipient_domain, validate_list_id, MAX_DESCRIPTION_CHARS};
use eventhose_state::{
    DescriptionFilter, ListSelector, PageRequest, SortOrder, SuppressionCursor, SuppressionPage,
    SuppressionQuery,
};
use serde_json::{json, Value};

use crate::error::ApiError;

/// Results per page unless `per_page` says otherwise.
pub(crate) const DEFAULT_PER_PAGE: usize = 1000;
/// Most results per page.
pub(crate) const MAX_PER_PAGE: usize = 10_000;
/// Page-number paging reaches this many results; beyond, clients use `cursor`.
pub(crate) const PAGE_WINDOW: u64 = 10_000;

/// How the client pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Paging {
    /// By page number (1-based).
    Page { page: u64, per_page: usize },
    /// By cursor.
    Cursor { per_page: usize },
}

/// Which parameters a route reads: search reads them all, retrieve only the paging ones and
/// `types`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    Search,
    Retrieve,
}

/// The last value of parameter `name`.
fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .rev()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// The comma-separated values of a list parameter, trimmed, blanks dropped.
fn list<'a>(params: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    param(params, name)
        .map(|value| {
            value
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// Parses `YYYY-MM-DDTHH:mm:ssZ` and its relatives: RFC 3339, an offset without a colon
/// (`-0400`), no seconds, or no zone at all (read as UTC).
pub(crate) fn parse_time(text: &str) -> Option<i64> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.timestamp());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"] {
        if let Ok(time) = DateTime::parse_from_str(text, format) {
            return Some(time.timestamp());
        }
    }
    for format in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"] {
        if let Ok(time) = NaiveDateTime::parse_from_str(text, format) {
            return Some(time.and_utc().timestamp());
        }
    }
    None
}

fn time_param(params: &[(String, String)], name: &str) -> Result<Option<i64>, ApiError> {
    param(params, name)
        .map(|text| {
            parse_time(text).ok_or_else(|| {
                ApiError::bad_param(
                    name,
                    format!("{name} must be a time like 2024-01-31T09:00:00Z (got `{text}`)"),
                )
            })
        })
        .transpose()
}

fn number_param(
    params: &[(String, String)],
    name: &str,
    range: std::ops::RangeInclusive<u64>,
) -> Result<Option<u64>, ApiError> {
    param(params, name)
        .map(|text| {
            text.trim()
                .parse::<u64>()
                .ok()
                .filter(|n| range.contains(n))
                .ok_or_else(|| {
                    ApiError::bad_param(
                        name,
                        format!(
                            "{name} must be an integer from {} to {} (got `{text}`)",
                            range.start(),
                            range.end()
                        ),
                    )
                })
        })
        .transpose()
}

/// Reads the parameters into a query (lists and recipient left for the caller to set) and
/// the paging the links follow; each bad parameter is a 400 naming it.
pub(crate) fn parse(
    params: &[(String, String)],
    route: Route,
) -> Result<(SuppressionQuery, Paging), ApiError> {
    let mut query = SuppressionQuery::default();
    for name in list(params, "types") {
        let parsed = name.parse().map_err(|_| {
            ApiError::bad_param(
                "types",
                format!("`{name}` is not a type (use transactional, non_transactional)"),
            )
        })?;
        if !query.types.contains(&parsed) {
            query.types.push(parsed);
        }
    }
    if route == Route::Search {
        search_filters(params, &mut query)?;
    }
    // `limit` is the page size's older name, which python-sparkpost's `suppression_list.list`
    // still sends; `per_page` wins when both are given.
    let per_page = match number_param(params, "per_page", 1..=MAX_PER_PAGE as u64)? {
        Some(n) => Some(n),
        None => number_param(params, "limit", 1..=MAX_PER_PAGE as u64)?,
    }
    .map_or(DEFAULT_PER_PAGE, |n| {
        usize::try_from(n).unwrap_or(MAX_PER_PAGE)
    });
    let paging = match param(params, "cursor") {
        Some(cursor) => {
            let after = match cursor {
                "initial" => None,
                token => Some(SuppressionCursor::from_token(token).ok_or_else(|| {
                    ApiError::bad_param(
                        "cursor",
                        "cursor must be `initial` or a value from a `next` link",
                    )
                })?),
            };
            query.page = PageRequest::Cursor {
                after,
                limit: per_page,
            };
            Paging::Cursor { per_page }
        }
        None => {
            let page = number_param(params, "page", 1..=u64::MAX)?.unwrap_or(1);
            let offset = (page - 1).saturating_mul(per_page as u64);
            if offset >= PAGE_WINDOW {
                return Err(ApiError::bad_param(
                    "page",
                    format!(
                        "page reaches the first {PAGE_WINDOW} results only; use cursor to go further"
                    ),
                ));
            }
            query.page = PageRequest::Offset {
                offset,
                limit: per_page.min(usize::try_from(PAGE_WINDOW - offset).unwrap_or(usize::MAX)),
            };
            Paging::Page { page, per_page }
        }
    };
    Ok((query, paging))
}

/// The filters only the search route has.
fn search_filters(
    params: &[(String, String)],
    query: &mut SuppressionQuery,
) -> Result<(), ApiError> {
    query.updated_from = time_param(params, "from")?;
    query.updated_to = time_param(params, "to")?;
    if let (Some(from), Some(to)) = (query.updated_from, query.updated_to) {
        if from > to {
            return Err(ApiError::bad_param(
                "from",
                "from must not be later than to",
            ));
        }
    }
    if let Some(domain) = param(params, "domain") {
        let checked = recipient_domain(&format!("x@{}", domain.trim())).map_err(|_| {
            ApiError::bad_param("domain", format!("`{domain}` is not a domain name"))
        })?;
        query.domain = Some(checked);
    }
    for name in list(params, "sources") {
        let parsed = name.parse().map_err(|_| {
            ApiError::bad_param(
                "sources",
                format!(
                    "`{name}` is not a source (use Spam Complaint, List Unsubscribe, Bounce Rule, Unsubscribe Link, Manually Added, Compliance)"
                ),
            )
        })?;
        if !query.sources.contains(&parsed) {
            query.sources.push(parsed);
        }
    }
    let strict = match param(params, "description_strict") {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::bad_param(
                "description_strict",
                format!("description_strict must be true or false (got `{other}`)"),
            ))
        }
    };
    if let Some(text) = param(params, "description").filter(|t| !t.trim().is_empty()) {
        if text.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(ApiError::bad_param(
                "description",
                format!("description must be at most {MAX_DESCRIPTION_CHARS} characters"),
            ));
        }
        query.description = Some(if strict {
            DescriptionFilter::Exact(text.to_string())
        } else {
            DescriptionFilter::Words(text.to_string())
        });
    }
    query.list = match param(params, "list_id") {
        None => ListSelector::Any,
        Some("") => ListSelector::AccountLevel,
        Some(id) => {
            validate_list_id(id).map_err(|e| ApiError::bad_param("list_id", e.to_string()))?;
            ListSelector::List(id.to_string())
        }
    };
    query.order = match param(params, "sort") {
        None | Some("desc") => SortOrder::Descending,
        Some("asc") => SortOrder::Ascending,
        Some(other) => {
            return Err(ApiError::bad_param(
                "sort",
                format!("sort must be asc or desc (got `{other}`)"),
            ))
        }
    };
    Ok(())
}

/// SparkPost's `links`: `next` for cursor paging; `first`, `previous`, `next` and `last` for
/// page paging (within the page window; none when everything fits on the first page). Each
/// repeats the request's other parameters.
pub(crate) fn links(
    path: &str,
    params: &[(String, String)],
    paging: Paging,
    page: &SuppressionPage,
) -> Vec<Value> {
    let href = |paging_params: &[(&str, String)]| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in params {
            if !matches!(key.as_str(), "cursor" | "page" | "per_page") {
                query.append_pair(key, value);
            }
        }
        for (key, value) in paging_params {
            query.append_pair(key, value);
        }
        format!("{path}?{}", query.finish())
    };
    let link = |rel: &str, paging_params: &[(&str, String)]| json!({ "href": href(paging_params), "rel": rel });
    match paging {
        Paging::Cursor { per_page } => page
            .next
            .map(|next| {
                link(
                    "next",
                    &[
                        ("cursor", next.to_token()),
                        ("per_page", per_page.to_string()),
                    ],
                )
            })
            .into_iter()
            .collect(),
        Paging::Page {
            page: number,
            per_page,
        } => {
            let reachable = page.total_count.min(PAGE_WINDOW);
            let last = reachable.div_ceil(per_page as u64).max(1);
            if number == 1 && last == 1 {
                return Vec::new(); // one page: nothing to link to
            }
            let at = |n: u64| [("page", n.to_string()), ("per_page", per_page.to_string())];
            let mut links = vec![link("first", &at(1))];
            if number > 1 {
                links.push(link("previous", &at((number - 1).min(last))));
            }
            if number < last {
                links.push(link("next", &at(number + 1)));
            }
            links.push(link("last", &at(last)));
            links
        }
    }
}

#[cfg(test)]
mod tests {
    use eventhose_state::{SuppressionSource, SuppressionType};

    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn bad(pairs: &[(&str, &str)]) -> String {
        let err = parse(&params(pairs), Route::Search).unwrap_err();
        err.errors[0].param.clone().unwrap()
    }

    #[test]
    fn reads_every_filter() {
        let (query, paging) = parse(
            &params(&[
                ("from", "2024-01-01T00:00:00Z"),
                ("to", "2024-01-02T00:00:00-0100"),
                ("domain", "Example.COM"),
                ("sources", "Bounce Rule, manually_added,Bounce Rule"),
                ("types", "transactional"),
                ("description", "mailbox full"),
                ("list_id", ""),
                ("sort", "asc"),
                ("per_page", "20"),
                ("page", "3"),
                ("ignored", "x"),
            ]),
            Route::Search,
        )
        .unwrap();
        assert_eq!(query.updated_from, Some(1_704_067_200));
        assert_eq!(query.updated_to, Some(1_704_153_600 + 3600));
        assert_eq!(query.domain.as_deref(), Some("example.com"));
        assert_eq!(
            query.sources,
            [
                SuppressionSource::BounceRule,
                SuppressionSource::ManuallyAdded
            ]
        );
        assert_eq!(query.types, [SuppressionType::Transactional]);
        assert_eq!(
            query.description,
            Some(DescriptionFilter::Words("mailbox full".into()))
        );
        assert_eq!(query.list, ListSelector::AccountLevel);
        assert_eq!(query.order, SortOrder::Ascending);
        assert_eq!(
            query.page,
            PageRequest::Offset {
                offset: 40,
                limit: 20
            }
        );
        assert_eq!(
            paging,
            Paging::Page {
                page: 3,
                per_page: 20
            }
        );
    }

    #[test]
    fn cursor_overrides_page_and_strict_descriptions() {
        let token = SuppressionCursor {
            updated: 5,
            position: 6,
        }
        .to_token();
        let (query, paging) = parse(
            &params(&[
                ("cursor", &token),
                ("page", "not-read"),
                ("description", "exact text"),
                ("description_strict", "true"),
                ("list_id", "news"),
            ]),
            Route::Search,
        )
        .unwrap();
        assert_eq!(
            query.page,
            PageRequest::Cursor {
                after: Some(SuppressionCursor {
                    updated: 5,
                    position: 6
                }),
                limit: DEFAULT_PER_PAGE
            }
        );
        assert_eq!(
            paging,
            Paging::Cursor {
                per_page: DEFAULT_PER_PAGE
            }
        );
        assert_eq!(
            query.description,
            Some(DescriptionFilter::Exact("exact text".into()))
        );
        assert_eq!(query.list, ListSelector::List("news".into()));
        let (initial, _) = parse(&params(&[("cursor", "initial")]), Route::Search).unwrap();
        assert_eq!(
            initial.page,
            PageRequest::Cursor {
                after: None,
                limit: DEFAULT_PER_PAGE
            }
        );
    }

    #[test]
    fn each_bad_parameter_is_named() {
        for (pairs, name) in [
            (vec![("from", "yesterday")], "from"),
            (vec![("to", "2024-13-01T00:00:00Z")], "to"),
            (
                vec![
                    ("from", "2024-01-02T00:00:00Z"),
                    ("to", "2024-01-01T00:00:00Z"),
                ],
                "from",
            ),
            (vec![("domain", "not a domain")], "domain"),
            (vec![("sources", "Bounce Rule,Teleport")], "sources"),
            (vec![("types", "both")], "types"),
            (vec![("description_strict", "yes")], "description_strict"),
            (vec![("list_id", "a..b")], "list_id"),
            (vec![("cursor", "garbage")], "cursor"),
            (vec![("per_page", "0")], "per_page"),
            (vec![("per_page", "10001")], "per_page"),
            (vec![("page", "0")], "page"),
            (vec![("page", "11"), ("per_page", "1000")], "page"),
            (vec![("sort", "up")], "sort"),
        ] {
            assert_eq!(bad(&pairs), name, "{pairs:?}");
        }
        let long = "x".repeat(MAX_DESCRIPTION_CHARS + 1);
        assert_eq!(bad(&[("description", &long)]), "description");
    }

    #[test]
    fn retrieve_reads_only_its_parameters() {
        let (query, _) = parse(
            &params(&[
                ("types", "non_transactional"),
                ("sort", "bogus"),
                ("domain", "?"),
            ]),
            Route::Retrieve,
        )
        .unwrap();
        assert_eq!(query.types, [SuppressionType::NonTransactional]);
        assert_eq!(query.order, SortOrder::Descending);
        assert_eq!(query.domain, None);
    }

    #[test]
    fn times_in_several_spellings() {
        assert_eq!(parse_time("1970-01-01T00:01:00Z"), Some(60));
        assert_eq!(parse_time("1970-01-01T01:01:00+01:00"), Some(60));
        assert_eq!(parse_time("1970-01-01T01:01:00+0100"), Some(60));
        assert_eq!(parse_time("1970-01-01T00:01"), Some(60));
        assert_eq!(parse_time("1970-01-01T00:01:00"), Some(60));
        assert_eq!(parse_time("1970-01-01"), None);
    }

    #[test]
    fn links_keep_filters_and_follow_the_paging() {
        let request = params(&[
            ("types", "transactional"),
            ("page", "2"),
            ("per_page", "10"),
        ]);
        let page = SuppressionPage {
            entries: vec![],
            total_count: 35,
            next: Some(SuppressionCursor {
                updated: 1,
                position: 2,
            }),
        };
        let shown = links(
            "/api/v1/suppression-list",
            &request,
            Paging::Page {
                page: 2,
                per_page: 10,
            },
            &page,
        );
        let pairs: Vec<(String, String)> = shown
            .iter()
            .map(|l| {
                (
                    l["rel"].as_str().unwrap().into(),
                    l["href"].as_str().unwrap().into(),
                )
            })
            .collect();
        let at =
            |n: u32| format!("/api/v1/suppression-list?types=transactional&page={n}&per_page=10");
        assert_eq!(
            pairs,
            [
                ("first".to_string(), at(1)),
                ("previous".to_string(), at(1)),
                ("next".to_string(), at(3)),
                ("last".to_string(), at(4)),
            ]
        );
        let cursor = links(
            "/api/v1/suppression-list",
            &params(&[("cursor", "initial"), ("sources", "Bounce Rule")]),
            Paging::Cursor { per_page: 5 },
            &page,
        );
        assert_eq!(cursor.len(), 1);
        assert_eq!(cursor[0]["rel"], "next");
        assert_eq!(
            cursor[0]["href"],
            format!(
                "/api/v1/suppression-list?sources=Bounce+Rule&cursor={}&per_page=5",
                page.next.unwrap().to_token()
            )
        );
        let done = SuppressionPage {
            next: None,
            total_count: 3,
            ..page
        };
        assert!(links("/x", &[], Paging::Cursor { per_page: 5 }, &done).is_empty());
        let single = Paging::Page {
            page: 1,
            per_page: 5,
        };
        assert!(links("/x", &[], single, &done).is_empty());
    }

    mod properties {
        use proptest::collection::vec;
        use proptest::prelude::*;
        use proptest::sample::select;

        use super::*;

        /// The cursor a parsed query pages after, if any.
        fn after(query: &SuppressionQuery) -> Option<SuppressionCursor> {
            match query.page {
                PageRequest::Cursor { after, .. } => after,
                PageRequest::Offset { .. } => None,
            }
        }

        /// Parameters of every kind the routes read, with plausible and odd values.
        fn pairs() -> impl Strategy<Value = Vec<(String, String)>> {
            let name = select(
                &[
                    "cursor",
                    "page",
                    "per_page",
                    "types",
                    "from",
                    "to",
                    "sources",
                    "list_id",
                    "description",
                    "description_strict",
                    "domain",
                    "sort",
                    "cursor",
                ][..],
            );
            let value = prop_oneof![
                select(
                    &[
                        "initial",
                        "1",
                        "0",
                        "10000",
                        "18446744073709551616",
                        "-1",
                        "",
                        "transactional,non_transactional",
                        "2024-01-01T00:00:00Z",
                        "2024-01-01T00:00:00+0200",
                        "2024-01-01T00:00",
                        "true",
                        "asc",
                        "desc",
                        "Bounce Rule",
                        "a.b",
                        "..",
                        "c2E6MTox",
                        "czE6MTox",
                        "czE6OjE",
                    ][..]
                )
                .prop_map(str::to_owned),
                ".{0,16}",
            ];
            vec((name.prop_map(str::to_owned), value), 0..8)
        }

        /// Texts near a cursor's: its parts, separators, signs, spaces, other versions.
        fn near_cursor_text() -> impl Strategy<Value = String> {
            let piece = prop_oneof![
                select(&["s1", "s2", ":", "-", "+", " ", "0", "\u{0}", "é"][..])
                    .prop_map(str::to_owned),
                any::<i64>().prop_map(|n| n.to_string()),
                Just("9223372036854775808".to_owned()),
            ];
            vec(piece, 0..6).prop_map(|pieces| pieces.concat())
        }

        proptest! {
            #![proptest_config(eventhose_test_support::proptest_config(1_000))]

            #[test]
            fn every_cursor_round_trips_through_its_link(updated in any::<i64>(), position in any::<i64>()) {
                let cursor = SuppressionCursor { updated, position };
                let token = cursor.to_token();
                prop_assert_eq!(SuppressionCursor::from_token(&token), Some(cursor));
                let (query, paging) = parse(&params(&[("cursor", &token)]), Route::Search)
                    .expect("a cursor from a link is accepted");
                prop_assert_eq!(after(&query), Some(cursor));
                prop_assert_eq!(paging, Paging::Cursor { per_page: DEFAULT_PER_PAGE });
            }

            /// A token is a cursor that reads back as itself, or a 400 naming `cursor`.
            #[test]
            fn any_cursor_is_read_or_refused(text in near_cursor_text(), raw in ".{0,24}") {
                use base64::Engine;
                let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&text);
                for token in [encoded, raw] {
                    match parse(&params(&[("cursor", &token)]), Route::Search) {
                        Ok((query, _)) => {
                            if let Some(cursor) = after(&query) {
                                let again = SuppressionCursor::from_token(&cursor.to_token());
                                prop_assert_eq!(again, Some(cursor));
                            } else {
                                prop_assert_eq!(token.as_str(), "initial");
                            }
                        }
                        Err(error) => {
                            prop_assert_eq!(error.errors[0].param.as_deref(), Some("cursor"));
                        }
                    }
                }
            }

            /// Any parameters are read or refused with a 400 naming one of them; a page
            /// never reaches past the page window.
            #[test]
            fn any_parameters_are_read_or_named(pairs in pairs()) {
                for route in [Route::Search, Route::Retrieve] {
                    match parse(&pairs, route) {
                        Ok((query, _)) => {
                            if let PageRequest::Offset { offset, limit } = query.page {
                                prop_assert!(offset + limit as u64 <= PAGE_WINDOW);
                            }
                        }
                        Err(error) => {
                            let param = error.errors[0].param.clone().unwrap_or_default();
                            prop_assert!(
                                pairs.iter().any(|(name, _)| *name == param),
                                "error names {:?}, not a given parameter",
                                param
                            );
                        }
                    }
                }
            }
        }
    }
}
