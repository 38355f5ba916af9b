// One entry: its path through the workflow, drawn over the state machine, its postings
// with their versions and hashes, and the entries, holds and lots it links to.

import { ApiError, get, segment } from './api.js';
import { $, el, entryHash, fill, link, ownerHash, row, svgEl } from './view.js';

// The workflow's states and where the diagram draws them (ledger::state::EntryState).
const STATES = [
  ['received', 60, 40],
  ['validating', 190, 40],
  ['nonce_check', 320, 40],
  ['balance_check', 450, 40],
  ['processing', 580, 40],
  ['completed', 700, 40],
  ['failed', 450, 120],
];
const EDGES = [
  ['received', 'validating'],
  ['validating', 'nonce_check'],
  ['nonce_check', 'balance_check'],
  ['balance_check', 'processing'],
  ['processing', 'completed'],
  ['validating', 'failed'],
  ['nonce_check', 'failed'],
  ['balance_check', 'failed'],
  ['processing', 'failed'],
];

let shown = null; // the id on screen, so that a late answer for another is dropped

export async function open(id) {
  shown = id;
  $('entry-id').textContent = id;
  $('entry-summary').textContent = 'loading…';
  for (let attempt = 0; ; attempt += 1) {
    try {
      const { body } = await get(`/v1/entries/${segment(id)}`);
      if (shown === id) render(body);
      return;
    } catch (e) {
      // Just announced entries can be a moment ahead of the read model.
      const notYet = e instanceof ApiError && e.status === 404 && attempt < 5;
      if (!notYet || shown !== id) {
        if (shown === id) failed(e);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
}

function failed(e) {
  $('entry-summary').textContent = `cannot show this entry: ${e.message} (${e.code ?? 'error'})`;
  for (const id of ['entry-timeline', 'entry-postings', 'entry-links']) $(id).replaceChildren();
  $('entry-diagram').replaceChildren();
  $('entry-raw').textContent = '';
}

function render(entry) {
  const failure = entry.failure_code ? ` · ${entry.failure_code}: ${entry.failure_detail ?? ''}` : '';
  $('entry-summary').replaceChildren(
    el('span', { class: `state state-${entry.state}` }, entry.state),
    ` ${entry.operation} of ${entry.amount} ${entry.asset} by `,
    link(ownerHash(entry.owner_id, entry.asset), entry.owner_id),
    entry.counterparty_id ? ' to ' : '',
    entry.counterparty_id ? link(ownerHash(entry.counterparty_id, entry.asset), entry.counterparty_id) : '',
    failure,
  );
  diagram(entry.transitions.map((t) => t.state));
  timeline(entry.transitions);
  fill(
    $('entry-postings'),
    entry.postings.map((p) =>
      row({ class: 'posting' }, [
        ['owner', p.owner_id],
        ['asset', p.asset],
        ['version num', p.version],
        ['amount num', p.amount],
        ['balance-after num', p.balance_after],
        ['recorded', p.recorded_at],
        ['hash mono', p.hash],
      ]),
    ),
  );
  fill($('entry-links'), links(entry));
  $('entry-raw').textContent = JSON.stringify(entry, null, 2);
}

function diagram(path) {
  const visited = new Set(path);
  const stepped = new Set(path.slice(1).map((state, i) => `${path[i]}>${state}`));
  const at = Object.fromEntries(STATES.map(([s, x, y]) => [s, [x, y]]));
  const nodes = [
    svgEl('defs', {}, svgEl('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5,
      markerWidth: 6, markerHeight: 6, orient: 'auto-start-reverse' },
    svgEl('path', { d: 'M 0 0 L 10 5 L 0 10 z' }))),
  ];
  for (const [from, to] of EDGES) {
    const [[x1, y1], [x2, y2]] = [at[from], at[to]];
    const taken = stepped.has(`${from}>${to}`);
    const [dx, dy] = y1 === y2 ? [55, 0] : [0, 18];
    nodes.push(svgEl('line', { class: taken ? 'edge taken' : 'edge', x1: x1 + dx, y1: y1 + dy,
      x2: y1 === y2 ? x2 - 55 : x2 + (x1 - x2) * 0.15, y2: y2 - (y1 === y2 ? 0 : 16),
      'marker-end': 'url(#arrow)' }));
  }
  for (const [state, x, y] of STATES) {
    const cls = ['state', state === 'failed' ? 'end-failed' : '', visited.has(state) ? 'visited' : '']
      .filter(Boolean).join(' ');
    nodes.push(svgEl('g', { class: cls, 'data-state': state },
      svgEl('rect', { x: x - 55, y: y - 16, width: 110, height: 32, rx: 8 }),
      svgEl('text', { x, y: y + 5, 'text-anchor': 'middle' }, state)));
  }
  fill($('entry-diagram'), nodes);
}

function timeline(transitions) {
  let before = null;
  fill(
    $('entry-timeline'),
    transitions.map((t) => {
      const at = new Date(t.at).getTime();
      const step = before === null ? '' : ` (+${Math.max(0, at - before)} ms)`;
      before = at;
      return el('li', { class: 'transition', 'data-state': t.state },
        el('strong', {}, t.state), ` ${t.at}${step}`);
    }),
  );
}

/** What the entry points to, and what points to it. */
function links(entry) {
  const items = [
    el('li', {}, `nonce ${entry.nonce}: posting it again with the same request answers this entry`,
      ' (header Idempotent-Replay: true); with another request it is refused, 409 nonce_reused.'),
  ];
  const add = (label, ...nodes) => items.push(el('li', {}, `${label} `, ...nodes));
  if (entry.reverses) add('reverses', link(entryHash(entry.reverses), entry.reverses));
  for (const id of entry.reversals ?? []) add('reversed by', link(entryHash(id), id));
  if (entry.reversed_amount) add('reversed so far', entry.reversed_amount);
  if (entry.hold_id) add('hold', el('code', {}, entry.hold_id), ' · ',
    link(ownerHash(entry.owner_id, entry.asset), 'the owner’s open holds'));
  if (entry.lot) add('opened lot', el('code', {}, entry.lot.id), lotText(entry.lot));
  for (const a of entry.allocations ?? []) add('drew', `${a.amount} from lot `, el('code', {}, a.lot_id));
  for (const lot of entry.counterparty_lots ?? []) {
    add('opened for the counterparty lot', el('code', {}, lot.id), lotText(lot));
  }
  return items;
}

function lotText(lot) {
  const expiry = lot.expires_at ? `expires ${lot.expires_at}` : 'never expires';
  return ` · ${lot.amount} ${lot.category}, ${expiry}, now ${lot.status}`;
}
