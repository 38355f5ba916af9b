// The app's event stream (Server-Sent Events), read with fetch rather than EventSource:
// EventSource cannot send the Authorization header, and the key must stay out of URLs.
// It resumes with Last-Event-ID after a drop, so no event is missed or repeated.

import { authorization, refused } from './api.js';

const RETRY_MS = [500, 1000, 2000, 5000];
// The service sends a comment every 15 s: silence for longer means a dead connection.
const SILENCE_MS = 40000;

/**
 * Opens `path` and calls `onEvents(list)` with each chunk's events ({seq, type, event}) and
 * `onStatus('connecting' | 'live' | 'down', detail)`. Returns a function that closes it.
 */
export function openStream(path, { onEvents, onStatus }) {
  let closed = false;
  let controller = null;
  let lastSeq = null;
  let failures = 0;

  async function connect() {
    while (!closed) {
      onStatus(failures === 0 ? 'connecting' : 'down', '');
      controller = new AbortController();
      try {
        await readOnce(controller);
      } catch (e) {
        if (closed) return;
        onStatus('down', e.message ?? String(e));
      }
      if (closed) return;
      failures += 1;
      await sleep(RETRY_MS[Math.min(failures - 1, RETRY_MS.length - 1)]);
    }
  }

  async function readOnce(ctl) {
    const headers = authorization();
    if (lastSeq !== null) headers['Last-Event-ID'] = String(lastSeq);
    const response = await fetch(path, { headers, signal: ctl.signal, cache: 'no-store' });
    if (response.status === 401) {
      closed = true;
      refused();
      return;
    }
    if (!response.ok || !response.body) {
      throw new Error(`the stream answered ${response.status}`);
    }
    failures = 0;
    onStatus('live', '');
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    const parser = new Parser();
    let watchdog = setTimeout(() => ctl.abort(), SILENCE_MS);
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) throw new Error('the stream ended');
        clearTimeout(watchdog);
        watchdog = setTimeout(() => ctl.abort(), SILENCE_MS);
        const events = parser.push(value);
        if (events.length > 0) {
          lastSeq = events[events.length - 1].seq;
          onEvents(events);
        }
      }
    } finally {
      clearTimeout(watchdog);
    }
  }

  connect();
  return () => {
    closed = true;
    controller?.abort();
  };
}

/** The SSE wire format: fields up to a blank line make one message; ':' lines are comments. */
class Parser {
  constructor() {
    this.rest = '';
    this.id = null;
    this.type = 'message';
    this.data = [];
  }

  push(text) {
    const lines = (this.rest + text).split(/\r\n|\r|\n/);
    this.rest = lines.pop();
    const out = [];
    for (const line of lines) {
      if (line === '') {
        if (this.data.length > 0) out.push(this.message());
        this.data = [];
        this.type = 'message';
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'id') this.id = value;
      else if (field === 'event') this.type = value;
      else if (field === 'data') this.data.push(value);
    }
    return out;
  }

  message() {
    return { seq: Number(this.id), type: this.type, event: JSON.parse(this.data.join('\n')) };
  }
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
