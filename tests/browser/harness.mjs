// What the walk stands on: its settings, waiting, the service's API, the line protocol with
// the Rust test that started it, and the checks that hold throughout (no foreign request,
// no console error).

import { createInterface } from 'node:readline';

/** A failed expectation of the walk: its message is the test's verdict. */
export class WalkError extends Error {}

export function check(condition, message) {
  if (!condition) throw new WalkError(message);
}

/** The settings the Rust test passes; any missing one is a harness bug, said plainly. */
export function settings() {
  const read = (name) => {
    const value = process.env[name];
    check(value, `${name} is not set: run this script through tests/it/dashboard.rs`);
    return value;
  };
  const mode = read('LEDGERFLOW_MODE');
  check(['embedded', 'bus'].includes(mode), `LEDGERFLOW_MODE must be embedded or bus, not ${mode}`);
  return {
    base: read('LEDGERFLOW_URL').replace(/\/$/, ''),
    key: read('LEDGERFLOW_KEY'),
    mode,
    shots: read('LEDGERFLOW_SHOTS'),
  };
}

/**
 * Runs `probe` until it returns without throwing and with a value other than false, at most
 * `timeout` ms. A probe says what it saw by throwing (see `check`); the last such message
 * ends the timeout's error, so a failure tells what was expected and what was there.
 */
export async function waitUntil(what, probe, timeout = 5000) {
  const deadline = Date.now() + timeout;
  let seen = 'nothing yet';
  for (;;) {
    try {
      const value = await probe();
      if (value !== false) return value;
    } catch (e) {
      seen = e instanceof WalkError ? e.message : String(e);
    }
    if (Date.now() >= deadline) {
      throw new WalkError(`${what}: not within ${timeout} ms (last seen: ${seen})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The service's REST API, with the app's key, from Node (not the page). */
export class Api {
  constructor(base, key) {
    this.base = base;
    this.key = key;
  }

  async call(method, path, body) {
    const response = await fetch(this.base + path, {
      method,
      headers: {
        authorization: `Bearer ${this.key}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: response.status, body: json };
  }

  /** A GET that must answer 200; its body. */
  async get(path) {
    const r = await this.call('GET', path);
    check(r.status === 200, `GET ${path} answered ${r.status}: ${JSON.stringify(r.body)}`);
    return r.body;
  }

  /** A POST that must answer `status`; its body. */
  async post(path, body, status) {
    const r = await this.call('POST', path, body);
    check(
      r.status === status,
      `POST ${path} ${JSON.stringify(body)} answered ${r.status}, not ${status}: ` +
        JSON.stringify(r.body),
    );
    return r.body;
  }
}

/**
 * The Rust side's services, over stdout (`@@ request`) and stdin (`ok` or `error text`):
 * what only it can do, such as editing the database behind the service's back.
 */
export class RustSide {
  constructor() {
    this.lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  }

  async ask(request) {
    process.stdout.write(`@@ ${request}\n`);
    const { value, done } = await this.lines.next();
    check(!done, `the Rust side closed stdin instead of answering "${request}"`);
    check(value === 'ok', `the Rust side could not "${request}": ${value}`);
  }
}

/**
 * Watches the page for what must never happen: a request to anywhere but the service, a
 * console error or an uncaught exception. The browser's own "Failed to load resource …"
 * line is let through only for the status a step provokes on purpose (`expectStatus`).
 */
export class Hygiene {
  constructor(page, base) {
    this.host = new URL(base).host;
    // The status a step provokes on purpose (a revoked key's 401, an outage's 503), whose
    // "Failed to load resource" line the browser logs as an error.
    this.expectStatus = null;
    this.problems = [];
    page.on('request', (request) => this.request(request.url()));
    page.on('console', (message) => {
      if (message.type() === 'error') this.consoleError(message.text());
    });
    page.on('pageerror', (error) => this.problems.push(`uncaught in the page: ${error.stack}`));
  }

  request(url) {
    const parsed = new URL(url);
    if (parsed.protocol === 'data:') return;
    if (parsed.host !== this.host || !parsed.protocol.startsWith('http')) {
      this.problems.push(`a request to ${url}, not to the service at ${this.host}`);
    }
  }

  consoleError(text) {
    const failed = text.match(/Failed to load resource.*\b(\d{3})\b/);
    const expected = failed !== null && Number(failed[1]) === this.expectStatus;
    if (!expected) this.problems.push(`console error: ${text}`);
  }

  /** Fails the step that just ran if anything was seen during it. */
  assertClean(step) {
    const seen = this.problems.splice(0);
    check(seen.length === 0, `during "${step}":\n  ${seen.join('\n  ')}`);
  }
}
