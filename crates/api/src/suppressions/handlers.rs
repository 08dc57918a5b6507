//! The suppression list routes.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use eventhose_state::suppressions::validate_list_id;
use eventhose_state::{
    unix_now, DeleteOutcome, ListSelector, SuppressionDeletion, SuppressionSource,
    SuppressionUpsert, UpsertReport, WhenKept,
};
use serde_json::{json, Value};

use super::account::{read_scope, write_account};
use super::bodies::{self, EntryFields};
use super::search::{self, Route};
use super::{run, view, GRANT};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorEntry};
use crate::AppState;

/// Where the routes live, for links.
const BASE_PATH: &str = "/api/v1/suppression-list";

/// The query string's parameters, in order.
fn query_params(raw: Option<String>) -> Vec<(String, String)> {
    raw.map(|raw| {
        url::form_urlencoded::parse(raw.as_bytes())
            .into_owned()
            .collect()
    })
    .unwrap_or_default()
}

/// The entry a person writes through the API.
fn manual(
    recipient: String,
    fields: EntryFields,
    account: Option<u64>,
    now: i64,
) -> impl Iterator<Item = SuppressionUpsert> {
    fields
        .types
        .into_iter()
        .map(move |suppression_type| SuppressionUpsert {
            recipient: recipient.clone(),
            suppression_type,
            source: SuppressionSource::ManuallyAdded,
            description: fields.description.clone(),
            list_id: fields.list_id.clone(),
            subaccount: account,
            occurred_at: now,
        })
}

/// 403 for entries a compliance entry protects; `param` names each by its index.
fn protected(report: &UpsertReport, param: impl Fn(usize) -> String) -> ApiError {
    ApiError {
        status: StatusCode::FORBIDDEN,
        errors: report
            .kept()
            .into_iter()
            .map(|index| {
                ErrorEntry::new("Recipient could not be updated - Compliance")
                    .description("entries added by compliance cannot be changed")
                    .code("1100")
                    .param(param(index))
            })
            .collect(),
        retry_after: None,
    }
}

fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorEntry::new("Recipient could not be found")
            .code("1600")
            .param("recipient"),
    )
}

/// `PUT /api/v1/suppression-list`: creates or updates up to `suppression_bulk_max_entries`
/// entries (10,000), all or nothing.
pub(crate) async fn bulk_upsert(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let key = caller.require(GRANT)?;
    let account = write_account(key, &headers)?;
    let limits = &state.api_limits;
    let body = bodies::read(body, limits.suppression_bulk_max_bytes).await?;
    let most = limits.suppression_bulk_max_entries;
    let entries = tokio::task::spawn_blocking(move || bodies::bulk_entries(&body, most))
        .await
        .map_err(ApiError::internal)??;
    let now = unix_now();
    // An entry with both older type booleans is two upserts: `origin` maps each back to it.
    let (upserts, origin): (Vec<SuppressionUpsert>, Vec<usize>) = entries
        .into_iter()
        .enumerate()
        .flat_map(|(index, (recipient, fields))| {
            manual(recipient, fields, account, now).map(move |upsert| (upsert, index))
        })
        .unzip();
    let report = run(&state.suppressions, move |store| {
        store.upsert_suppressions(upserts, WhenKept::Abort)
    })
    .await?;
    if !report.committed {
        return Err(protected(&report, |index| {
            format!(
                "recipients[{}]",
                origin.get(index).copied().unwrap_or(index)
            )
        }));
    }
    Ok(Json(
        json!({ "results": { "message": "Suppression List successfully updated" } }),
    ))
}

/// `PUT /api/v1/suppression-list/{recipient}`: creates or updates one entry.
pub(crate) async fn upsert_one(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(recipient): Path<String>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let key = caller.require(GRANT)?;
    let account = write_account(key, &headers)?;
    bodies::check_recipient(&recipient, "recipient")
        .map_err(|fault| ApiError::new(StatusCode::BAD_REQUEST, fault))?;
    let body = bodies::read(body, state.api_limits.suppression_entry_max_bytes).await?;
    let fields = bodies::single_entry(&body)?;
    let upserts: Vec<SuppressionUpsert> = manual(recipient, fields, account, unix_now()).collect();
    let report = run(&state.suppressions, move |store| {
        store.upsert_suppressions(upserts, WhenKept::Abort)
    })
    .await?;
    if !report.committed {
        return Err(protected(&report, |_| "recipient".to_string()));
    }
    Ok(Json(
        json!({ "results": { "message": "Suppression list successfully updated" } }),
    ))
}

