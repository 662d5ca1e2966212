/** One line of a {@link lineChartSvg} panel. */
export interface Series {
  readonly label: string;
  readonly color: string;
  /** `[x, y]` points in order of x. */
  readonly points: readonly (readonly [number, number])[];
}

/** One panel: a y-axis title and its lines, sharing the chart's x-axis. */
export interface Panel {
  readonly title: string;
  readonly series: readonly Series[];
}

const WIDTH = 640;
const PANEL_HEIGHT = 220;
const MARGIN = { left: 64, right: 150, top: 28, bottom: 36 };

const escapeXml = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const fmt = (v: number) => (Math.abs(v) >= 100 || v === 0 ? v.toFixed(0) : v.toPrecision(3));

/** "Nice" tick values (1, 2 or 5 × 10^k apart) covering `[lo, hi]`. */
function ticks(lo: number, hi: number, count = 5): number[] {
  const span = hi - lo || 1;
  const raw = span / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/**
 * A standalone SVG of panels stacked vertically over one x-axis (`xLabel`),
 * each with its own y-range, grid, ticks and a legend on the right.
 */
export function lineChartSvg(title: string, xLabel: string, panels: readonly Panel[]): string {
  const all = panels.flatMap((p) => p.series.flatMap((s) => s.points));
  const xMax = Math.max(1, ...all.map(([x]) => x));
  const xMin = Math.min(xMax - 1, ...all.map(([x]) => x));
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const height = MARGIN.top + panels.length * PANEL_HEIGHT + MARGIN.bottom;
  const sx = (x: number) => MARGIN.left + ((x - xMin) / (xMax - xMin)) * plotW;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="18" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`,
  ];
  panels.forEach((panel, index) => {
    const top = MARGIN.top + index * PANEL_HEIGHT + 8;
    const plotH = PANEL_HEIGHT - 40;
    const ys = panel.series.flatMap((s) => s.points.map(([, y]) => y)).filter(Number.isFinite);
    let [yMin, yMax] = [Math.min(0, ...ys), Math.max(...ys, 0)];
    if (yMax === yMin) yMax = yMin + 1;
    const yTicks = ticks(yMin, yMax);
    [yMin, yMax] = [Math.min(yMin, yTicks[0]), Math.max(yMax, yTicks[yTicks.length - 1])];
    const sy = (y: number) => top + plotH - ((y - yMin) / (yMax - yMin)) * plotH;
    for (const t of yTicks) {
      parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}" stroke="#e5e5e5"/>`);
      parts.push(`<text x="${MARGIN.left - 6}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end">${fmt(t)}</text>`);
    }
    parts.push(`<rect x="${MARGIN.left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`);
    parts.push(`<text transform="translate(16 ${top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(panel.title)}</text>`);
    for (const t of ticks(xMin, xMax)) {
      parts.push(`<text x="${sx(t).toFixed(1)}" y="${top + plotH + 14}" text-anchor="middle">${fmt(t)}</text>`);
    }
    panel.series.forEach((s, i) => {
      const d = s.points
        .filter(([, y]) => Number.isFinite(y))
        .map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${sx(x).toFixed(1)} ${sy(y).toFixed(1)}`)
        .join(' ');
      if (d !== '') parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.8"/>`);
      const ly = top + 12 + i * 16;
      parts.push(`<line x1="${MARGIN.left + plotW + 10}" x2="${MARGIN.left + plotW + 28}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"/>`);
      parts.push(`<text x="${MARGIN.left + plotW + 32}" y="${ly + 4}">${escapeXml(s.label)}</text>`);
    });
  });
  parts.push(`<text x="${MARGIN.left + plotW / 2}" y="${height - 8}" text-anchor="middle">${escapeXml(xLabel)}</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
