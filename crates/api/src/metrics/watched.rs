//! Which recipient domains `/metrics/deliverability/watched-domain` reports.
//!
//! SparkPost: "Provides aggregate metrics grouped by watched domain over the time window
//! specified. The difference between domain and watched domain is that watched domains are
//! comprised of the top 99% domains in the world." eventhose sees only its own traffic, so its
//! watched domains are the top 99% of that: the largest recipient domains by
//! `count_targeted` in the window (under the request's filters), taken largest first until
//! they hold at least 99% of the window's targeted messages. The long tail after them (typos,
//! one-off corporate domains) is left out, as are events without a recipient domain. A window
//! without targeted messages has no volume to rank by, so every domain in it is kept.

use eventhose_analytics::{GroupKey, Metric, MetricsRow};

/// What domains are ranked by.
pub(super) const VOLUME: Metric = Metric::Targeted;

/// The share of the volume the watched domains hold at least: 99 in 100.
const SHARE: (u64, u64) = (99, 100);

/// The watched domains among `rows` (grouped by recipient domain), largest first.
pub(super) fn watched(rows: Vec<MetricsRow>) -> Vec<MetricsRow> {
    let mut rows: Vec<MetricsRow> = rows
        .into_iter()
        .filter(|row| matches!(&row.key, GroupKey::Value(domain) if !domain.is_empty()))
        .collect();
    rows.sort_by(|a, b| {
        VOLUME
            .value(&b.counters)
            .cmp(&VOLUME.value(&a.counters))
            .then_with(|| a.key.cmp(&b.key))
    });
    let total: u128 = rows
        .iter()
        .map(|row| u128::from(VOLUME.value(&row.counters)))
        .sum();
    if total == 0 {
        return rows;
    }
    let (share, of) = (u128::from(SHARE.0), u128::from(SHARE.1));
    let mut held: u128 = 0;
    let mut keep = 0;
    for row in &rows {
        if held * of >= total * share {
            break;
        }
        held += u128::from(VOLUME.value(&row.counters));
        keep += 1;
    }
    rows.truncate(keep);
    rows
}

#[cfg(test)]
mod tests {
    use eventhose_analytics::{Counter, Counters};

    use super::*;

    fn row(domain: &str, injected: u64) -> MetricsRow {
        let mut counters = Counters::default();
        counters.add(Counter::Injected, injected);
        MetricsRow {
            key: GroupKey::Value(domain.into()),
            counters,
        }
    }

    fn domains(rows: &[MetricsRow]) -> Vec<String> {
        rows.iter()
            .map(|r| match &r.key {
                GroupKey::Value(v) => v.clone(),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn the_largest_domains_holding_99_percent_are_watched() {
        let mut rows = vec![row("gmail.com", 900), row("yahoo.com", 89), row("", 500)];
        rows.extend((0..11).map(|i| row(&format!("tail{i:02}.example"), 1)));
        // 1,000 targeted with a domain: gmail and yahoo hold 989, one more of the tail 990.
        assert_eq!(
            domains(&watched(rows)),
            ["gmail.com", "yahoo.com", "tail00.example"]
        );
        // Exactly 99% is enough.
        assert_eq!(
            domains(&watched(vec![row("a.example", 99), row("b.example", 1)])),
            ["a.example"]
        );
        assert_eq!(
            domains(&watched(vec![row("a.example", 98), row("b.example", 2)])),
            ["a.example", "b.example"]
        );
    }

    #[test]
    fn without_volume_every_domain_is_kept() {
        let mut clicked = Counters::default();
        clicked.add(Counter::Clicked, 3);
        let rows = vec![
            MetricsRow {
                key: GroupKey::Value("gmail.com".into()),
                counters: clicked,
            },
            row("", 0),
        ];
        assert_eq!(domains(&watched(rows)), ["gmail.com"]);
        assert!(watched(Vec::new()).is_empty());
    }
}
