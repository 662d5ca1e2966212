// A small live SVG chart: training loss (left axis, autoscaled) and mean
// sparsity (right axis, 0–100 %) against the optimizer step.
import type { CurvePoint } from './api.js';

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 560;
const HEIGHT = 220;
const PAD = { left: 48, right: 48, top: 12, bottom: 28 };

function element<K extends keyof SVGElementTagNameMap>(name: K, attributes: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The chart drawn into `host`; `update` redraws it with all points so far. */
export class LossChart {
  private readonly svg: SVGSVGElement;
  private points: CurvePoint[] = [];
  private totalSteps = 1;

  constructor(host: HTMLElement) {
    this.svg = element('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', 'aria-label': 'training loss and sparsity per step', id: 'chart' });
    host.replaceChildren(this.svg);
    this.draw();
  }

  /** Clears the chart for a run of `totalSteps` steps (keeping `kept` points of a resumed run). */
  reset(totalSteps: number, kept: readonly CurvePoint[] = []): void {
    this.totalSteps = Math.max(1, totalSteps);
    this.points = [...kept];
    this.draw();
  }

  /** Adds a step and redraws. */
  add(point: CurvePoint): void {
    this.points.push(point);
    this.draw();
  }

  private draw(): void {
    const plotW = WIDTH - PAD.left - PAD.right;
    const plotH = HEIGHT - PAD.top - PAD.bottom;
    const losses = this.points.map((p) => p.loss).filter(Number.isFinite);
    const lo = losses.length ? Math.min(...losses) : 0;
    const hi = losses.length ? Math.max(...losses) : 1;
    const span = hi - lo || Math.abs(hi) || 1;
    const x = (step: number) => PAD.left + (step / this.totalSteps) * plotW;
    const yLoss = (loss: number) => PAD.top + (1 - (loss - lo) / span) * plotH;
    const ySparsity = (s: number) => PAD.top + (1 - s) * plotH;
    const path = (coords: [number, number][]) => coords.map(([px, py], i) => `${i ? 'L' : 'M'}${px.toFixed(1)},${py.toFixed(1)}`).join(' ');
    const lossLine = path(this.points.filter((p) => Number.isFinite(p.loss)).map((p) => [x(p.step), yLoss(p.loss)]));
    const sparsityLine = path(this.points.filter((p) => p.sparsity !== null).map((p) => [x(p.step), ySparsity(p.sparsity!)]));
    const bottom = PAD.top + plotH;
    this.svg.replaceChildren(
      element('rect', { x: PAD.left, y: PAD.top, width: plotW, height: plotH, fill: 'none', stroke: '#bbb' }),
      element('text', { x: PAD.left - 6, y: PAD.top + 10, 'text-anchor': 'end', 'font-size': 11, fill: '#1f6feb' }, hi.toFixed(3)),
      element('text', { x: PAD.left - 6, y: bottom, 'text-anchor': 'end', 'font-size': 11, fill: '#1f6feb' }, lo.toFixed(3)),
      element('text', { x: WIDTH - PAD.right + 6, y: PAD.top + 10, 'font-size': 11, fill: '#d97706' }, '100%'),
      element('text', { x: WIDTH - PAD.right + 6, y: bottom, 'font-size': 11, fill: '#d97706' }, '0%'),
      element('text', { x: PAD.left, y: HEIGHT - 8, 'font-size': 11 }, 'step 0'),
      element('text', { x: WIDTH - PAD.right, y: HEIGHT - 8, 'text-anchor': 'end', 'font-size': 11 }, `step ${this.totalSteps}`),
      element('path', { d: lossLine, fill: 'none', stroke: '#1f6feb', 'stroke-width': 2, class: 'loss', 'data-points': this.points.length }),
      element('path', { d: sparsityLine, fill: 'none', stroke: '#d97706', 'stroke-width': 2, 'stroke-dasharray': '4 3', class: 'sparsity' }),
    );
  }
}
