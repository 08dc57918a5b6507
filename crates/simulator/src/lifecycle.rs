//! Plans the life of a message at injection: its delivery attempts and final disposition,
//! then what the recipient does with it.

use rand::Rng;
use rand_distr::StandardNormal;

use crate::catalog::providers::Provider;
use crate::catalog::responses::{
    nth_candidate, response_index, Response, AFTER_DELAY_CLASS_WEIGHTS, BOUNCES, DELAYS,
    INBAND_CLASS_WEIGHTS, OUT_OF_BAND_CLASS_WEIGHTS, POLICY_REJECTIONS,
};
use crate::catalog::words::{link_index, LINKS};
use crate::catalog::{Campaign, Template};
use crate::config::{
    SimConfig, MAX_ATTEMPT_LATENCY_SECS, MAX_DELAYS, MAX_ENGAGEMENT_DELAY_SECS,
    RETRY_INTERVALS_SECS, RETRY_JITTER,
};
use crate::message::{Step, StepKind};

/// Probability that a delayed message is delayed exactly 1, 2, … [`MAX_DELAYS`] times.
const DELAY_COUNT_WEIGHTS: [f64; MAX_DELAYS as usize] = [0.55, 0.22, 0.10, 0.06, 0.04, 0.03];
/// Share of delayed-then-bounced messages that bounce because retries ran out.
const TIMEOUT_SHARE: f64 = 0.6;
/// Chance that an opener's client also loads the bottom pixel (`open`) after `initial_open`.
const BOTTOM_PIXEL: f64 = 0.9;
/// Chance of each further re-open.
const REOPEN: f64 = 0.35;
/// Chance of each further click once a recipient clicked.
const RECLICK: f64 = 0.3;
/// Share of AMP-capable openers whose opens are reported as AMP events.
const AMP_OPEN_SHARE: f64 = 0.5;

/// What the recipient's message context looks like to the planner.
pub(crate) struct PlanInput<'a> {
    pub(crate) now_us: i64,
    pub(crate) campaign: &'a Campaign,
    pub(crate) template: &'a Template,
    pub(crate) provider: &'a Provider,
    /// Whether the message has an AMP part.
    pub(crate) amp_enabled: bool,
}

/// Draws message lives from the configured rates.
#[derive(Debug, Clone)]
pub(crate) struct Planner {
    config: SimConfig,
    inband_cdf: Vec<f64>,
    after_delay_cdf: Vec<f64>,
    out_of_band_cdf: Vec<f64>,
}

fn cdf(weights: &[(u16, f64)]) -> Vec<f64> {
    let total: f64 = weights.iter().map(|(_, w)| w).sum();
    let mut acc = 0.0;
    weights
        .iter()
        .map(|(_, w)| {
            acc += w / total;
            acc
        })
        .collect()
}

fn pick_class(rng: &mut impl Rng, weights: &[(u16, f64)], cdf: &[f64]) -> u16 {
    let u: f64 = rng.random();
    let i = cdf.partition_point(|&c| c <= u).min(weights.len() - 1);
    weights[i].0
}

fn pick_response(rng: &mut impl Rng, table: &[Response], class: Option<u16>, p: &Provider) -> u16 {
    let n = rng.random_range(0..table.len().max(1));
    response_index(nth_candidate(table, class, p.family, n).unwrap_or(0))
}

/// A log-normal duration in seconds with the given median.
fn lognormal(rng: &mut impl Rng, median: f64, sigma: f64) -> f64 {
    let z: f64 = rng.sample(StandardNormal);
    median * (sigma * z).exp()
}

impl Planner {
    /// A planner for a validated configuration.
    pub(crate) fn new(config: &SimConfig) -> Self {
        Planner {
            config: config.clone(),
            inband_cdf: cdf(&INBAND_CLASS_WEIGHTS),
            after_delay_cdf: cdf(&AFTER_DELAY_CLASS_WEIGHTS),
            out_of_band_cdf: cdf(&OUT_OF_BAND_CLASS_WEIGHTS),
        }
    }

