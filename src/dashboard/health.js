// Health: the service's own Prometheus metrics as small live charts, its readiness, and the
// app's catalog. Polled with a timeout, so an outage shows as an outage, never a hang.

import { ApiError, get } from './api.js';
import { sparkline } from './chart.js';
import { $, el, fill } from './view.js';

const EVERY_MS = 2000;
const KEEP = 90; // samples per chart: three minutes
const LAG = 'ledgerflow_projection_lag_seconds';
const BATCH = 'ledgerflow_batch_commands';

const series = { lag50: [], lag99: [], backlog: [], pending: [], rate: [], batch: [] };
let previous = null; // the last scrape: {at, samples}
let timer = null;
let onOutage = () => {};

/** Starts polling; `outage(parts)` gets the parts that are down ([] when all is well). */
export function start(outage) {
  onOutage = outage;
  stop();
  poll();
  timer = setInterval(poll, EVERY_MS);
}

export function stop() {
  clearInterval(timer);
  timer = null;
  previous = null;
  for (const list of Object.values(series)) list.length = 0;
}

export async function showCatalog() {
  const { body } = await get('/v1/operations');
  fill(
    $('catalog'),
    body.map((op) =>
      el('tr', { class: 'operation' },
        el('td', { class: 'mono' }, op.name),
        el('td', {}, op.direction),
        el('td', { class: 'mono' }, op.counter_account ?? '—'),
        el('td', {}, amountText(op.amount)),
        el('td', { class: 'wrap' }, details(op))),
    ),
  );
  fill($('operation-codes'), body.map((op) => el('option', { value: op.name })));
}

function amountText(amount) {
  if (amount.fixed) return `fixed ${amount.fixed}`;
  return `${amount.min ?? '0'} to ${amount.max ?? 'any'}`;
}

function details(op) {
  const parts = [op.description, `${op.asset} (scale ${op.scale})`];
  if (!op.enabled) parts.push('disabled');
  if (op.overdraft) parts.push('may overdraw');
  if (op.holds) parts.push(`holds up to ${op.max_hold_seconds ?? '∞'} s`);
  if (op.cooldown_seconds) parts.push(`cooldown ${op.cooldown_seconds} s`);
  if (op.lot) {
    const expiry = op.lot.expires_after ? `, expiring after ${op.lot.expires_after}` : '';
    parts.push(`opens ${op.lot.category} lots (priority ${op.lot.priority})${expiry}`);
  }
  for (const limit of op.limits) {
    parts.push(`at most ${limit.max_count ?? ''}${limit.max_amount ?? ''} per ${limit.window}`);
  }
  return parts.join(' · ');
}

/** Readiness and metrics apart: a slow scrape must not hold back the outage banner. */
function poll() {
  get('/readyz', { auth: false, answers: [503] }).then(
    (ready) => readiness(ready.body),
    (e) => onOutage(['service'], e instanceof ApiError ? e.message : 'no answer'),
  );
  get('/metrics', { auth: false }).then((metrics) => figures(parse(metrics.text)), () => {});
}

function readiness(body) {
  const down = [];
  if (body.event_store !== 'ok' || body.migrations !== 'current') down.push('event_store');
  if (body.writer !== 'running') down.push('writer');
  if (body.read_model !== 'ok') down.push('read_model');
  if (!['connected', 'in-process'].includes(body.bus)) down.push('bus');
  onOutage(down, down.map((part) => `${part}: ${body[part] ?? 'unavailable'}`).join(' · '));
  fill(
    $('readiness'),
    ['event_store', 'migrations', 'writer', 'read_model', 'bus'].map((part) =>
      el('div', {}, el('dt', {}, part), el('dd', { class: down.includes(part) ? 'bad' : 'good' }, body[part]))),
  );
}

/** Prometheus text → Map of `name{labels}` → number. */
function parse(text) {
  const samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    samples.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return samples;
}

function figures(samples) {
  const now = performance.now();
  const gauge = (name) => samples.get(name) ?? null;
  push('backlog', gauge('ledgerflow_outbox_backlog'));
  push('pending', gauge('ledgerflow_consumer_pending'));
  if (previous) {
    const delta = (name) => (samples.get(name) ?? 0) - (previous.samples.get(name) ?? 0);
    const seconds = (now - previous.at) / 1000;
    const commands = delta(`${BATCH}_sum`);
    const batches = delta(`${BATCH}_count`);
    push('rate', commands / seconds);
    push('batch', batches > 0 ? commands / batches : null);
    const lag = bucketsDelta(samples, previous.samples, LAG);
    push('lag50', quantile(lag, 0.5));
    push('lag99', quantile(lag, 0.99));
  }
  previous = { at: now, samples };
  draw();
}

function push(name, value) {
  const list = series[name];
  list.push(value);
  if (list.length > KEEP) list.shift();
}

/** The histogram's observations between two scrapes: [[upper bound, cumulative count]]. */
function bucketsDelta(now, before, name) {
  const out = [];
  for (const [key, value] of now) {
    const m = key.match(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\}$`));
    if (m) out.push([m[1] === '+Inf' ? Infinity : Number(m[1]), value - (before.get(key) ?? 0)]);
  }
  return out.sort((a, b) => a[0] - b[0]);
}

/** The upper bound of the bucket holding quantile `q`, or null without observations. */
function quantile(buckets, q) {
  const total = buckets.length ? buckets[buckets.length - 1][1] : 0;
  if (total <= 0) return null;
  const found = buckets.find(([, count]) => count >= q * total);
  return found && Number.isFinite(found[0]) ? found[0] : null;
}

function draw() {
  const last = (name) => series[name][series[name].length - 1];
  const ms = (v) => (v === null || v === undefined ? '—' : `≤ ${Math.round(v * 1000)} ms`);
  const num = (v, digits = 0) => (v === null || v === undefined ? '—' : v.toFixed(digits));
  chart('chart-lag', [series.lag50, series.lag99], `${ms(last('lag50'))} / ${ms(last('lag99'))}`);
  chart('chart-backlog', [series.backlog], num(last('backlog')));
  chart('chart-pending', [series.pending], num(last('pending')));
  chart('chart-rate', [series.rate], `${num(last('rate'))} /s`);
  chart('chart-batch', [series.batch], num(last('batch'), 1));
}

function chart(id, lines, value) {
  if ($('health').hidden) return;
  sparkline($(id), lines);
  $(id).parentElement.querySelector('.value').textContent = value;
}
