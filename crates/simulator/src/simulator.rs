//! The event generator: a simulated clock, a queue of messages in flight, and emission.

use std::sync::Arc;

use eventhose_model::EventType;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use crate::catalog::clients::{place_index, PLACES};
use crate::catalog::providers::PROVIDERS;
use crate::catalog::responses::{response_index, GENERATION_FAILURES, GENERATION_REJECTIONS};
use crate::catalog::{table_index, Catalog};
use crate::config::{ConfigError, SimConfig};
use crate::event::{close_line, open_line, LineFormat, SimEvent};
use crate::fields::{
    message_fields, render, shape, transmission_fields, Emission, RenderCtx, What,
};
use crate::ids::{mix64, IdSource};
use crate::lifecycle::{PlanInput, Planner};
use crate::message::{Message, StepKind, Transmission};
use crate::render::{FieldSink, JsonSink, ValueSink};
use crate::schedule::Schedule;
use crate::summary::Summary;

/// Transmissions being sent concurrently; each new message joins one of them.
const ACTIVE_TRANSMISSIONS: usize = 8;

/// Schedule bucket width: about this many events' worth of simulated time.
const EVENTS_PER_BUCKET: f64 = 1_024.0;

/// The schedule bucket width for a rate, in microseconds.
// Clamped to 1..=1e12 first: the cast cannot truncate.
#[allow(clippy::cast_possible_truncation)]
fn bucket_width_us(events_per_second: f64) -> i64 {
    (EVENTS_PER_BUCKET * 1e6 / events_per_second).clamp(1.0, 1e12) as i64
}

/// Finished messages kept for reuse, so that steady-state generation does not allocate.
const SPARE_MESSAGES: usize = 16_384;

/// A transmission being sent and how many recipients it still has.
#[derive(Clone)]
struct Slot {
    transmission: Arc<Transmission>,
    remaining: u32,
}

/// The next event, decided but not yet rendered.
struct Prepared {
    msg: Box<Message>,
    what: What,
    now_us: i64,
    seq: u64,
}

/// Generates a deterministic, endless stream of SparkPost events.
///
/// The simulated clock starts at [`SimConfig::start`] and advances `1 / events_per_second`
/// per emitted event. At each tick the simulator emits the earliest due step of a message in
/// flight (delivery, delay, bounce, open, …) or, when none is due, starts a new message
/// (its injection, or a generation failure/rejection). Timestamps never decrease.
///
/// ```
/// use eventhose_simulator::{SimConfig, Simulator};
///
/// let mut sim = Simulator::new(SimConfig::new(7, 1_717_200_000, 500.0))?;
/// let first = sim.next().expect("the stream never ends");
/// assert_eq!(first.value["type"], "injection");
/// let mut ndjson = Vec::new();
/// let summary = sim.write_ndjson(&mut ndjson, 100);
/// assert_eq!(summary.total(), 100);
/// assert_eq!(ndjson.iter().filter(|&&b| b == b'\n').count(), 100);
/// # Ok::<(), eventhose_simulator::ConfigError>(())
/// ```
pub struct Simulator {
    config: SimConfig,
    catalog: Catalog,
    planner: Planner,
    ids: IdSource,
    rng: ChaCha8Rng,
    queue: Schedule<Box<Message>>,
    start_us: i64,
    micros_per_event: f64,
    emitted: u64,
    messages: u64,
    transmissions: u64,
    slots: Vec<Slot>,
    #[expect(
        clippy::vec_box,
        reason = "the boxes themselves are recycled into the schedule"
    )]
    spare: Vec<Box<Message>>,
    scratch: String,
    scratch_bytes: Vec<u8>,
}

impl Simulator {
    /// A simulator for `config`, or why the configuration is unusable.
    pub fn new(config: SimConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        rng.set_stream(0);
        let start_us = config.start.saturating_mul(1_000_000);
        let exhausted = Slot {
            transmission: Arc::default(),
            remaining: 0,
        };
        Ok(Simulator {
            catalog: Catalog::build(&config),
            planner: Planner::new(&config),
            ids: IdSource::new(config.seed),
            rng,
            queue: Schedule::new(start_us, bucket_width_us(config.events_per_second)),
            start_us,
            micros_per_event: 1e6 / config.events_per_second,
            emitted: 0,
            messages: 0,
            transmissions: 0,
            slots: vec![exhausted; ACTIVE_TRANSMISSIONS],
            spare: Vec::new(),
            scratch: String::with_capacity(512),
            scratch_bytes: Vec::with_capacity(1024),
            config,
        })
    }

    /// The configuration this simulator runs.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// Events emitted so far.
    pub fn emitted(&self) -> u64 {
        self.emitted
    }

    /// Messages started so far (injections plus generation failures and rejections).
    pub fn messages_started(&self) -> u64 {
        self.messages
    }

    /// Messages with planned events still to come.
    pub fn in_flight(&self) -> usize {
        self.queue.len()
    }

    /// Simulated time of the next event, in unix microseconds.
    pub fn now_micros(&self) -> i64 {
        self.clock_us(self.emitted)
    }