    /// Simulated microseconds for `secs` real-world seconds.
    // `as` saturates: a span beyond the i64 range (never reached) is capped, not wrapped.
    #[allow(clippy::cast_possible_truncation)]
    fn us(&self, secs: f64) -> i64 {
        (secs * self.config.time_scale * 1e6).round() as i64
    }

    /// Plans a freshly injected message: fills `steps` (soonest first) and returns the
    /// temporary failure its delays report (an index into the delay table).
    pub(crate) fn plan(
        &self,
        rng: &mut impl Rng,
        input: &PlanInput<'_>,
        steps: &mut Vec<Step>,
    ) -> u16 {
        let o = &self.config.outcomes;
        let delay_response = pick_response(rng, &DELAYS, None, input.provider);
        steps.clear();
        let first_attempt =
            input.now_us + self.us(lognormal(rng, 1.5, 0.8).min(MAX_ATTEMPT_LATENCY_SECS));
        let u: f64 = rng.random();
        let delivered_at = if u < o.policy_rejection {
            let response = pick_response(rng, &POLICY_REJECTIONS, None, input.provider);
            let at = input.now_us + self.us(rng.random_range(0.05..0.5));
            steps.push(Step {
                at_us: at,
                kind: StepKind::PolicyRejection { response },
            });
            None
        } else if u < o.policy_rejection + o.bounce {
            let class = pick_class(rng, &INBAND_CLASS_WEIGHTS, &self.inband_cdf);
            let response = pick_response(rng, &BOUNCES, Some(class), input.provider);
            steps.push(Step {
                at_us: first_attempt,
                kind: StepKind::Bounce { response },
            });
            None
        } else if u < o.policy_rejection + o.bounce + o.delay {
            self.plan_delays(rng, input, first_attempt, steps)
        } else {
            steps.push(Step {
                at_us: first_attempt,
                kind: StepKind::Delivery,
            });
            Some(first_attempt)
        };
        if let Some(delivered) = delivered_at {
            self.plan_after_delivery(rng, input, delivered, steps);
        }
        steps.sort_by_key(|s| s.at_us);
        delay_response
    }

    /// Delays, then a delivery or a bounce; returns the delivery time if delivered.
    fn plan_delays(
        &self,
        rng: &mut impl Rng,
        input: &PlanInput<'_>,
        first_attempt: i64,
        steps: &mut Vec<Step>,
    ) -> Option<i64> {
        let bounces = rng.random_bool(self.config.outcomes.delay_then_bounce);
        let timeout = bounces && rng.random_bool(TIMEOUT_SHARE);
        let delays = if timeout {
            MAX_DELAYS as usize
        } else {
            let u: f64 = rng.random();
            let mut acc = 0.0;
            DELAY_COUNT_WEIGHTS
                .iter()
                .position(|w| {
                    acc += w;
                    u < acc
                })
                .map_or(MAX_DELAYS as usize, |i| i + 1)
        };
        let mut at = first_attempt;
        for interval in RETRY_INTERVALS_SECS.iter().take(delays) {
            steps.push(Step {
                at_us: at,
                kind: StepKind::Delay,
            });
            at += self.us(interval * (1.0 + RETRY_JITTER * rng.random::<f64>()));
        }
        let kind = if timeout {
            StepKind::Timeout
        } else if bounces {
            let class = pick_class(rng, &AFTER_DELAY_CLASS_WEIGHTS, &self.after_delay_cdf);
            let response = pick_response(rng, &BOUNCES, Some(class), input.provider);
            StepKind::Bounce { response }
        } else {
            StepKind::Delivery
        };
        steps.push(Step { at_us: at, kind });
        (kind == StepKind::Delivery).then_some(at)
    }

