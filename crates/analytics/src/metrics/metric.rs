//! Metric names of the Metrics API and how each is computed from the stored counters.
//!
//! The store keeps [`Counter`]s, one column each; every API [`Metric`] is one counter or a sum or
//! difference of counters, computed after summing (so `count_accepted` of a whole range is
//! delivered minus out-of-band bounces of that range).

use std::fmt;

/// A counter kept per minute and dimension combination. The names are the storage columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Counter {
    /// `injection` events.
    Injected,
    /// `policy_rejection` events.
    PolicyRejection,
    /// `generation_failure` events.
    GenerationFailed,
    /// `generation_rejection` events.
    GenerationRejection,
    /// `delivery` events with `num_retries` 0 (or absent).
    DeliveredFirst,
    /// `delivery` events with `num_retries` above 0.
    DeliveredSubsequent,
    /// Sum of `queue_time` (ms) of first-attempt deliveries.
    DeliveryTimeFirst,
    /// Sum of `queue_time` (ms) of later-attempt deliveries.
    DeliveryTimeSubsequent,
    /// Sum of `msg_size` of deliveries.
    MsgVolume,
    /// `bounce` events not in the Admin category.
    InbandBounce,
    /// `out_of_band` events not in the Admin category.
    OutofbandBounce,
    /// Non-admin bounces (in-band or out-of-band) in the Soft category.
    SoftBounce,
    /// … in the Hard category.
    HardBounce,
    /// … in the Block category.
    BlockBounce,
    /// Bounces (in-band or out-of-band) in the Admin category (`count_admin_bounce` adds the
    /// rejections).
    AdminBounce,
    /// Non-admin bounces in the Undetermined category, or with an unknown class.
    UndeterminedBounce,
    /// `delay` events.
    Delayed,
    /// `delay` events of a first attempt (`num_retries` 0 or absent).
    DelayedFirst,
    /// `open` and `amp_open` events.
    Rendered,
    /// … not marked `"prefetched": true`.
    NonprefetchedRendered,
    /// `initial_open` and `amp_initial_open` events.
    InitialRendered,
    /// … not marked `"prefetched": true`.
    NonprefetchedInitialRendered,
    /// `click` and `amp_click` events.
    Clicked,
    /// `spam_complaint` events.
    SpamComplaint,
    /// `list_unsubscribe` and `link_unsubscribe` events.
    Unsubscribe,
    /// Messages counted at their first render (see [`crate::fold`]).
    UniqueRendered,
    /// Messages counted at their first non-prefetched render.
    NonprefetchedUniqueRendered,
    /// Messages counted at their first initial render.
    UniqueInitialRendered,
    /// Messages counted at their first non-prefetched initial render.
    NonprefetchedUniqueInitialRendered,
    /// Messages counted at their first render, initial render or click.
    UniqueConfirmedOpened,
    /// Messages counted at their first non-prefetched render, initial render, or click.
    NonprefetchedUniqueConfirmedOpened,
    /// Messages counted at their first click.
    UniqueClicked,
}

/// Number of counters.
pub const COUNTER_COUNT: usize = 32;

impl Counter {
    /// Every counter, in storage column order.
    pub const ALL: [Counter; COUNTER_COUNT] = [
        Counter::Injected,
        Counter::PolicyRejection,
        Counter::GenerationFailed,
        Counter::GenerationRejection,
        Counter::DeliveredFirst,
        Counter::DeliveredSubsequent,
        Counter::DeliveryTimeFirst,
        Counter::DeliveryTimeSubsequent,
        Counter::MsgVolume,
        Counter::InbandBounce,
        Counter::OutofbandBounce,
        Counter::SoftBounce,
        Counter::HardBounce,
        Counter::BlockBounce,
        Counter::AdminBounce,
        Counter::UndeterminedBounce,
        Counter::Delayed,
        Counter::DelayedFirst,
        Counter::Rendered,
        Counter::NonprefetchedRendered,
        Counter::InitialRendered,
        Counter::NonprefetchedInitialRendered,
        Counter::Clicked,
        Counter::SpamComplaint,
        Counter::Unsubscribe,
        Counter::UniqueRendered,
        Counter::NonprefetchedUniqueRendered,
        Counter::UniqueInitialRendered,
        Counter::NonprefetchedUniqueInitialRendered,
        Counter::UniqueConfirmedOpened,
        Counter::NonprefetchedUniqueConfirmedOpened,
        Counter::UniqueClicked,
    ];