    // `as` rounds toward zero, as the clock wants, and saturates where i64 microseconds end.
    #[allow(clippy::cast_possible_truncation)]
    fn clock_us(&self, tick: u64) -> i64 {
        self.start_us + (tick as f64 * self.micros_per_event) as i64
    }

    /// The next event as a `serde_json::Value`.
    pub fn next_event(&mut self) -> SimEvent {
        let prepared = self.prepare();
        let mut sink = ValueSink::default();
        let event_type = self.render_into(&mut sink, &prepared);
        let timestamp = prepared.now_us.div_euclid(1_000_000);
        self.finish(prepared);
        SimEvent {
            event_type,
            timestamp,
            value: sink.into_value(),
        }
    }

    /// Appends the next `n` events to `out` as bare-object NDJSON lines (the fast path:
    /// no intermediate `Value`). The bytes equal those of [`SimEvent::to_line`] for the
    /// same events. Returns what was written.
    pub fn write_ndjson(&mut self, out: &mut Vec<u8>, n: usize) -> Summary {
        self.write_lines(out, n, LineFormat::Bare)
    }

    /// The next `n` events in the storage form ingest keeps them in (each line parsed as
    /// ingest parses it): what the stores' tests and benchmarks write.
    pub fn stored_events(&mut self, n: usize) -> Result<Vec<Vec<u8>>, eventhose_model::ParseError> {
        let mut out = Vec::new();
        self.write_ndjson(&mut out, n);
        out.split(|&b| b == b'\n')
            .filter(|line| !line.is_empty())
            .map(|line| eventhose_model::Event::parse_ingest(line).map(|e| e.to_json_bytes()))
            .collect()
    }

    /// Like [`Simulator::write_ndjson`], framing each line as `format` says.
    pub fn write_lines(&mut self, out: &mut Vec<u8>, n: usize, format: LineFormat) -> Summary {
        let mut summary = Summary::new();
        out.reserve(n.saturating_mul(900));
        for _ in 0..n {
            let prepared = self.prepare();
            let start = out.len();
            open_line(out, format, prepared.what.event_type());
            let event_type = self.render_into(&mut JsonSink::new(out), &prepared);
            close_line(out, format);
            summary.record(
                event_type,
                out.len() - start,
                prepared.now_us.div_euclid(1_000_000),
            );
            self.finish(prepared);
        }
        summary
    }

    fn render_into<S: FieldSink>(&mut self, sink: &mut S, p: &Prepared) -> EventType {
        let ctx = RenderCtx {
            catalog: &self.catalog,
            ids: &self.ids,
            customer_id: self.config.customer_id,
        };
        let emission = Emission {
            msg: &p.msg,
            what: p.what,
            now_us: p.now_us,
            event_seq: p.seq,
        };
        render(sink, &ctx, &mut self.scratch, &emission)
    }

    /// Decides the next event: the earliest due step in flight, or a new message.
    fn prepare(&mut self) -> Prepared {
        let now_us = self.clock_us(self.emitted);
        let seq = self.emitted;
        self.emitted += 1;
        let mut due = self.queue.pop_due(now_us);
        if due.is_none() && self.queue.len() as u64 >= self.config.max_in_flight {
            // At the memory cap, bring the next step forward instead of starting a message.
            due = self.queue.pop_earliest();
        }
        if let Some(entry) = due {
            let mut msg = entry.item;
            // Only messages with a next step are queued.
            if let Some(step) = msg.plan.pop() {
                let attempt = matches!(
                    step.kind,
                    StepKind::Delivery
                        | StepKind::Delay
                        | StepKind::Bounce { .. }
                        | StepKind::Timeout
                );
                if attempt {
                    let waited = (now_us - msg.injected_us).max(0) as u64;
                    msg.queue_time_ms = waited / 1_000;
                }
                return Prepared {
                    msg,
                    what: What::Step(step.kind),
                    now_us,
                    seq,
                };
            }
        }
        self.start_message(now_us, seq)
    }

    /// Applies the effects of an emitted event and requeues its message if it has more to come.
    fn finish(&mut self, p: Prepared) {
        let mut msg = p.msg;
        if matches!(p.what, What::Step(StepKind::Delay)) {
            msg.delays_done = msg.delays_done.saturating_add(1);
        }
        match msg.next_step() {
            Some(next) => {
                let due_us = next.at_us;
                self.queue.push(due_us, msg);
            }
            None if self.spare.len() < SPARE_MESSAGES => self.spare.push(msg),
            None => {}
        }
    }

