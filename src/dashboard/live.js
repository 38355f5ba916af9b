// The live list: the app's entries as the event stream announces them, newest first. At
// the bench's rates hundreds of events arrive per frame, so events only queue when they
// arrive, and the DOM changes at most once per animation frame.

import { $, clock, el, entryHash } from './view.js';

/** Entries the list holds; older ones drop off the end. */
export const HOLD = 500;
/**
 * Rows drawn while the list runs. At the bench's rates the newest hundred are replaced
 * several times a second, so more rows are only work for the browser; paused, the list
 * draws all it holds.
 */
const DRAWN_LIVE = 100;

const items = []; // newest first, at most HOLD
let fresh = []; // arrived since the last frame, oldest first
let paused = false;
let missed = 0; // arrived while paused
let scheduled = false;
let filters = { operation: '', owner: '', state: '' };

/** Takes a chunk of stream events; only entries are listed. */
export function receive(events) {
  for (const { type, event } of events) {
    if (type === 'entry.completed' || type === 'entry.failed') fresh.push(event.data);
  }
  if (fresh.length > 0) schedule();
}

export function setup() {
  const read = () => {
    filters = {
      operation: $('filter-operation').value.trim(),
      owner: $('filter-owner').value.trim(),
      state: $('filter-state').value,
    };
    redraw();
  };
  for (const id of ['filter-operation', 'filter-owner', 'filter-state']) {
    $(id).addEventListener('input', read);
  }
  $('live-pause').addEventListener('click', () => {
    paused = !paused;
    $('live-pause').setAttribute('aria-pressed', String(paused));
    $('live-pause').textContent = paused ? 'Resume' : 'Pause';
    missed = 0;
    redraw();
  });
  $('live-rows').addEventListener('click', (e) => {
    const tr = e.target.closest('tr.entry-row');
    if (tr) location.hash = entryHash(tr.dataset.entryId);
  });
}

/** Forgets everything (sign-out). */
export function clear() {
  items.length = 0;
  fresh = [];
  missed = 0;
  $('live-rows').replaceChildren();
  count();
}

function schedule() {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(frame);
}

function frame() {
  scheduled = false;
  const arrived = fresh.reverse().slice(0, HOLD);
  fresh = [];
  items.unshift(...arrived);
  const dropped = new Set(items.splice(HOLD).map((e) => e.id));
  if (paused) {
    missed += arrived.length;
  } else {
    show(arrived.filter(admits).slice(0, DRAWN_LIVE), dropped);
  }
  count();
}

/** New rows on top; rows of entries no longer held leave at the bottom, where they are. */
function show(entries, dropped) {
  const body = $('live-rows');
  const rows = document.createDocumentFragment();
  for (const entry of entries) rows.append(rowOf(entry));
  body.prepend(rows);
  while (body.childElementCount > DRAWN_LIVE) body.lastElementChild.remove();
  while (body.lastElementChild && dropped.has(body.lastElementChild.dataset.entryId)) {
    body.lastElementChild.remove();
  }
}

function redraw() {
  const body = $('live-rows');
  const shown = items.filter(admits);
  body.replaceChildren(...shown.slice(0, paused ? HOLD : DRAWN_LIVE).map(rowOf));
  count();
}

function admits(entry) {
  return (
    (!filters.operation || entry.operation === filters.operation) &&
    (!filters.owner || entry.owner_id === filters.owner || entry.counterparty_id === filters.owner) &&
    (!filters.state || entry.state === filters.state)
  );
}

function rowOf(entry) {
  return el(
    'tr',
    { class: 'entry-row', 'data-entry-id': entry.id, 'data-state': entry.state },
    el('td', { class: 'time' }, clock(entry.created_at)),
    el('td', { class: 'operation' }, entry.operation),
    el('td', { class: 'owner' }, entry.owner_id),
    el('td', { class: 'amount num' }, entry.amount),
    el('td', { class: `state state-${entry.state}` }, entry.state),
    el('td', { class: 'failure-code' }, entry.failure_code ?? ''),
  );
}

function count() {
  const shown = $('live-rows').childElementCount;
  const note = paused ? ` · paused, ${missed} new not shown` : ' · pause to see them all';
  $('live-count').textContent = `${shown} shown of the last ${items.length} held${note}`;
}
