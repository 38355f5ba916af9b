// Two small SVG charts, drawn from numbers only: a step chart of a balance over time with
// a pointer, and sparklines for the health figures.

import { fill, svgEl } from './view.js';

const PAD = { left: 64, right: 12, top: 10, bottom: 22 };

/**
 * The balance as steps: `points` are {t (ms), v (number), label (text)} in time order, the
 * last one "now". Moving over the chart calls `onPointer(t)` with the instant under it.
 */
export function stepChart(svg, points, onPointer) {
  const [width, height] = viewBox(svg);
  if (points.length === 0) {
    fill(svg, [svgEl('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle' }, 'no postings yet')]);
    return;
  }
  const t0 = points[0].t;
  const t1 = Math.max(points[points.length - 1].t, t0 + 1);
  const values = points.map((p) => p.v);
  const [lo, hi] = span(Math.min(0, ...values), Math.max(...values));
  const x = (t) => PAD.left + ((t - t0) / (t1 - t0)) * (width - PAD.left - PAD.right);
  const y = (v) => height - PAD.bottom - ((v - lo) / (hi - lo)) * (height - PAD.top - PAD.bottom);
  let d = '';
  points.forEach((p, i) => {
    d += i === 0 ? `M ${x(p.t)} ${y(p.v)}` : ` H ${x(p.t)} V ${y(p.v)}`;
  });
  const cursor = svgEl('line', { class: 'cursor', y1: PAD.top, y2: height - PAD.bottom, x1: -10, x2: -10 });
  const nodes = [
    ...axes(width, height, [lo, y(lo)], [Math.max(...values), y(Math.max(...values))],
      new Date(t0), new Date(t1)),
    svgEl('path', { class: 'line', d }),
    ...points.map((p) => svgEl('circle', { class: 'point', cx: x(p.t), cy: y(p.v), r: 3 },
      svgEl('title', {}, p.label))),
    cursor,
  ];
  fill(svg, nodes);
  svg.onmousemove = (e) => {
    const box = svg.getBoundingClientRect();
    const px = ((e.clientX - box.left) / box.width) * width;
    const clamped = Math.min(Math.max(px, PAD.left), width - PAD.right);
    cursor.setAttribute('x1', clamped);
    cursor.setAttribute('x2', clamped);
    const t = t0 + ((clamped - PAD.left) / (width - PAD.left - PAD.right)) * (t1 - t0);
    onPointer(Math.round(t));
  };
}

/** A sparkline of one or more series of numbers (null where unknown), newest last. */
export function sparkline(svg, series, max = null) {
  const [width, height] = viewBox(svg);
  const known = series.flat().filter((v) => v !== null && Number.isFinite(v));
  const top = max ?? Math.max(1e-9, ...known);
  const nodes = series.map((values, i) => {
    const step = width / Math.max(1, values.length - 1);
    let d = '';
    values.forEach((v, j) => {
      if (v === null || !Number.isFinite(v)) return;
      const py = height - 4 - (Math.min(v, top) / top) * (height - 8);
      d += `${d === '' ? 'M' : 'L'} ${j * step} ${py} `;
    });
    return svgEl('path', { class: `spark spark-${i}`, d: d.trim() });
  });
  fill(svg, nodes);
}

/** The time axis, and the lowest and highest values ([value, y]) marked where they are. */
function axes(width, height, [lo, yLo], [hi, yHi], from, to) {
  const base = height - PAD.bottom;
  return [
    svgEl('line', { class: 'axis', x1: PAD.left, x2: width - PAD.right, y1: base, y2: base }),
    svgEl('text', { class: 'tick', x: PAD.left - 6, y: yHi + 4, 'text-anchor': 'end' }, trim(hi)),
    svgEl('text', { class: 'tick', x: PAD.left - 6, y: yLo, 'text-anchor': 'end' }, trim(lo)),
    svgEl('text', { class: 'tick', x: PAD.left, y: height - 6 }, from.toLocaleString()),
    svgEl('text', { class: 'tick', x: width - PAD.right, y: height - 6, 'text-anchor': 'end' },
      to.toLocaleString()),
  ];
}

function span(lo, hi) {
  if (hi > lo) return [lo, hi + (hi - lo) * 0.05];
  return [lo - 1, hi + 1];
}

function trim(v) {
  return Number.isInteger(v) ? String(v) : v.toPrecision(6).replace(/\.?0+$/, '');
}

function viewBox(svg) {
  const [, , w, h] = svg.getAttribute('viewBox').split(/\s+/).map(Number);
  return [w, h];
}
