// The dashboard's frame times under load: opens the live list of a running service in
// headless Chromium, signs in, and records every animation frame's interval while the
// load runs (start `ledgerflow-bench` against the same app alongside).
//
//   npm ci --prefix tests/browser
//   node bench/dashboard_frames.mjs --url http://127.0.0.1:8080 --key lf_… --seconds 20 [--paused]
//
// Prints one JSON line: frames, intervals p50/p99/max in ms, frames over 50 ms, the
// entries the page received and the rows it held at the end.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { chromium } = await import(
  new URL('../tests/browser/node_modules/playwright-core/index.mjs', import.meta.url)
);

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:8080' },
    key: { type: 'string', default: process.env.LEDGERFLOW_BENCH_KEY },
    seconds: { type: 'string', default: '20' },
    settle: { type: 'string', default: '2' },
    // Measure with the list paused: the stream is still read, the rows are not drawn.
    paused: { type: 'boolean', default: false },
  },
});
if (!values.key) throw new Error('--key (or LEDGERFLOW_BENCH_KEY) is required');

const profile = mkdtempSync(join(tmpdir(), 'lf-frames-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  viewport: { width: 1280, height: 800 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(`${values.url}/dashboard`);
  await page.fill('#signin-key', values.key);
  await page.click('#signin-submit');
  await page.waitForSelector('#stream-status[data-status="live"]', { timeout: 10000 });
  if (values.paused) await page.click('#live-pause');
  await page.waitForTimeout(Number(values.settle) * 1000);
  const result = await page.evaluate(async (seconds) => {
    const rows = () => document.querySelectorAll('#live-rows tr').length;
    const intervals = [];
    let received = 0;
    const counter = new MutationObserver((changes) => {
      for (const c of changes) received += c.addedNodes.length;
    });
    counter.observe(document.getElementById('live-rows'), { childList: true });
    await new Promise((resolve) => {
      const end = performance.now() + seconds * 1000;
      let last = performance.now();
      const frame = (now) => {
        intervals.push(now - last);
        last = now;
        if (now < end) requestAnimationFrame(frame);
        else resolve();
      };
      requestAnimationFrame(frame);
    });
    counter.disconnect();
    intervals.sort((a, b) => a - b);
    const at = (q) => intervals[Math.min(intervals.length - 1, Math.floor(q * intervals.length))];
    return {
      frames: intervals.length,
      p50_ms: +at(0.5).toFixed(1),
      p99_ms: +at(0.99).toFixed(1),
      max_ms: +intervals[intervals.length - 1].toFixed(1),
      over_50ms: intervals.filter((v) => v > 50).length,
      rows_added: received,
      rows_held: rows(),
    };
  }, Number(values.seconds));
  console.log(JSON.stringify(result));
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
