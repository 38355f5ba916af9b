// The auditor dashboard walked in headless Chromium, as a person would, against a running
// service. Started by tests/it/dashboard.rs, which passes LEDGERFLOW_URL, LEDGERFLOW_KEY,
// LEDGERFLOW_MODE (embedded | bus) and LEDGERFLOW_SHOTS, and serves the `@@` requests.
// Each step fails with what it expected and what the page showed instead.

import { chromium } from 'playwright-core';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Api, Hygiene, RustSide, WalkError, check, settings, waitUntil } from './harness.mjs';
import * as dom from './dom.mjs';

const cfg = settings();
const api = new Api(cfg.base, cfg.key);
const rust = new RustSide();
const run = `${cfg.mode}-${Date.now().toString(36)}`;
const owner = `walk-${run}`;
const ownerPath = `/v1/accounts/${encodeURIComponent(owner)}`;
const log = (line) => process.stdout.write(`${line}\n`);
const json = (value) => JSON.stringify(value);

const LAUNCH = {
  executablePath: '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
  viewport: { width: 1280, height: 800 },
};

// The entries the live list must show, in the order they are posted.
const POSTS = [
  { operation: 'CREDIT_ADD', amount: '100', state: 'completed' },
  { operation: 'CREDIT_ADD', amount: '25.50', state: 'completed' },
  { operation: 'CREDIT_SPEND', amount: '1000', state: 'failed', code: 'insufficient_balance' },
  { operation: 'CREDIT_SPEND', amount: '10', state: 'completed' },
];
// The owner's posting that the audit step edits behind the service's back.
const TAMPERED_VERSION = 2;

const shoot = (page, name) => page.screenshot({ path: join(cfg.shots, name) });

async function nav(page, to, section) {
  await page.click(`a[data-nav="${to}"]`);
  await dom.shown(page, section, `${section} after clicking the ${to} link`);
}

async function open({ page }) {
  const response = await page.goto(`${cfg.base}/dashboard`);
  const status = response ? response.status() : 'no response';
  await dom.shown(page, '#signin', `the sign-in form #signin at /dashboard (HTTP ${status})`);
  check(!(await dom.visible(page, '#app')), '#app is visible before signing in');
}

async function signIn({ page, context }) {
  const type = await page.getAttribute('#signin-key', 'type');
  check(type === 'password', `#signin-key is type=${type}, not a password input`);
  await page.fill('#signin-key', cfg.key);
  await page.click('#signin-submit');
  await dom.signedIn(page, true, '#app instead of #signin once signed in');
  const stored = await dom.storage(page);
  const holding = stored.session.filter(([, v]) => v.includes(cfg.key)).map(([k]) => k);
  check(
    json(holding) === '["ledgerflow.key"]',
    `the key should be in sessionStorage under ledgerflow.key only, not ${json(holding)}`,
  );
  check(stored.local.length === 0, `localStorage holds ${json(stored.local)}`);
  const cookies = await context.cookies();
  check(cookies.length === 0, `cookies were set: ${cookies.map((c) => c.name).join(', ')}`);
  check(!page.url().includes(cfg.key), `the key is in the URL ${page.url()}`);
  await waitUntil('#outage hidden while all is well', async () => {
    const down = await dom.attr(page, '#outage', 'data-down');
    check(!(await dom.visible(page, '#outage')), `#outage shows data-down="${down}"`);
  });
}

/** Posts one of POSTS: the entry as the API answered it, and when. */
async function post(p, i) {
  const body = { operation: p.operation, owner_id: owner, nonce: `${run}-${i}`, amount: p.amount };
  const r = await api.call('POST', '/v1/entries', body);
  const postedAt = Date.now();
  const answer = `${p.operation} ${p.amount} answered ${r.status} ${json(r.body)}`;
  if (p.state === 'failed') {
    check(r.status === 422 && r.body.code === p.code, answer);
    return { ...p, id: r.body.entry_id, postedAt };
  }
  check(r.status === 201 && r.body.state === p.state, answer);
  return { ...p, id: r.body.id, postedAt };
}