    fn new_transmission(&mut self) -> Slot {
        let campaign = self.catalog.pick_campaign(&mut self.rng);
        let c = &self.catalog.campaigns[campaign];
        let template = &self.catalog.templates[c.template];
        // Clamped to 50..=50 000 first: the cast cannot truncate.
        #[allow(clippy::cast_possible_truncation)]
        let remaining = if c.transactional {
            self.rng.random_range(1..=3)
        } else {
            let z: f64 = self.rng.sample(StandardNormal);
            (2_000.0 * z.exp()).clamp(50.0, 50_000.0) as u32
        };
        let id = self.ids.transmission_id(self.transmissions);
        self.transmissions += 1;
        let mut tx = Transmission {
            id,
            campaign: table_index(campaign),
            template_version: self.rng.random_range(0..=template.max_version),
            ab_version: self.rng.random_range(1..=3),
            amp_enabled: !c.transactional && self.rng.random_bool(self.config.engagement.amp),
            json_fields: Vec::with_capacity(512),
        };
        let mut fields = std::mem::take(&mut tx.json_fields);
        transmission_fields(
            &mut JsonSink::continuing(&mut fields),
            &self.catalog,
            self.config.customer_id,
            &tx,
            &mut self.scratch,
        );
        tx.json_fields = fields;
        Slot {
            transmission: Arc::new(tx),
            remaining,
        }
    }

    /// Starts a message: draws its recipient and attributes, then either fails its
    /// generation or injects it and plans its life.
    fn start_message(&mut self, now_us: i64, seq: u64) -> Prepared {
        let slot = self.rng.random_range(0..ACTIVE_TRANSMISSIONS);
        if self.slots[slot].remaining == 0 {
            self.slots[slot] = self.new_transmission();
        }
        self.slots[slot].remaining -= 1;
        let transmission = Arc::clone(&self.slots[slot].transmission);

        let rng = &mut self.rng;
        let catalog = &self.catalog;
        let campaign = &catalog.campaigns[transmission.campaign as usize];
        let recipient = rng.random_range(0..self.config.catalog.recipients);
        let domain = catalog.recipient_domain(recipient);
        let provider = &PROVIDERS[catalog.domains[domain].provider];
        let pool_size = catalog.pools[campaign.pool].ips.len();
        let size_noise: f64 = rng.sample(StandardNormal);
        // Clamped to 2 KiB..=200 KiB first: the cast cannot truncate.
        #[allow(clippy::cast_possible_truncation)]
        let size =
            (campaign.size_median * (0.5 * size_noise).exp()).clamp(2_048.0, 204_800.0) as u32;
        let block = provider.mx_blocks[rng.random_range(0..provider.mx_blocks.len())];
        let tls_roll: f64 = rng.random();
        // Recipient traits stay the same across all their messages.
        let traits = mix64(recipient ^ 0x7472_6169_7473);
        let place = (traits >> 16) as usize % PLACES.len();
        let [a, b] = PLACES[place].ip_block;

        let mut msg = self.spare.pop().unwrap_or_else(|| {
            Box::new(Message {
                plan: Vec::with_capacity(4),
                ..Message::default()
            })
        });
        let m = &mut *msg;
        m.seq = self.messages;
        m.transmission = transmission;
        m.recipient = recipient;
        m.domain = table_index(domain);
        m.sending_ip = table_index(rng.random_range(0..pool_size));
        m.injected_us = now_us;
        m.size = size;
        m.mx_ip = [block[0], block[1], rng.random(), rng.random_range(1..=254)];
        m.outbound_tls = if tls_roll < 0.93 {
            1
        } else if tls_roll < 0.99 {
            0
        } else {
            -1
        };
        let trait_bytes = traits.to_le_bytes();
        m.device = trait_bytes[3];
        m.place = place_index(place);
        m.client_ip = [a, b, trait_bytes[4], trait_bytes[5].max(1)];
        m.delay_response = 0;
        m.delays_done = 0;
        m.queue_time_ms = 0;
        m.plan.clear();
        m.json_fields.clear();
        self.messages += 1;

        let outcomes = &self.config.outcomes;
        let roll: f64 = rng.random();
        let what = if roll < outcomes.generation_failure {
            What::GenerationFailure {
                response: response_index(rng.random_range(0..GENERATION_FAILURES.len())),
            }
        } else if roll < outcomes.generation_failure + outcomes.generation_rejection {
            What::GenerationRejection {
                response: response_index(rng.random_range(0..GENERATION_REJECTIONS.len())),
            }
        } else {
            let input = PlanInput {
                now_us,
                campaign,
                template: &catalog.templates[campaign.template],
                provider,
                amp_enabled: m.transmission.amp_enabled,
            };
            m.delay_response = self.planner.plan(rng, &input, &mut m.plan);
            m.plan.reverse();
            let ctx = RenderCtx {
                catalog,
                ids: &self.ids,
                customer_id: self.config.customer_id,
            };
            let fields = &mut self.scratch_bytes;
            fields.clear();
            let full = shape(EventType::Injection);
            message_fields(
                &mut JsonSink::continuing(fields),
                &ctx,
                m,
                &full,
                &mut self.scratch,
            );
            // Sized exactly: this buffer lives as long as the message is in flight.
            m.json_fields.reserve_exact(fields.len());
            m.json_fields.extend_from_slice(fields);
            What::Injection
        };
        Prepared {
            msg,
            what,
            now_us,
            seq,
        }
    }
}

impl Iterator for Simulator {
    type Item = SimEvent;

    /// Always `Some`: the stream is endless; bound it with `take`.
    fn next(&mut self) -> Option<SimEvent> {
        Some(self.next_event())
    }
}
