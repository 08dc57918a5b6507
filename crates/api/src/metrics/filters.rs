//! Which rows a request counts: `query_filters` when given, else the simple filters (one list
//! per dimension, split by `delimiter`), and always the caller's subaccount for a subaccount key.

use eventhose_analytics::{Dimension, Filter, FilterOp};
use eventhose_state::ApiKey;

use super::params::Params;
use super::query_filters;
use super::refusal::{invalid, MetricsError};

/// The Add-On's simple filter, refused with an explanation.
const ADD_ON_PARAM: &str = "subject_campaigns";

/// The filter of a request by `key`.
pub(super) fn parse(params: &Params, key: &ApiKey) -> Result<Filter, MetricsError> {
    let mut filter = Filter::default();
    match params.get("query_filters") {
        // SparkPost ignores the simple filters when query_filters is present.
        Some(text) => {
            filter.groups = query_filters::parse(text).map_err(MetricsError::query_filters)?;
        }
        None => filter = simple(params)?,
    }
    scope_to_key(&mut filter, key);
    Ok(filter)
}

/// Only the caller's own numbers for a subaccount key, whatever else the filter says.
pub(super) fn scope_to_key(filter: &mut Filter, key: &ApiKey) {
    if let Some(own) = key.subaccount {
        filter.require(Dimension::Subaccount, FilterOp::Eq, vec![own.to_string()]);
    }
}

fn simple(params: &Params) -> Result<Filter, MetricsError> {
    let mut filter = Filter::default();
    let mut errors = Vec::new();
    if params.get(ADD_ON_PARAM).is_some() {
        errors.push(invalid(
            ADD_ON_PARAM,
            "subject_campaigns needs the Deliverability Add-On, which eventhose does not have",
        ));
    }
    for dimension in Dimension::ALL {
        let param = dimension.filter_param();
        let Some(values) = params.list(param) else {
            continue;
        };
        let values = if dimension == Dimension::Subaccount {
            let ids: Result<Vec<String>, _> = values
                .iter()
                .map(|v| v.parse::<u64>().map(|id| id.to_string()))
                .collect();
            match ids {
                Ok(ids) => ids,
                Err(_) => {
                    errors.push(invalid(
                        param,
                        "subaccounts must be subaccount ids (whole numbers; 0 is the primary account)",
                    ));
                    continue;
                }
            }
        } else {
            values
        };
        filter.require(dimension, FilterOp::Eq, values);
    }
    if errors.is_empty() {
        Ok(filter)
    } else {
        Err(MetricsError::bad(errors))
    }
}