/** The entry's row shows within 2 s of the API's answer. */
async function appearsLive(page, entry) {
  const what = `${entry.operation} ${entry.amount} (${entry.id}) as ${entry.state} in #live-rows`;
  const left = Math.max(0, 2000 - (Date.now() - entry.postedAt));
  await waitUntil(what, async () => {
    const row = await dom.liveRow(page, entry.id);
    check(row, 'no row with that data-entry-id');
    check(row.state === entry.state, `data-state="${row.state}"`);
    check(row.operation === entry.operation, `td.operation "${row.operation}"`);
    check(row.owner === owner, `td.owner "${row.owner}"`);
    check(row.stateClass.includes(`state-${entry.state}`), `td.state class "${row.stateClass}"`);
    check(row.failure.includes(entry.code ?? ''), `td.failure-code "${row.failure}"`);
  }, left);
}

async function liveList(walk) {
  const { page } = walk;
  await nav(page, 'live', '#live');
  await waitUntil('#stream-status data-status="live"', async () => {
    const status = await dom.attr(page, '#stream-status', 'data-status');
    check(status === 'live', `data-status="${status}"`);
  }, 10000);
  walk.entries = [];
  for (const [i, p] of POSTS.entries()) {
    const entry = await post(p, i);
    await appearsLive(page, entry);
    walk.entries.push(entry);
  }
  const ids = new Set(walk.entries.map((e) => e.id));
  const ours = (await dom.liveOrder(page)).filter((id) => ids.has(id));
  const newestFirst = walk.entries.map((e) => e.id).reverse();
  check(json(ours) === json(newestFirst), `rows not newest first: ${ours.join(', ')}`);
  await shoot(page, 'live.png');
}

async function openEntry(walk) {
  const { page } = walk;
  const spend = walk.entries.find((e) => e.operation === 'CREDIT_SPEND' && e.state === 'completed');
  await page.click(`#live-rows tr.entry-row[data-entry-id="${spend.id}"]`);
  await waitUntil(`#/entries/${spend.id} after clicking its row`, async () => {
    const at = await dom.hash(page);
    check(at === `#/entries/${spend.id}`, `location.hash is ${at}`);
    check(await dom.visible(page, '#entry'), '#entry is hidden');
  });
  const expected = await api.get(`/v1/entries/${spend.id}`);
  const states = expected.transitions.map((t) => t.state);
  await waitUntil("#entry-timeline shows the API's transitions", async () => {
    const shown = await dom.timeline(page);
    check(json(shown) === json(states), `${shown.join(' → ')}, not ${states.join(' → ')}`);
  });
  const apiPostings = expected.postings.map((p) => `${p.owner_id} v${p.version}`).sort();
  check(apiPostings.length === 2, `the API gave ${apiPostings.length} postings`);
  const shownPostings = await dom.postings(page);
  check(
    json(shownPostings) === json(apiPostings),
    `#entry-postings shows ${shownPostings.join(', ')}; the API ${apiPostings.join(', ')}`,
  );
  for (const state of states) {
    const selector = `#entry-diagram g.state[data-state="${state}"]`;
    const cls = await dom.attr(page, selector, 'class');
    check(cls?.split(/\s+/).includes('visited'), `${selector} has class "${cls}", not visited`);
  }
  await shoot(page, 'entry.png');
}

async function openOwner(page) {
  await nav(page, 'owner', '#owner-form');
  await page.fill('#owner-input', owner);
  await page.$eval('#owner-form', (form) => form.requestSubmit());
  await waitUntil(`#/owners/${owner} after submitting #owner-form`, async () => {
    const at = await dom.hash(page);
    check(at.startsWith(`#/owners/${encodeURIComponent(owner)}`), `location.hash is ${at}`);
    check(await dom.visible(page, '#owner'), '#owner is hidden');
  });
}