    /// Position of the counter's column.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The storage column name.
    pub fn column(self) -> &'static str {
        match self {
            Counter::Injected => "injected",
            Counter::PolicyRejection => "policy_rejection",
            Counter::GenerationFailed => "generation_failed",
            Counter::GenerationRejection => "generation_rejection",
            Counter::DeliveredFirst => "delivered_first",
            Counter::DeliveredSubsequent => "delivered_subsequent",
            Counter::DeliveryTimeFirst => "delivery_time_first",
            Counter::DeliveryTimeSubsequent => "delivery_time_subsequent",
            Counter::MsgVolume => "msg_volume",
            Counter::InbandBounce => "inband_bounce",
            Counter::OutofbandBounce => "outofband_bounce",
            Counter::SoftBounce => "soft_bounce",
            Counter::HardBounce => "hard_bounce",
            Counter::BlockBounce => "block_bounce",
            Counter::AdminBounce => "admin_bounce",
            Counter::UndeterminedBounce => "undetermined_bounce",
            Counter::Delayed => "delayed",
            Counter::DelayedFirst => "delayed_first",
            Counter::Rendered => "rendered",
            Counter::NonprefetchedRendered => "np_rendered",
            Counter::InitialRendered => "initial_rendered",
            Counter::NonprefetchedInitialRendered => "np_initial_rendered",
            Counter::Clicked => "clicked",
            Counter::SpamComplaint => "spam_complaint",
            Counter::Unsubscribe => "unsubscribe",
            Counter::UniqueRendered => "u_rendered",
            Counter::NonprefetchedUniqueRendered => "u_np_rendered",
            Counter::UniqueInitialRendered => "u_initial_rendered",
            Counter::NonprefetchedUniqueInitialRendered => "u_np_initial_rendered",
            Counter::UniqueConfirmedOpened => "u_confirmed_opened",
            Counter::NonprefetchedUniqueConfirmedOpened => "u_np_confirmed_opened",
            Counter::UniqueClicked => "u_clicked",
        }
    }
}

/// The counters of one aggregate row, indexed by [`Counter::index`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters(pub [u64; COUNTER_COUNT]);

impl Counters {
    /// Adds one to `counter`.
    pub fn bump(&mut self, counter: Counter) {
        self.add(counter, 1);
    }

    /// Adds `n` to `counter`.
    pub fn add(&mut self, counter: Counter, n: u64) {
        let slot = &mut self.0[counter.index()];
        *slot = slot.saturating_add(n);
    }

    /// The value of `counter`.
    pub fn get(&self, counter: Counter) -> u64 {
        self.0[counter.index()]
    }

    /// Adds every counter of `other`.
    pub fn merge(&mut self, other: &Counters) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0) {
            *mine = mine.saturating_add(theirs);
        }
    }

    /// True when every counter is zero.
    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|&n| n == 0)
    }
}

/// Where a metric may be asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricScope {
    /// Summary, group-by and time-series endpoints.
    Everywhere,
    /// Only the time series (SparkPost's enum lists the initial-render metrics there alone).
    TimeSeriesOnly,
}

macro_rules! metrics {
    ($($variant:ident => $name:literal, $scope:ident;)*) => {
        /// A metric of the Metrics API, by its SparkPost name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Metric { $(#[doc = concat!("`", $name, "`")] $variant,)* }

        impl Metric {
            /// Every metric, in SparkPost's documentation order.
            pub const ALL: &'static [Metric] = &[$(Metric::$variant,)*];

            /// The metric's API name.
            pub fn name(self) -> &'static str {
                match self { $(Metric::$variant => $name,)* }
            }

            /// Where the metric may be requested.
            pub fn scope(self) -> MetricScope {
                match self { $(Metric::$variant => MetricScope::$scope,)* }
            }
        }
    };
}

