// Reading the dashboard's page through its DOM contract: the ids, classes and data-
// attributes the page promises a test. Everything here reads without waiting; the walk's
// steps decide how long to wait.

import { check, waitUntil } from './harness.mjs';

export const visible = (page, selector) => page.locator(selector).first().isVisible();

export const attr = (page, selector, name) =>
  page.evaluate(([s, n]) => document.querySelector(s)?.getAttribute(n) ?? null, [selector, name]);

export const text = (page, selector) =>
  page.evaluate((s) => document.querySelector(s)?.textContent.trim() ?? null, selector);

export const hash = (page) => page.evaluate(() => location.hash);

/** Waits (5 s) until `selector` is visible. */
export async function shown(page, selector, what) {
  await waitUntil(what, async () => check(await visible(page, selector), `${selector} is hidden`));
}

/** Waits (5 s) until the page is signed in, or signed out (`#signin` and `#app` swap). */
export async function signedIn(page, yes, what) {
  const [on, off] = yes ? ['#app', '#signin'] : ['#signin', '#app'];
  await waitUntil(what, async () => {
    check(await visible(page, on), `${on} is hidden`);
    check(!(await visible(page, off)), `${off} is still visible`);
  });
}

/** The live list's row of entry `id`, or null. */
export function liveRow(page, id) {
  return page.evaluate((id) => {
    const row = document.querySelector(`#live-rows tr.entry-row[data-entry-id="${id}"]`);
    if (!row) return null;
    const cell = (c) => row.querySelector(`td.${c}`);
    return {
      state: row.dataset.state,
      operation: cell('operation')?.textContent.trim(),
      owner: cell('owner')?.textContent.trim(),
      stateClass: cell('state')?.className ?? '',
      failure: cell('failure-code')?.textContent.trim() ?? '',
    };
  }, id);
}

/** The entry ids of the live list, top to bottom. */
export const liveOrder = (page) =>
  page.$$eval('#live-rows tr.entry-row', (rows) => rows.map((r) => r.dataset.entryId));

/** The states of the entry's timeline, in order. */
export const timeline = (page) =>
  page.$$eval('#entry-timeline li.transition', (items) => items.map((li) => li.dataset.state));

/** The entry's postings as "owner vN", sorted. */
export async function postings(page) {
  const rows = await page.$$eval('#entry-postings tr.posting', (trs) =>
    trs.map((tr) => {
      const owner = tr.querySelector('td.owner')?.textContent.trim();
      const version = tr.querySelector('td.version')?.textContent.replace(/\D/g, '');
      return `${owner} v${version}`;
    }),
  );
  return rows.sort();
}

/** What `#owner-pointer` says: `{at, balance, text}`, or null. */
export const pointer = (page) =>
  page.evaluate(() => {
    const el = document.querySelector('#owner-pointer');
    return el && { at: el.dataset.at, balance: el.dataset.balance, text: el.textContent.trim() };
  });

/** Where the page keeps things: sessionStorage's and localStorage's entries. */
export const storage = (page) =>
  page.evaluate(() => ({
    session: Object.entries(sessionStorage),
    local: Object.entries(localStorage),
  }));
