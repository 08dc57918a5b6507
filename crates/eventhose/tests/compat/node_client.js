// SparkPost's Node client (npm `sparkpost`) against a running eventhose, its calls written as
// the client's README and examples show them. Run by crates/eventhose/tests/e2e/compat.rs with
// EVENTHOSE_URL, EVENTHOSE_KEY, RECEIVER_URL and FROM (seven days ago, YYYY-MM-DDTHH:MM, UTC)
// set. Checks each answer's shape, and prints what the test compares with the data it fed.
'use strict';

const assert = require('node:assert/strict');
const SparkPost = require('sparkpost');

const { EVENTHOSE_URL, EVENTHOSE_KEY, RECEIVER_URL, FROM } = process.env;
const client = new SparkPost(EVENTHOSE_KEY, { origin: EVENTHOSE_URL });

async function webhooks() {
  const webhook = {
    name: 'Test Webhook',
    target: RECEIVER_URL,
    auth_token: 'AUTH_TOKEN',
    events: ['delivery', 'injection', 'open', 'click'],
  };
  const created = await client.webhooks.create(webhook);
  const id = created.results.id;
  assert.equal(typeof id, 'string');

  const listed = await client.webhooks.list();
  assert.ok(listed.results.some((w) => w.id === id), 'the new webhook is listed');
  const found = await client.webhooks.get(id, { timezone: 'America/New_York' });
  assert.equal(found.results.name, 'Test Webhook');
  assert.notEqual(found.results.auth_token, 'AUTH_TOKEN', 'a secret is never echoed back');

  const updated = await client.webhooks.update(id, {
    name: 'Renamed Test Webhook',
    events: ['policy_rejection', 'delay'],
  });
  assert.equal(updated.results.id, id);
  const renamed = await client.webhooks.get(id);
  assert.equal(renamed.results.name, 'Renamed Test Webhook');
  assert.deepEqual([...renamed.results.events].sort(), ['delay', 'policy_rejection']);

  const validated = await client.webhooks.validate(id, { message: { msys: {} } });
  assert.equal(validated.results.response.status, 200);

  const batches = await client.webhooks.getBatchStatus(id, { limit: 1000 });
  assert.ok(Array.isArray(batches.results));

  const documentation = await client.webhooks.getDocumentation();
  assert.ok(documentation.results.message_event, 'documentation of the message events');
  const samples = await client.webhooks.getSamples({ events: 'bounce' });
  assert.equal(samples.results[0].msys.message_event.type, 'bounce');

  await client.webhooks.delete(id);
  const after = await client.webhooks.list();
  assert.ok(!after.results.some((w) => w.id === id), 'the deleted webhook is gone');
  return { webhook_renamed: renamed.results.name };
}

async function suppressions() {
  await client.suppressionList.upsert({
    recipient: 'test1@test.com',
    transactional: false,
    non_transactional: true,
    description: 'Test description 1',
  });
  await client.suppressionList.upsert([
    { recipient: 'test2@test.com', transactional: true, non_transactional: true, description: 'Test description 2' },
    { recipient: 'test3@test.com', transactional: true, non_transactional: false, description: 'Test description 3' },
    { recipient: 'test4@test.com', type: 'non_transactional', description: 'Test description 4' },
  ]);
  const two = await client.suppressionList.get('TEST2@test.com');
  const listed = await client.suppressionList.list({ limit: 5 });
  assert.ok(listed.results.length <= 5);
  await client.suppressionList.delete('test1@test.com');
  const gone = await client.suppressionList.get('test1@test.com').then(
    () => 'found',
    (err) => err.statusCode,
  );
  return {
    suppression_types_of_test2: two.results.map((e) => e.type).sort(),
    suppression_listed: listed.results.length,
    suppression_total: listed.total_count,
    suppression_after_delete: gone,
  };
}

async function events() {
  // Every delivery of the last seven days, two a page, following the cursor links.
  const seen = [];
  let page = await client.events.searchMessage({ from: FROM, events: ['delivery'], per_page: 2 });
  const total = page.total_count;
  for (let pages = 0; pages < 100; pages += 1) {
    seen.push(...page.results.map((e) => e.event_id));
    if (!page.links || !page.links.next) break;
    page = await client.get({ uri: page.links.next });
  }
  return { events_total: total, events_seen: seen.length, events_distinct: new Set(seen).size };
}

async function metrics() {
  // Seven days without `precision`, as dashboards ask.
  const qs = { from: FROM, metrics: 'count_injected,count_delivered,count_bounce' };
  const summary = await client.get({ uri: 'metrics/deliverability', qs });
  const byDomain = await client.get({ uri: 'metrics/deliverability/domain', qs });
  const domains = await client.get({ uri: 'metrics/domains', qs: { from: FROM } });
  const totals = summary.results[0];
  return {
    metrics_injected: totals.count_injected,
    metrics_delivered: totals.count_delivered,
    metrics_bounced: totals.count_bounce,
    metrics_domains: byDomain.results.map((r) => [r.domain, r.count_injected]).sort(),
    metrics_domain_list: [...domains.results.domains].sort(),
  };
}

async function main() {
  const observed = {
    ...(await webhooks()),
    ...(await suppressions()),
    ...(await events()),
    ...(await metrics()),
  };
  console.log(JSON.stringify(observed));
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  if (err && err.errors) console.error(err.statusCode, JSON.stringify(err.errors));
  process.exit(1);
});
