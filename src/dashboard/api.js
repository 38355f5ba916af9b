// The page's one way to the service. The key lives in this tab's sessionStorage only: it
// is sent as a header, never in a URL, so it reaches no log, history or referrer.

const KEY = 'ledgerflow.key';
const TIMEOUT_MS = 8000;

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let onSignedOut = () => {};

/** Called with the reason whenever the session ends (sign-out, or a key the API refused). */
export function whenSignedOut(callback) {
  onSignedOut = callback;
}

export function key() {
  return sessionStorage.getItem(KEY);
}

export function signIn(value) {
  sessionStorage.setItem(KEY, value.trim());
}

export function signOut(reason = '') {
  sessionStorage.removeItem(KEY);
  onSignedOut(reason);
}

/** Ends the session of a key the API refused (401): revoked, or wrong from the start. */
export function refused() {
  signOut('The API refused the key: it was revoked or is wrong. Sign in with a live key.');
}

/** Headers of an authenticated request. */
export function authorization() {
  return { Authorization: `Bearer ${key() ?? ''}` };
}

/**
 * GET `path` as JSON. A 401 ends the session (the key was revoked); other refusals and an
 * unreachable service throw an ApiError, whose status is 0 when there was no answer.
 * Statuses in `answers` are answers, not refusals (503 from /readyz says what is down).
 */
export async function get(path, { auth = true, signal, answers = [] } = {}) {
  const response = await fetchWithin(path, auth ? authorization() : {}, signal);
  if (response.status === 401 && auth) {
    refused();
    throw new ApiError(401, 'unauthorized', 'signed out');
  }
  const text = await response.text();
  const body = parse(text);
  if (!response.ok && !answers.includes(response.status)) {
    const code = body?.code ?? `http_${response.status}`;
    throw new ApiError(response.status, code, body?.detail ?? body?.title ?? text.slice(0, 200));
  }
  return { status: response.status, body, text };
}

/** A fetch that gives up after TIMEOUT_MS, so that no view hangs on a service that stalls. */
async function fetchWithin(path, headers, signal) {
  const timeout = AbortSignal.timeout(TIMEOUT_MS);
  const both = signal ? AbortSignal.any([signal, timeout]) : timeout;
  try {
    return await fetch(path, { headers, signal: both, cache: 'no-store' });
  } catch (e) {
    if (signal?.aborted) throw e;
    const why = timeout.aborted ? 'the service did not answer in time' : 'the service is unreachable';
    throw new ApiError(0, 'unreachable', why);
  }
}

function parse(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** A path segment, escaped (owner ids may hold '@', ':' or '/'). */
export function segment(value) {
  return encodeURIComponent(value);
}