/// `GET /api/v1/suppression-list/{recipient}`: the recipient's entries in the lists reached;
/// 404 when there are none.
pub(crate) async fn retrieve(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(recipient): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let key = caller.require(GRANT)?;
    let scope = read_scope(key, &headers)?;
    bodies::check_recipient(&recipient, "recipient")
        .map_err(|fault| ApiError::new(StatusCode::BAD_REQUEST, fault))?;
    let params = query_params(raw);
    let (mut query, paging) = search::parse(&params, Route::Retrieve)?;
    query.lists = scope;
    query.recipient = Some(recipient.clone());
    let page = run(&state.suppressions, move |store| {
        store.search_suppressions(&query)
    })
    .await?;
    if page.total_count == 0 {
        return Err(not_found());
    }
    let encoded: String = url::form_urlencoded::byte_serialize(recipient.as_bytes()).collect();
    let path = format!("{BASE_PATH}/{encoded}");
    Ok(Json(json!({
        "results": page.entries.iter().map(view::entry).collect::<Vec<_>>(),
        "links": search::links(&path, &params, paging, &page),
        "total_count": page.total_count,
    })))
}

/// `DELETE /api/v1/suppression-list/{recipient}`: body `{"type"}` (omitted: both types);
/// `?list_id=x` that list's entries, `?list_id=` the account-level ones, omitted: all. 204;
/// 403 when a matching entry is `Compliance` (nothing removed); 404 when none matches.
pub(crate) async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(recipient): Path<String>,
    RawQuery(raw): RawQuery,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let key = caller.require(GRANT)?;
    let account = write_account(key, &headers)?;
    bodies::check_recipient(&recipient, "recipient")
        .map_err(|fault| ApiError::new(StatusCode::BAD_REQUEST, fault))?;
    let params = query_params(raw);
    let list = match params.iter().rev().find(|(name, _)| name == "list_id") {
        None => ListSelector::Any,
        Some((_, id)) if id.is_empty() => ListSelector::AccountLevel,
        Some((_, id)) => {
            validate_list_id(id).map_err(|e| ApiError::bad_param("list_id", e.to_string()))?;
            ListSelector::List(id.clone())
        }
    };
    let body = bodies::read(body, state.api_limits.suppression_entry_max_bytes).await?;
    let deletion = SuppressionDeletion {
        recipient,
        subaccount: account,
        suppression_type: bodies::delete_type(&body)?,
        list,
    };
    match run(&state.suppressions, move |store| {
        store.delete_suppressions(&deletion)
    })
    .await?
    {
        DeleteOutcome::Deleted(_) => Ok(StatusCode::NO_CONTENT),
        DeleteOutcome::NotFound => Err(not_found()),
        DeleteOutcome::Protected => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorEntry::new("Recipient could not be removed - Compliance")
                .description("entries added by compliance cannot be removed")
                .code("1100")
                .param("recipient"),
        )),
    }
}

/// `GET /api/v1/suppression-list`: search with filters, paging and order.
pub(crate) async fn search(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let key = caller.require(GRANT)?;
    let scope = read_scope(key, &headers)?;
    let params = query_params(raw);
    let (mut query, paging) = search::parse(&params, Route::Search)?;
    query.lists = scope;
    let page = run(&state.suppressions, move |store| {
        store.search_suppressions(&query)
    })
    .await?;
    Ok(Json(json!({
        "results": page.entries.iter().map(view::entry).collect::<Vec<_>>(),
        "links": search::links(BASE_PATH, &params, paging, &page),
        "total_count": page.total_count,
    })))
}

/// `GET /api/v1/suppression-list/summary`: entries per source in the lists reached.
pub(crate) async fn summary(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let key = caller.require(GRANT)?;
    let scope = read_scope(key, &headers)?;
    let summary = run(&state.suppressions, move |store| {
        store.suppression_summary(scope)
    })
    .await?;
    Ok(Json(json!({ "results": view::summary(&summary) })))
}
