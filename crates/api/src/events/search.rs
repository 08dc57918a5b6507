//! `GET /events/message`: one page of the message events matching the request.

use axum::extract::{RawQuery, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::json;

use super::params::Params;
use super::request::{self, Window};
use super::{render, run, store_error, GRANT};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::AppState;

/// Answers `{"results":[…],"total_count":N,"links":{"next":…}}` (no `next` on the last page).
pub(super) async fn search(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let key = caller.require(GRANT)?;
    let params = Params::parse(query.as_deref());
    let search = request::parse(
        &params,
        key,
        Utc::now(),
        state.api_limits.events_page_max_bytes,
    )?;
    if !search.visible {
        return Ok(answer(render::page_body(&[], 0, &json!({}))));
    }
    let window = Window {
        from: search.query.from,
        to: search.query.to,
    };
    let query = search.query;
    let (results, total_count, next) = run(&state, move |store| {
        let page = store.search(&query).map_err(store_error)?;
        let results = page
            .events
            .iter()
            .map(|stored| render::stored_event_text(stored))
            .collect::<Result<Vec<String>, _>>()
            .map_err(ApiError::internal)?;
        Ok((results, page.total_count, page.next))
    })
    .await?;
    let links = match next {
        Some(next) => json!({ "next": render::next_link(&params, window, &next) }),
        None => json!({}),
    };
    Ok(answer(render::page_body(&results, total_count, &links)))
}

/// A JSON answer from its text.
fn answer(body: String) -> Response {
    ([(CONTENT_TYPE, "application/json")], body).into_response()
}
