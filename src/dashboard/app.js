// The page's shell: signing in and out, the routes in the URL's hash, the event stream
// that feeds the live list, and the outage banner.

import * as api from './api.js';
import * as entry from './entry.js';
import * as health from './health.js';
import * as live from './live.js';
import * as owner from './owner.js';
import { openStream } from './stream.js';
import { $, showSection } from './view.js';

// Entries only, starting with the app's last 1,000 events so the list is not empty.
const STREAM = '/v1/events/stream?types=entry.completed,entry.failed&tail=1000';

let closeStream = null;

function boot() {
  live.setup();
  owner.setup();
  api.whenSignedOut(signedOut);
  $('signin').addEventListener('submit', (e) => {
    e.preventDefault();
    api.signIn($('signin-key').value);
    $('signin-key').value = '';
    signedIn();
  });
  $('signout').addEventListener('click', () => api.signOut(''));
  window.addEventListener('hashchange', route);
  if (api.key()) signedIn();
  else signedOut('');
}

function signedIn() {
  $('signin').hidden = true;
  $('signin-error').textContent = '';
  $('app').hidden = false;
  closeStream = openStream(STREAM, {
    onEvents: live.receive,
    onStatus: (status, detail) => {
      const badge = $('stream-status');
      badge.dataset.status = status;
      badge.textContent = status === 'live' ? 'live' : status === 'down' ? 'stream down' : 'connecting';
      badge.title = detail;
    },
  });
  health.start(outage);
  health.showCatalog().catch(() => {});
  route();
}

function signedOut(reason) {
  closeStream?.();
  closeStream = null;
  health.stop();
  live.clear();
  $('app').hidden = true;
  $('signin').hidden = false;
  $('signin-error').textContent = reason;
  $('signin-key').focus();
}

function outage(parts, detail) {
  const banner = $('outage');
  banner.hidden = parts.length === 0;
  banner.dataset.down = parts.join(' ');
  banner.textContent = parts.length === 0 ? '' : `Degraded: ${detail}. The page shows what it last read; writes ${
    parts.includes('event_store') || parts.includes('writer') || parts.includes('service') ? 'may fail' : 'go on'}.`;
}

function route() {
  if (!api.key()) return;
  const [path, query = ''] = location.hash.replace(/^#/, '').split('?');
  const [, view, ...rest] = path.split('/');
  const arg = decodeURIComponent(rest.join('/'));
  switch (view) {
    case 'entries':
      showSection('entry');
      entry.open(arg);
      break;
    case 'owners':
      showSection('owner');
      owner.open(arg, new URLSearchParams(query).get('asset') || 'CREDIT');
      break;
    case 'health':
      showSection('health');
      health.showCatalog().catch(() => {});
      break;
    default:
      showSection('live');
  }
}

boot();