metrics! {
    Injected => "count_injected", Everywhere;
    Bounce => "count_bounce", Everywhere;
    Rejected => "count_rejected", Everywhere;
    Delivered => "count_delivered", Everywhere;
    DeliveredFirst => "count_delivered_first", Everywhere;
    DeliveredSubsequent => "count_delivered_subsequent", Everywhere;
    TotalDeliveryTimeFirst => "total_delivery_time_first", Everywhere;
    TotalDeliveryTimeSubsequent => "total_delivery_time_subsequent", Everywhere;
    TotalMsgVolume => "total_msg_volume", Everywhere;
    PolicyRejection => "count_policy_rejection", Everywhere;
    GenerationRejection => "count_generation_rejection", Everywhere;
    GenerationFailed => "count_generation_failed", Everywhere;
    InbandBounce => "count_inband_bounce", Everywhere;
    OutofbandBounce => "count_outofband_bounce", Everywhere;
    SoftBounce => "count_soft_bounce", Everywhere;
    HardBounce => "count_hard_bounce", Everywhere;
    BlockBounce => "count_block_bounce", Everywhere;
    AdminBounce => "count_admin_bounce", Everywhere;
    UndeterminedBounce => "count_undetermined_bounce", Everywhere;
    Delayed => "count_delayed", Everywhere;
    DelayedFirst => "count_delayed_first", Everywhere;
    Rendered => "count_rendered", Everywhere;
    NonprefetchedRendered => "count_nonprefetched_rendered", Everywhere;
    UniqueRendered => "count_unique_rendered", Everywhere;
    NonprefetchedUniqueRendered => "count_nonprefetched_unique_rendered", Everywhere;
    UniqueConfirmedOpened => "count_unique_confirmed_opened", Everywhere;
    NonprefetchedUniqueConfirmedOpened => "count_nonprefetched_unique_confirmed_opened", Everywhere;
    Clicked => "count_clicked", Everywhere;
    UniqueClicked => "count_unique_clicked", Everywhere;
    Targeted => "count_targeted", Everywhere;
    Sent => "count_sent", Everywhere;
    Accepted => "count_accepted", Everywhere;
    SpamComplaint => "count_spam_complaint", Everywhere;
    Unsubscribe => "count_unsubscribe", Everywhere;
    InitialRendered => "count_initial_rendered", TimeSeriesOnly;
    NonprefetchedInitialRendered => "count_nonprefetched_initial_rendered", TimeSeriesOnly;
    UniqueInitialRendered => "count_unique_initial_rendered", TimeSeriesOnly;
    NonprefetchedUniqueInitialRendered => "count_nonprefetched_unique_initial_rendered", TimeSeriesOnly;
}

/// The Deliverability Add-On's metrics: they come from panel and seed data eventhose does not
/// have, so they are refused by name rather than answered with zeros.
pub const ADD_ON_METRICS: &[&str] = &[
    "count_inbox_panel",
    "count_spam_panel",
    "count_inbox_seed",
    "count_spam_seed",
    "count_inbox_seed_private",
    "count_spam_seed_private",
    "count_inbox_seed_virtual",
    "count_spam_seed_virtual",
    "count_moved_to_inbox",
    "count_moved_to_spam",
];

