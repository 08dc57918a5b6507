//! The `metrics` and `order_by` parameters: every name is checked, and each one that cannot be
//! answered is named with the reason (unknown, Deliverability Add-On, time series only, not
//! offered by the endpoint).
//!
//! The `_approx` names SparkPost's own reports request are accepted wherever their base metric
//! is, and answered with the exact value under the requested name. SparkPost's
//! enterprise-metrics-definitions list `count_unique_clicked_approx`,
//! `count_unique_confirmed_opened_approx`, `count_unique_rendered_approx` and
//! `count_unique_initial_rendered_approx` as 5%-error approximations ("Approximated with a 5%
//! error threshold"), and its Engagement report asks `/deliverability/link-name` for
//! `count_clicked,count_raw_clicked_approx`; an exact count is within any error threshold.

use eventhose_analytics::{Metric, MetricScope, ADD_ON_METRICS};

use super::params::Params;
use super::refusal::{invalid, MetricsError};

/// The `_approx` names and the metric each stands for.
const APPROX: [(&str, &str); 5] = [
    ("count_unique_clicked_approx", "count_unique_clicked"),
    (
        "count_unique_confirmed_opened_approx",
        "count_unique_confirmed_opened",
    ),
    ("count_unique_rendered_approx", "count_unique_rendered"),
    (
        "count_unique_initial_rendered_approx",
        "count_unique_initial_rendered",
    ),
    ("count_raw_clicked_approx", "count_raw_clicked"),
];

/// The metric name `name` stands for: the base of an `_approx` name, else itself.
fn base_name(name: &str) -> &str {
    APPROX
        .iter()
        .find(|(approx, _)| *approx == name)
        .map_or(name, |(_, base)| base)
}

/// A metric as requested: what is computed and the key it is answered under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Requested {
    /// The metric computed.
    pub metric: Metric,
    /// The requested name (the metric's own, or its `_approx` name).
    pub name: String,
}

/// A breakdown metric as requested: its index in the endpoint's offer and the requested name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Offered {
    /// Index into the endpoint's offered metrics.
    pub index: usize,
    /// The requested name.
    pub name: String,
}

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
) -> Result<Requested, crate::ErrorEntry> {
    match Metric::from_name(base_name(name)) {
        Some(metric) if metric.scope() == MetricScope::Everywhere || time_series => Ok(Requested {
            metric,
            name: name.to_string(),
        }),
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
) -> Result<Vec<Requested>, MetricsError> {
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
    requested: &[Requested],
    time_series: bool,
) -> Result<Option<Metric>, MetricsError> {
    match params.get("order_by") {
        None => Ok(requested.first().map(|r| r.metric)),
        Some(name) => check_deliverability(name, time_series, "order_by")
            .map(|r| Some(r.metric))
            .map_err(|entry| MetricsError::bad(vec![entry])),
    }
}

/// The required `metrics` of a breakdown that offers only `offered` (and their `_approx`
/// names), in the requested order.
pub(super) fn offered(params: &Params, offered: &[&str]) -> Result<Vec<Offered>, MetricsError> {
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
        match offered.iter().position(|o| *o == base_name(name)) {
            Some(index) => chosen.push(Offered {
                index,
                name: name.clone(),
            }),
            None if ADD_ON_METRICS.contains(&name.as_str()) => {
                errors.push(add_on_refusal("metrics", name))
            }
            None => {
                let base = base_name(name);
                let known = Metric::from_name(base).is_some() || base == "count_raw_clicked";
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
        assert_eq!(metrics(&ok), vec![Metric::Injected, Metric::Sent]);
        assert_eq!(
            metrics(&deliverability(&params("metrics=count_unsubscribe"), false).unwrap()),
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
        assert_eq!(metrics(&got.unwrap()), vec![Metric::Injected, Metric::Sent]);
    }

    fn metrics(requested: &[Requested]) -> Vec<Metric> {
        requested.iter().map(|r| r.metric).collect()
    }

    #[test]
    fn approx_names_stand_for_their_base_where_it_is_offered() {
        let got = deliverability(
            &params("metrics=count_unique_clicked_approx,count_unique_clicked"),
            false,
        )
        .unwrap();
        assert_eq!(
            got,
            vec![
                Requested {
                    metric: Metric::UniqueClicked,
                    name: "count_unique_clicked_approx".into()
                },
                Requested {
                    metric: Metric::UniqueClicked,
                    name: "count_unique_clicked".into()
                }
            ]
        );
        // The base is time series only, so is its approximation.
        let initial = params("metrics=count_unique_initial_rendered_approx");
        assert!(deliverability(&initial, false).is_err());
        assert_eq!(
            metrics(&deliverability(&initial, true).unwrap()),
            [Metric::UniqueInitialRendered]
        );
        // Only documented names: no invented `_approx` of an exact count.
        assert!(deliverability(&params("metrics=count_injected_approx"), false).is_err());
        assert!(deliverability(&params("metrics=count_raw_clicked_approx"), true).is_err());
        let offer = ["count_raw_clicked", "count_clicked"];
        assert_eq!(
            offered(
                &params("metrics=count_clicked,count_raw_clicked_approx"),
                &offer
            )
            .unwrap(),
            vec![
                Offered {
                    index: 1,
                    name: "count_clicked".into()
                },
                Offered {
                    index: 0,
                    name: "count_raw_clicked_approx".into()
                }
            ]
        );
        assert!(offered(&params("metrics=count_clicked_approx"), &offer).is_err());
    }

    #[test]
    fn breakdown_metrics_are_limited_to_the_offer() {
        let offer = ["count_clicked", "count_raw_clicked"];
        let got = offered(&params("metrics=count_raw_clicked,count_clicked"), &offer).unwrap();
        assert_eq!(got.iter().map(|o| o.index).collect::<Vec<_>>(), vec![1, 0]);
        assert!(offered(&params("metrics=count_sent"), &offer).is_err());
        assert!(offered(&params(""), &offer).is_err());
    }
}