/** Waits until the owner's `fields` on the page are the API's; `also` checks the API's. */
async function figuresMatch(page, fields, also = () => {}) {
  const what = `${fields.map((f) => `#owner-${f}`).join(', ')} as GET ${ownerPath} says`;
  await waitUntil(what, async () => {
    const account = await api.get(ownerPath);
    also(account);
    for (const f of fields) {
      const onPage = await dom.text(page, `#owner-${f}`);
      check(onPage === account[f], `#owner-${f} "${onPage}", the API "${account[f]}"`);
    }
  });
}

async function pointAtChart(page) {
  const box = await page.locator('#owner-chart').boundingBox();
  check(box, '#owner-chart has no box: is it hidden?');
  // One move, then the pointer rests as a reader's would: the page asks for the balance at
  // that instant only once it does.
  await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2, { steps: 5 });
  return waitUntil('#owner-pointer filled once the mouse rests over #owner-chart', async () => {
    const p = await dom.pointer(page);
    check(p?.at && p.balance && p.text, `#owner-pointer is ${json(p)}`);
    return p;
  }, 3000);
}

async function lookUpOwner({ page }) {
  const hold = { operation: 'CREDIT_SPEND', owner_id: owner, nonce: `${run}-hold`, amount: '20' };
  const held = await api.post('/v1/holds', { ...hold, expires_in_seconds: 600 }, 201);
  check(held.state === 'held', `the hold is ${held.state}`);
  await openOwner(page);
  await figuresMatch(page, ['balance', 'available', 'held'], (account) =>
    check(Number(account.held) > 0, `the API's held is still ${account.held}`),
  );
  await waitUntil('#owner-chart has a circle.point', async () => {
    check((await page.locator('#owner-chart circle.point').count()) > 0, 'no circle.point');
  });
  const p = await pointAtChart(page);
  const then = await api.get(`${ownerPath}?at=${encodeURIComponent(p.at)}`);
  const apiSays = `the API ${then.balance}`;
  check(then.balance === p.balance, `#owner-pointer: ${p.balance} at ${p.at}, ${apiSays}`);
  await shoot(page, 'owner.png');
}

async function auditSays(page, intact, what, textOk = () => true) {
  await waitUntil(what, async () => {
    const flag = await dom.attr(page, '#audit-result', 'data-intact');
    const said = await dom.text(page, '#audit-result');
    check(flag === String(intact) && textOk(said ?? ''), `data-intact="${flag}", "${said}"`);
  });
}

async function audit({ page }) {
  await page.click('#audit-run');
  await auditSays(page, true, '#audit-result intact');
  await rust.ask(`tamper ${owner} ${TAMPERED_VERSION}`);
  await page.click('#audit-run');
  const namesIt = (said) => new RegExp(`\\bv${TAMPERED_VERSION}\\b`).test(said);
  await auditSays(page, false, `#audit-result broken at v${TAMPERED_VERSION}`, namesIt);
}

async function busOutage({ page }) {
  const cut = Date.now();
  await rust.ask('cut-bus');
  await waitUntil('#outage shows the bus down', async () => {
    check(await dom.visible(page, '#outage'), '#outage is hidden');
    const down = (await dom.attr(page, '#outage', 'data-down')) ?? '';
    check(down.split(/\s+/).includes('bus'), `data-down="${down}"`);
    check(await dom.text(page, '#outage'), '#outage has no text');
  }, 10000);
  log(`     #outage showed the bus down ${Date.now() - cut} ms after the cut`);
  await nav(page, 'live', '#live');
  await openOwner(page);
  await figuresMatch(page, ['balance']);
  await rust.ask('restore-bus');
  const restored = Date.now();
  await waitUntil('#outage hides once the bus is back', async () => {
    const down = await dom.attr(page, '#outage', 'data-down');
    check(!(await dom.visible(page, '#outage')), `data-down="${down}"`);
  }, 30000);
  log(`     #outage hid ${Date.now() - restored} ms after the bus came back`);
}

