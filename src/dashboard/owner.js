// One owner's account in one asset: its figures as the API states them, its open lots and
// holds counting down, the balance over time from its history, the exact balance at any
// instant (a time-travel read), the history in pages, and the audit of its hash chain.

import { get, segment } from './api.js';
import { stepChart } from './chart.js';
import { $, clock, countdown, el, entryHash, fill, link, ownerHash, row } from './view.js';

const PAGE = 50;

let current = null; // {owner, asset, points, next}
let pointerTimer = null;

export function setup() {
  $('owner-form').addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = ownerHash($('owner-input').value.trim(), $('owner-asset').value.trim() || 'CREDIT');
  });
  $('owner-history-more').addEventListener('click', () => more());
  $('audit-run').addEventListener('click', () => audit());
  setInterval(tick, 1000);
}

export async function open(owner, asset) {
  $('owner-input').value = owner;
  $('owner-asset').value = asset;
  if (!owner) {
    current = null;
    $('owner-body').hidden = true;
    return;
  }
  current = { owner, asset, points: [], next: null };
  const mine = current;
  $('owner-body').hidden = false;
  $('owner-title').textContent = `${owner} · ${asset}`;
  $('owner-error').textContent = '';
  for (const figure of ['balance', 'available', 'held', 'status', 'version']) {
    $(`owner-${figure}`).textContent = '…';
  }
  $('audit-result').textContent = '';
  $('audit-result').removeAttribute('data-intact');
  fill($('owner-history'), []);
  try {
    await Promise.all([figures(mine), holds(mine), more(mine)]);
  } catch (e) {
    if (mine === current) $('owner-error').textContent = `cannot read this account: ${e.message}`;
  }
}

function base(of) {
  return `/v1/accounts/${segment(of.owner)}`;
}

function assetQuery(of) {
  return `asset=${encodeURIComponent(of.asset)}`;
}

async function figures(of) {
  const { body } = await get(`${base(of)}?${assetQuery(of)}`);
  if (of !== current) return;
  of.account = body;
  $('owner-balance').textContent = body.balance;
  $('owner-available').textContent = body.available;
  $('owner-held').textContent = body.held;
  $('owner-status').textContent = body.status ?? '';
  $('owner-version').textContent = body.version;
  fill(
    $('owner-lots'),
    (body.lots ?? []).map((lot) =>
      el('tr', { class: 'lot' },
        el('td', { class: 'mono' }, lot.id),
        el('td', { class: 'num' }, lot.remaining),
        el('td', {}, lot.category),
        el('td', {}, lot.expires_at ?? 'never'),
        el('td', { class: 'countdown', 'data-expires': lot.expires_at ?? '' },
          lot.expires_at ? countdown(lot.expires_at) : '—')),
    ),
  );
  draw(of);
}

async function holds(of) {
  const { body } = await get(`${base(of)}/holds?state=held&${assetQuery(of)}`);
  if (of !== current) return;
  fill(
    $('owner-holds'),
    body.holds.map((h) =>
      el('tr', { class: 'hold' },
        el('td', { class: 'mono' }, h.id),
        el('td', { class: 'num' }, h.amount),
        el('td', {}, h.expires_at),
        el('td', { class: 'countdown', 'data-expires': h.expires_at }, countdown(h.expires_at))),
    ),
  );
}

/** The next page of the history; its postings add points to the chart. */
async function more(of = current) {
  if (!of) return;
  const cursor = of.next ? `&cursor=${encodeURIComponent(of.next)}` : '';
  const { body } = await get(`${base(of)}/entries?limit=${PAGE}&${assetQuery(of)}${cursor}`);
  if (of !== current) return;
  of.next = body.next_cursor ?? null;
  $('owner-history-more').hidden = of.next === null;
  const rows = [];
  for (const entry of body.entries) {
    const mine = entry.postings.filter((p) => p.owner_id === of.owner && p.asset === of.asset);
    for (const p of mine) {
      of.points.push({ t: Date.parse(p.recorded_at), v: Number(p.balance_after),
        label: `v${p.version} · ${p.balance_after} at ${p.recorded_at}` });
    }
    const last = mine[mine.length - 1];
    rows.push(row({ class: 'history-row', 'data-entry-id': entry.id }, [
      ['time', clock(entry.created_at)],
      ['operation', entry.operation],
      ['amount num', last ? last.amount : entry.amount],
      [`state state-${entry.state}`, entry.state],
      ['balance-after num', last ? last.balance_after : ''],
    ]));
    rows[rows.length - 1].append(el('td', {}, link(entryHash(entry.id), entry.id)));
  }
  $('owner-history').append(...rows);
  draw(of);
}

function draw(of) {
  if (!of.account) return;
  const points = [...of.points].sort((a, b) => a.t - b.t);
  // With the whole history read, the account started at zero just before its first posting.
  if (of.next === null && points.length > 0 && points[0].label.startsWith('v1 ')) {
    points.unshift({ t: points[0].t - 1, v: 0, label: 'opened at 0' });
  }
  points.push({ t: Date.now(), v: Number(of.account.balance), label: `now · ${of.account.balance}` });
  stepChart($('owner-chart'), points, (t) => pointAt(of, t));
}

/** The exact balance at `t`, read from the event store, once the pointer rests. */
function pointAt(of, t) {
  clearTimeout(pointerTimer);
  pointerTimer = setTimeout(async () => {
    const at = new Date(t).toISOString();
    try {
      const { body } = await get(`${base(of)}?${assetQuery(of)}&at=${encodeURIComponent(at)}`);
      if (of !== current) return;
      const out = $('owner-pointer');
      out.dataset.at = at;
      out.dataset.balance = body.balance;
      out.textContent = `at ${at}: balance ${body.balance}, available ${body.available}, held ${body.held} (version ${body.version})`;
    } catch (e) {
      $('owner-pointer').textContent = `cannot read the balance at ${at}: ${e.message}`;
    }
  }, 120);
}

async function audit() {
  if (!current) return;
  const of = current;
  const out = $('audit-result');
  out.textContent = 'checking…';
  out.removeAttribute('data-intact');
  try {
    const { body } = await get(`${base(of)}/audit?${assetQuery(of)}`);
    if (of !== current) return;
    out.dataset.intact = String(body.intact);
    out.textContent = body.intact
      ? `intact: ${body.postings} postings, head ${body.head_hash}`
      : `broken at v${body.broken_at}: ${body.differs}`;
  } catch (e) {
    out.textContent = `cannot audit: ${e.message}`;
  }
}

/** Countdowns move every second; when one reaches its instant, the figures are read again. */
function tick() {
  if (!current || $('owner').hidden) return;
  let ended = false;
  for (const cell of document.querySelectorAll('#owner .countdown[data-expires]')) {
    if (!cell.dataset.expires) continue;
    const text = countdown(cell.dataset.expires);
    if (text === 'expired' && cell.textContent !== 'expired') ended = true;
    cell.textContent = text;
  }
  if (ended) Promise.all([figures(current), holds(current)]).catch(() => {});
}
