import { type Html, html } from "./html.js";

/** One stacked series of a bar chart: a CSS class (its colour) and a value per bar. */
export interface Series {
  name: string;
  className: string;
  values: readonly number[];
}

const W = 640;
const H = 180;
const PAD = { left: 44, bottom: 22, top: 8, right: 8 };

/** A nice round top for the y axis (1, 2 or 5 times a power of ten). */
function niceMax(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  return ([1, 2, 5, 10].map((m) => m * power).find((m) => m >= value) ?? value) as number;
}

/**
 * Vertical bars, stacked by series, one per label (a day), drawn server-side as SVG: no
 * script, no CDN. Every bar carries a `<title>` with its figures (a tooltip, and text for
 * screen readers); the table beside the chart has the same numbers.
 */
export function stackedBars(params: {
  id: string;
  title: string;
  labels: readonly string[];
  series: readonly Series[];
  format?: (value: number) => string;
}): Html {
  const format = params.format ?? ((v: number) => String(v));
  const totals = params.labels.map((_, i) => params.series.reduce((sum, s) => sum + (s.values[i] ?? 0), 0));
  const top = niceMax(Math.max(0, ...totals));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const step = plotW / Math.max(1, params.labels.length);
  const barW = Math.max(1, step * 0.75);
  const y = (value: number) => PAD.top + plotH - (value / top) * plotH;
  const bars = params.labels.map((label, i) => {
    let base = 0;
    const parts = params.series.map((s) => {
      const value = s.values[i] ?? 0;
      if (!value) return html``;
      const rect = html`<rect class="${s.className}" x="${(PAD.left + i * step).toFixed(1)}" y="${y(base + value).toFixed(1)}" width="${barW.toFixed(1)}" height="${(y(base) - y(base + value)).toFixed(1)}"></rect>`;
      base += value;
      return rect;
    });
    const tip = params.series.map((s) => `${s.name} ${format(s.values[i] ?? 0)}`).join(", ");
    return html`<g data-label="${label}"><title>${label}: ${tip}</title>${parts}</g>`;
  });
  const ticks = [0, 0.5, 1].map(
    (f) =>
      html`<line class="grid" x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(top * f).toFixed(1)}" y2="${y(top * f).toFixed(1)}"></line><text class="axis" x="${PAD.left - 4}" y="${(y(top * f) + 4).toFixed(1)}" text-anchor="end">${format(top * f)}</text>`,
  );
  const every = Math.max(1, Math.ceil(params.labels.length / 8));
  const xLabels = params.labels.map((label, i) =>
    i % every === 0
      ? html`<text class="axis" x="${(PAD.left + i * step + barW / 2).toFixed(1)}" y="${H - 6}" text-anchor="middle">${label.slice(5)}</text>`
      : html``,
  );
  const legend = params.series.map(
    (s) =>
      html`<span class="legend"><svg class="swatch" width="10" height="10" aria-hidden="true"><rect class="${s.className}" width="10" height="10"></rect></svg> ${s.name}</span>`,
  );
  return html`<figure class="chart" id="${params.id}"><figcaption>${params.title} ${legend}</figcaption>
<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${params.title}">${ticks}${bars}${xLabels}</svg></figure>`;
}

/** Horizontal bars, one per row, longest first: the busiest repositories, job types, failure codes. */
export function horizontalBars(params: {
  id: string;
  title: string;
  rows: ReadonlyArray<{ label: string; value: number; className?: string }>;
  format?: (value: number) => string;
}): Html {
  const format = params.format ?? ((v: number) => String(v));
  const rowH = 22;
  const labelW = 200;
  const height = Math.max(1, params.rows.length) * rowH + 4;
  const top = niceMax(Math.max(0, ...params.rows.map((r) => r.value)));
  const bars = params.rows.map((row, i) => {
    const width = ((W - labelW - 60) * row.value) / top;
    return html`<g data-label="${row.label}"><title>${row.label}: ${format(row.value)}</title>
<text class="axis" x="${labelW - 6}" y="${i * rowH + 15}" text-anchor="end">${row.label.length > 30 ? `${row.label.slice(0, 29)}…` : row.label}</text>
<rect class="${row.className ?? "bar-main"}" x="${labelW}" y="${i * rowH + 4}" width="${Math.max(row.value ? 1 : 0, width).toFixed(1)}" height="${rowH - 8}"></rect>
<text class="axis" x="${(labelW + width + 6).toFixed(1)}" y="${i * rowH + 15}">${format(row.value)}</text></g>`;
  });
  return html`<figure class="chart" id="${params.id}"><figcaption>${params.title}</figcaption>
<svg viewBox="0 0 ${W} ${height}" role="img" aria-label="${params.title}">${params.rows.length ? bars : html`<text class="axis" x="10" y="16">No jobs in this window.</text>`}</svg></figure>`;
}