impl Metric {
    /// The metric named `name`.
    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.iter().copied().find(|m| m.name() == name)
    }

    /// The counters the metric is computed from.
    pub fn counters(self) -> &'static [Counter] {
        use Counter as C;
        match self {
            Metric::Bounce => &[C::InbandBounce, C::OutofbandBounce],
            Metric::Rejected => &[
                C::PolicyRejection,
                C::GenerationFailed,
                C::GenerationRejection,
            ],
            // SparkPost's terminology: "Total number of Bounced messages due to admin bounce
            // classification reasons, also includes Rejected".
            Metric::AdminBounce => &[
                C::AdminBounce,
                C::PolicyRejection,
                C::GenerationFailed,
                C::GenerationRejection,
            ],
            Metric::Delivered => &[C::DeliveredFirst, C::DeliveredSubsequent],
            Metric::Targeted => &[
                C::Injected,
                C::PolicyRejection,
                C::GenerationFailed,
                C::GenerationRejection,
            ],
            Metric::Sent => &[C::DeliveredFirst, C::DeliveredSubsequent, C::InbandBounce],
            Metric::Accepted => &[
                C::DeliveredFirst,
                C::DeliveredSubsequent,
                C::OutofbandBounce,
            ],
            single => std::slice::from_ref(single.counter_of_single()),
        }
    }

    fn counter_of_single(self) -> &'static Counter {
        use Counter as C;
        match self {
            Metric::DeliveredFirst => &C::DeliveredFirst,
            Metric::DeliveredSubsequent => &C::DeliveredSubsequent,
            Metric::TotalDeliveryTimeFirst => &C::DeliveryTimeFirst,
            Metric::TotalDeliveryTimeSubsequent => &C::DeliveryTimeSubsequent,
            Metric::TotalMsgVolume => &C::MsgVolume,
            Metric::PolicyRejection => &C::PolicyRejection,
            Metric::GenerationRejection => &C::GenerationRejection,
            Metric::GenerationFailed => &C::GenerationFailed,
            Metric::InbandBounce => &C::InbandBounce,
            Metric::OutofbandBounce => &C::OutofbandBounce,
            Metric::SoftBounce => &C::SoftBounce,
            Metric::HardBounce => &C::HardBounce,
            Metric::BlockBounce => &C::BlockBounce,
            Metric::UndeterminedBounce => &C::UndeterminedBounce,
            Metric::Delayed => &C::Delayed,
            Metric::DelayedFirst => &C::DelayedFirst,
            Metric::Rendered => &C::Rendered,
            Metric::NonprefetchedRendered => &C::NonprefetchedRendered,
            Metric::UniqueRendered => &C::UniqueRendered,
            Metric::NonprefetchedUniqueRendered => &C::NonprefetchedUniqueRendered,
            Metric::UniqueConfirmedOpened => &C::UniqueConfirmedOpened,
            Metric::NonprefetchedUniqueConfirmedOpened => &C::NonprefetchedUniqueConfirmedOpened,
            Metric::Clicked => &C::Clicked,
            Metric::UniqueClicked => &C::UniqueClicked,
            Metric::SpamComplaint => &C::SpamComplaint,
            Metric::Unsubscribe => &C::Unsubscribe,
            Metric::InitialRendered => &C::InitialRendered,
            Metric::NonprefetchedInitialRendered => &C::NonprefetchedInitialRendered,
            Metric::UniqueInitialRendered => &C::UniqueInitialRendered,
            Metric::NonprefetchedUniqueInitialRendered => &C::NonprefetchedUniqueInitialRendered,
            // Multi-counter metrics are listed in `counters`.
            _ => &C::Injected,
        }
    }

    /// The metric's value over summed counters. Differences never go below zero.
    pub fn value(self, c: &Counters) -> u64 {
        use Counter as C;
        let sum = |counters: &[Counter]| -> u64 {
            counters
                .iter()
                .fold(0u64, |acc, &k| acc.saturating_add(c.get(k)))
        };
        match self {
            Metric::Injected => c.get(C::Injected),
            Metric::Bounce => sum(&[C::InbandBounce, C::OutofbandBounce]),
            Metric::Rejected => sum(&[
                C::PolicyRejection,
                C::GenerationFailed,
                C::GenerationRejection,
            ]),
            Metric::Delivered => sum(&[C::DeliveredFirst, C::DeliveredSubsequent]),
            Metric::DeliveredFirst => c.get(C::DeliveredFirst),
            Metric::DeliveredSubsequent => c.get(C::DeliveredSubsequent),
            Metric::TotalDeliveryTimeFirst => c.get(C::DeliveryTimeFirst),
            Metric::TotalDeliveryTimeSubsequent => c.get(C::DeliveryTimeSubsequent),
            Metric::TotalMsgVolume => c.get(C::MsgVolume),
            Metric::PolicyRejection => c.get(C::PolicyRejection),
            Metric::GenerationRejection => c.get(C::GenerationRejection),
            Metric::GenerationFailed => c.get(C::GenerationFailed),
            Metric::InbandBounce => c.get(C::InbandBounce),
            Metric::OutofbandBounce => c.get(C::OutofbandBounce),
            Metric::SoftBounce => c.get(C::SoftBounce),
            Metric::HardBounce => c.get(C::HardBounce),
            Metric::BlockBounce => c.get(C::BlockBounce),
            Metric::AdminBounce => sum(&[
                C::AdminBounce,
                C::PolicyRejection,
                C::GenerationFailed,
                C::GenerationRejection,
            ]),
            Metric::UndeterminedBounce => c.get(C::UndeterminedBounce),
            Metric::Delayed => c.get(C::Delayed),
            Metric::DelayedFirst => c.get(C::DelayedFirst),
            Metric::Rendered => c.get(C::Rendered),
            Metric::NonprefetchedRendered => c.get(C::NonprefetchedRendered),
            Metric::UniqueRendered => c.get(C::UniqueRendered),
            Metric::NonprefetchedUniqueRendered => c.get(C::NonprefetchedUniqueRendered),
            Metric::UniqueConfirmedOpened => c.get(C::UniqueConfirmedOpened),
            Metric::NonprefetchedUniqueConfirmedOpened => {
                c.get(C::NonprefetchedUniqueConfirmedOpened)
            }
            Metric::Clicked => c.get(C::Clicked),
            Metric::UniqueClicked => c.get(C::UniqueClicked),
            Metric::Targeted => sum(&[
                C::Injected,
                C::PolicyRejection,
                C::GenerationFailed,
                C::GenerationRejection,
            ]),
            Metric::Sent => sum(&[C::DeliveredFirst, C::DeliveredSubsequent, C::InbandBounce]),
            Metric::Accepted => sum(&[C::DeliveredFirst, C::DeliveredSubsequent])
                .saturating_sub(c.get(C::OutofbandBounce)),
            Metric::SpamComplaint => c.get(C::SpamComplaint),
            Metric::Unsubscribe => c.get(C::Unsubscribe),
            Metric::InitialRendered => c.get(C::InitialRendered),
            Metric::NonprefetchedInitialRendered => c.get(C::NonprefetchedInitialRendered),
            Metric::UniqueInitialRendered => c.get(C::UniqueInitialRendered),
            Metric::NonprefetchedUniqueInitialRendered => {
                c.get(C::NonprefetchedUniqueInitialRendered)
            }
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_listed_in_index_order() {
        for (i, counter) in Counter::ALL.iter().enumerate() {
            assert_eq!(counter.index(), i, "{counter:?}");
        }
    }

    #[test]
    fn names_round_trip_and_add_on_metrics_are_not_known() {
        for metric in Metric::ALL {
            assert_eq!(Metric::from_name(metric.name()), Some(*metric));
        }
        for name in ADD_ON_METRICS {
            assert_eq!(Metric::from_name(name), None);
        }
        assert!(Metric::ALL.len() >= 38);
    }

    #[test]
    fn each_metric_reads_only_its_counters() {
        for metric in Metric::ALL {
            let mut only = Counters::default();
            for counter in metric.counters() {
                only.add(*counter, 5);
            }
            let mut all = Counters::default();
            for counter in Counter::ALL {
                all.add(counter, 5);
            }
            assert_eq!(metric.value(&only), metric.value(&all), "{metric}");
        }
    }

    #[test]
    fn derived_metrics_combine_counters() {
        let mut c = Counters::default();
        c.add(Counter::Injected, 10);
        c.add(Counter::PolicyRejection, 2);
        c.add(Counter::GenerationFailed, 1);
        c.add(Counter::DeliveredFirst, 6);
        c.add(Counter::DeliveredSubsequent, 2);
        c.add(Counter::InbandBounce, 1);
        c.add(Counter::OutofbandBounce, 3);
        assert_eq!(Metric::Targeted.value(&c), 13);
        assert_eq!(Metric::Rejected.value(&c), 3);
        assert_eq!(Metric::Sent.value(&c), 9);
        assert_eq!(Metric::Accepted.value(&c), 5);
        assert_eq!(Metric::Bounce.value(&c), 4);
        c.add(Counter::AdminBounce, 2);
        assert_eq!(
            Metric::AdminBounce.value(&c),
            5,
            "admin bounces and rejections"
        );
        assert_eq!(Metric::Bounce.value(&c), 4, "admin bounces are not bounces");
        c.add(Counter::OutofbandBounce, 10);
        assert_eq!(Metric::Accepted.value(&c), 0, "never below zero");
    }
}
