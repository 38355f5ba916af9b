// DOM helpers shared by the views. Everything the API returns is shown as text
// (textContent), never parsed as HTML: owners, operations and metadata are the app's data.

const SVG = 'http://www.w3.org/2000/svg';

export const $ = (id) => document.getElementById(id);

/** An element with attributes (`class`, `data-*`, …) and children (nodes or text). */
export function el(tag, attrs = {}, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** The same for SVG. */
export function svgEl(tag, attrs = {}, ...children) {
  return build(document.createElementNS(SVG, tag), attrs, children);
}

function build(node, attrs, children) {
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null && value !== false) {
      node.setAttribute(name, value === true ? '' : String(value));
    }
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** A link inside the page. */
export function link(hash, label) {
  return el('a', { href: hash }, label);
}

export function entryHash(id) {
  return `#/entries/${encodeURIComponent(id)}`;
}

export function ownerHash(owner, asset) {
  const query = asset && asset !== 'CREDIT' ? `?asset=${encodeURIComponent(asset)}` : '';
  return `#/owners/${encodeURIComponent(owner)}${query}`;
}

/** `12:03:04.123` in the browser's time zone. */
export function clock(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso ?? '';
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** `3d 4h`, `2m 05s`, `expired`: how long until `iso`. */
export function countdown(iso, now = Date.now()) {
  const ms = new Date(iso).getTime() - now;
  if (!(ms > 0)) return 'expired';
  const s = Math.floor(ms / 1000);
  const [d, h, m] = [Math.floor(s / 86400), Math.floor(s / 3600) % 24, Math.floor(s / 60) % 60];
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  return `${m}m ${String(s % 60).padStart(2, '0')}s`;
}

/** Shows one `<section>` of `main` and hides the others. */
export function showSection(id) {
  for (const section of document.querySelectorAll('main > section')) {
    section.hidden = section.id !== id;
  }
  for (const a of document.querySelectorAll('nav a')) {
    a.classList.toggle('current', a.dataset.nav === navOf(id));
  }
}

function navOf(section) {
  return { live: 'live', entry: 'live', owner: 'owner', health: 'health' }[section];
}

/** Replaces a container's children. */
export function fill(container, nodes) {
  container.replaceChildren(...nodes);
}

/** A row of text cells, each `[className, text]`. */
export function row(attrs, cells) {
  return el('tr', attrs, ...cells.map(([cls, text]) => el('td', { class: cls }, text ?? '')));
}