async function readModelOutage({ page, hygiene }) {
  hygiene.expectStatus = 503;
  const cut = Date.now();
  await rust.ask('cut-read-model');
  await waitUntil('#outage shows the read model down', async () => {
    const down = (await dom.attr(page, '#outage', 'data-down')) ?? '';
    check(down.split(/\s+/).includes('read_model'), `data-down="${down}"`);
  }, 10000);
  log(`     #outage showed the read model down ${Date.now() - cut} ms after the cut`);
  // The live list keeps what it has, and a read the read model cannot answer says so in
  // time instead of hanging or blanking the page.
  await nav(page, 'live', '#live');
  check((await page.locator('tr.entry-row').count()) >= POSTS.length, 'the live list emptied');
  await openOwner(page);
  await waitUntil('#owner-error says the account cannot be read', async () => {
    const said = (await dom.text(page, '#owner-error')) ?? '';
    check(said.includes('cannot read'), `#owner-error is "${said}"`);
  }, 10000);
  await rust.ask('restore-read-model');
  await waitUntil('#outage hides once the read model is back', async () => {
    check(!(await dom.visible(page, '#outage')), 'it is still shown');
  }, 30000);
  await nav(page, 'live', '#live');
  await openOwner(page);
  await figuresMatch(page, ['balance', 'available', 'held']);
  hygiene.assertClean('read model outage');
  hygiene.expectStatus = null;
}

async function signOut({ page, context }) {
  await page.click('#signout');
  await dom.signedIn(page, false, '#signin instead of #app after signing out');
  const left = await dom.storage(page);
  check(left.session.length === 0, `sessionStorage still holds ${json(left.session)}`);
  check(left.local.length === 0, `localStorage holds ${json(left.local)}`);
  const cookies = await context.cookies();
  check(cookies.length === 0, `cookies: ${cookies.map((c) => c.name).join(', ')}`);
}

async function revokedKey(walk) {
  const { page, hygiene } = walk;
  await signIn(walk);
  // Away from the owner first, so that going to it is a hash change the page acts upon.
  await nav(page, 'live', '#live');
  hygiene.expectStatus = 401;
  await rust.ask('revoke');
  await page.evaluate((o) => {
    location.hash = `#/owners/${encodeURIComponent(o)}`;
  }, owner);
  await dom.signedIn(page, false, 'the session ends at the first request with the revoked key');
  check(await dom.text(page, '#signin-error'), '#signin-error does not say why the session ended');
  const key = await page.evaluate(() => sessionStorage.getItem('ledgerflow.key'));
  check(key === null, 'the revoked key is still in sessionStorage');
  // Requests in flight at the revocation may still log their 401 a moment later.
  await page.waitForTimeout(500);
  hygiene.assertClean('revoked key ends the session');
  hygiene.expectStatus = null;
}

/** A signed-out page makes no more failing requests. */
async function quiet({ page }) {
  await page.waitForTimeout(1000);
}

const STEPS = [
  ['open the dashboard', open],
  ['sign in', signIn],
  ['live list', liveList],
  ['open an entry', openEntry],
  ['look up the owner', lookUpOwner],
  ['audit', audit],
  ...(cfg.mode === 'bus' ? [['bus outage', busOutage], ['read model outage', readModelOutage]] : []),
  ['sign out', signOut],
  ['revoked key ends the session', revokedKey],
  ['quiet once signed out', quiet],
];

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'ledgerflow-walk-'));
  let context;
  let step = 'launch Chromium';
  try {
    context = await chromium.launchPersistentContext(dir, LAUNCH);
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(5000);
    const walk = { page, context, hygiene: new Hygiene(page, cfg.base) };
    const version = context.browser()?.version() ?? '';
    log(`walk: ${cfg.mode} mode, ${cfg.base}, owner ${owner}, Chromium ${version}`);
    for (const [name, act] of STEPS) {
      step = name;
      const started = Date.now();
      await act(walk);
      walk.hygiene.assertClean(name);
      log(`ok   ${name} (${Date.now() - started} ms)`);
    }
    log(`walk passed: ${STEPS.length} steps`);
    return 0;
  } catch (e) {
    log(`FAIL ${step}: ${e instanceof WalkError ? e.message : e.stack}`);
    const page = context?.pages()[0];
    await page?.screenshot({ path: join(cfg.shots, 'failure.png') }).catch(() => {});
    return 1;
  } finally {
    await context?.close().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}

process.exit(await main());
