//! The `metrics` and `order_by` parameters: every name is checked, and each one that cannot be
//! answered is named with the reason (unknown, Deliverability Add-On, time series only, not
//! offered by the endpoint).

use eventhose_analytics::{Metric, MetricScope, ADD_ON_METRICS};

use super::params::Params;
use super::refusal::{invalid, MetricsError};

/// The names in `metrics`, split at commas (and at `delimiter` when it cannot be part of a
/// metric name), duplicates dropped.
fn requested_names(params: &Params) -> Vec<String> {
    let Some(text) = params.get("metrics") else {
        return Vec::new();
    };
    let delimiter = params.delimiter();
    let separates_names = !delimiter
        .chars()
        .any(|c| c.is_ascii_alphanumeric() || c == '_');
    let mut names: Vec<String> = Vec::new();
    for piece in text.split(',') {
        let parts: Vec<&str> = if separates_names {
            piece.split(delimiter).collect()
        } else {
            vec![piece]
        };
        for name in parts.into_iter().map(str::trim).filter(|n| !n.is_empty()) {
            if !names.iter().any(|known| known == name) {
                names.push(name.to_string());
            }
        }
    }
    names
}

fn add_on_refusal(param: &str, name: &str) -> crate::ErrorEntry {
    invalid(
        param,
        format!(
            "{name} needs the Deliverability Add-On (panel and seed data), which eventhose does \
             not have"
        ),
    )
}

/// Why `name` cannot be a deliverability metric here, if it cannot.
fn check_deliverability(
    name: &str,
    time_series: bool,
    param: &str,
) -> Result<Metric, crate::ErrorEntry> {
    match Metric::from_name(name) {
        Some(metric) if metric.scope() == MetricScope::Everywhere || time_series => Ok(metric),
        Some(_) => Err(invalid(
            param,
            format!("{name} is only available from /metrics/deliverability/time-series"),
        )),
        None if ADD_ON_METRICS.contains(&name) => Err(add_on_refusal(param, name)),
        None => Err(invalid(param, format!("unknown metric `{name}`"))),
    }
}

/// The required `metrics` of the summary, group-by and time-series endpoints.
pub(super) fn deliverability(
    params: &Params,
    time_series: bool,
) -> Result<Vec<Metric>, MetricsError> {
    let names = requested_names(params);
    if names.is_empty() {
        return Err(MetricsError::bad_param(
            "metrics",
            "metrics is required: a comma-separated list such as count_injected,count_delivered",
        ));
    }
    let mut metrics = Vec::new();
    let mut errors = Vec::new();
    for name in &names {
        match check_deliverability(name, time_series, "metrics") {
            Ok(metric) => metrics.push(metric),
            Err(entry) => errors.push(entry),
        }
    }
    if errors.is_empty() {
        Ok(metrics)
    } else {
        Err(MetricsError::bad(errors))
    }
}

/// `order_by`: any metric of the endpoint, by default the first requested one.
pub(super) fn order_by(
    params: &Params,
    requested: &[Metric],
    time_series: bool,
) -> Result<Option<Metric>, MetricsError> {
    match params.get("order_by") {
        None => Ok(requested.first().copied()),
        Some(name) => check_deliverability(name, time_series, "order_by")
            .map(Some)
            .map_err(|entry| MetricsError::bad(vec![entry])),
    }
}

/// The required `metrics` of a breakdown that offers only `offered`; the answer holds indexes
/// into `offered`, in the requested order.
pub(super) fn offered(params: &Params, offered: &[&str]) -> Result<Vec<usize>, MetricsError> {
    let names = requested_names(params);
    if names.is_empty() {
        return Err(MetricsError::bad_param(
            "metrics",
            format!("metrics is required: one or more of {}", offered.join(", ")),
        ));
    }
    let mut chosen = Vec::new();
    let mut errors = Vec::new();
    for name in &names {
        match offered.iter().position(|o| o == name) {
            Some(index) => chosen.push(index),
            None if ADD_ON_METRICS.contains(&name.as_str()) => {
                errors.push(add_on_refusal("metrics", name))
            }
            None => {
                let known = Metric::from_name(name).is_some() || name == "count_raw_clicked";
                let why = if known {
                    "is not offered by this endpoint"
                } else {
                    "is not a metric"
                };
                errors.push(invalid(
                    "metrics",
                    format!(
                        "`{name}` {why}; this endpoint offers {}",
                        offered.join(", ")
                    ),
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(chosen)
    } else {
        Err(MetricsError::bad(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(query: &str) -> Params {
        Params::parse(Some(query))
    }

    #[test]
    fn names_are_checked_one_by_one() {
        let ok = deliverability(
            &params("metrics=count_injected,count_sent,count_injected"),
            false,
        )
        .unwrap();
        assert_eq!(ok, vec![Metric::Injected, Metric::Sent]);
        assert_eq!(
            deliverability(&params("metrics=count_unsubscribe"), false).unwrap(),
            vec![Metric::Unsubscribe]
        );
        assert!(deliverability(&params(""), false).is_err());
        assert!(deliverability(&params("metrics=count_initial_rendered"), false).is_err());
        assert!(deliverability(&params("metrics=count_initial_rendered"), true).is_ok());
        assert!(deliverability(&params("metrics=count_inbox_panel"), true).is_err());
    }

    #[test]
    fn a_symbol_delimiter_also_separates_names() {
        let got = deliverability(
            &params("metrics=count_injected;count_sent&delimiter=;"),
            false,
        );
        assert_eq!(got.unwrap(), vec![Metric::Injected, Metric::Sent]);
    }

    #[test]
    fn breakdown_metrics_are_limited_to_the_offer() {
        let offer = ["count_clicked", "count_raw_clicked"];
        assert_eq!(
            offered(&params("metrics=count_raw_clicked,count_clicked"), &offer).unwrap(),
            vec![1, 0]
        );
        assert!(offered(&params("metrics=count_sent"), &offer).is_err());
        assert!(offered(&params(""), &offer).is_err());
    }
}