    /// Out-of-band bounces, opens, clicks, unsubscribes and complaints after delivery.
    fn plan_after_delivery(
        &self,
        rng: &mut impl Rng,
        input: &PlanInput<'_>,
        delivered: i64,
        steps: &mut Vec<Step>,
    ) {
        let e = &self.config.engagement;
        let latest = delivered + self.us(MAX_ENGAGEMENT_DELAY_SECS);
        let after = |secs: f64| (delivered + self.us(secs)).min(latest);
        if rng.random_bool(self.config.outcomes.out_of_band) {
            let class = pick_class(rng, &OUT_OF_BAND_CLASS_WEIGHTS, &self.out_of_band_cdf);
            let response = pick_response(rng, &BOUNCES, Some(class), input.provider);
            steps.push(Step {
                at_us: after(lognormal(rng, 900.0, 1.0)),
                kind: StepKind::OutOfBand { response },
            });
            return;
        }
        let campaign = input.campaign;
        if campaign.open_tracking && e.open > 0.0 && rng.random_bool(e.open) {
            self.plan_opener(rng, input, delivered, latest, steps);
        }
        if !campaign.transactional && rng.random_bool(e.list_unsubscribe) {
            steps.push(Step {
                at_us: after(lognormal(rng, 7_200.0, 1.5)),
                kind: StepKind::ListUnsubscribe,
            });
        }
        if rng.random_bool(e.spam_complaint) {
            steps.push(Step {
                at_us: after(lognormal(rng, 14_400.0, 1.2)),
                kind: StepKind::SpamComplaint,
            });
        }
    }

    /// Opens of a recipient who opens, and the clicks and link unsubscribes that follow.
    fn plan_opener(
        &self,
        rng: &mut impl Rng,
        input: &PlanInput<'_>,
        delivered: i64,
        latest: i64,
        steps: &mut Vec<Step>,
    ) {
        let e = &self.config.engagement;
        let campaign = input.campaign;
        let cap = |t: i64| t.min(latest);
        let amp = input.amp_enabled && input.provider.amp && rng.random_bool(AMP_OPEN_SHARE);
        let opened = cap(delivered + self.us(lognormal(rng, 1_800.0, 1.5)));
        if campaign.initial_pixel {
            steps.push(Step {
                at_us: opened,
                kind: StepKind::InitialOpen { amp },
            });
        }
        if !campaign.initial_pixel || rng.random_bool(BOTTOM_PIXEL) {
            steps.push(Step {
                at_us: cap(opened + self.us(rng.random_range(1.0..20.0))),
                kind: StepKind::Open { amp },
            });
        }
        let mut reopened = opened;
        for _ in 0..5 {
            if !rng.random_bool(REOPEN) {
                break;
            }
            reopened = cap(reopened + self.us(lognormal(rng, 10_800.0, 1.2)));
            steps.push(Step {
                at_us: reopened,
                kind: StepKind::Open { amp },
            });
        }
        let links = &input.template.links;
        let pick_link = |rng: &mut dyn rand::RngCore| -> u8 {
            if links.is_empty() {
                0
            } else {
                link_index(links[rng.random_range(0..links.len())])
            }
        };
        if campaign.click_tracking && rng.random_bool((e.click / e.open).min(1.0)) {
            let mut clicked = cap(opened + self.us(lognormal(rng, 45.0, 1.0)));
            steps.push(Step {
                at_us: clicked,
                kind: StepKind::Click {
                    amp,
                    link: pick_link(rng),
                },
            });
            for _ in 0..3 {
                if !rng.random_bool(RECLICK) {
                    break;
                }
                clicked = cap(clicked + self.us(rng.random_range(5.0..120.0)));
                steps.push(Step {
                    at_us: clicked,
                    kind: StepKind::Click {
                        amp,
                        link: pick_link(rng),
                    },
                });
            }
        }
        if rng.random_bool((e.link_unsubscribe / e.open).min(1.0)) {
            // The tagged unsubscribe link sits in the footer next to the preferences link.
            let link = link_index(
                LINKS
                    .iter()
                    .position(|(name, _)| *name == "manage-preferences")
                    .unwrap_or(0),
            );
            steps.push(Step {
                at_us: cap(opened + self.us(rng.random_range(20.0..600.0))),
                kind: StepKind::LinkUnsubscribe { link },
            });
        }
    }
}
