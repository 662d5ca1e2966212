// The demo's SVG writer: points land where the axes say, text is escaped,
// and non-finite values leave gaps instead of breaking the path.
import { describe, expect, it } from 'vitest';
import { lineChartSvg } from '@lorafuse/demo';

/** The [x, y] pixel pairs of every path, in order. */
function paths(svg: string): number[][][] {
  return [...svg.matchAll(/<path d="([^"]+)"/g)].map((m) => [...m[1].matchAll(/[ML](-?[\d.]+) (-?[\d.]+)/g)].map((p) => [Number(p[1]), Number(p[2])]));
}

describe('lineChartSvg', () => {
  it('maps the data range onto the plot box, one panel under the other', () => {
    const svg = lineChartSvg('t', 'step', [
      {
        title: 'loss',
        series: [
          {
            label: 'a',
            color: '#000',
            points: [
              [1, 0],
              [5, 2],
              [9, 4],
            ],
          },
        ],
      },
      {
        title: 'sparsity',
        series: [
          {
            label: 'b',
            color: '#f00',
            points: [
              [1, 0],
              [9, 0.5],
            ],
          },
        ],
      },
    ]);
    const [loss, sparsity] = paths(svg);
    // x: 1 → left edge (64), 9 → right edge (640 − 150); y: the panel's bottom for 0, top for its maximum tick.
    expect(loss[0][0]).toBeCloseTo(64, 1);
    expect(loss[2][0]).toBeCloseTo(490, 1);
    expect(loss[1][0]).toBeCloseTo((64 + 490) / 2, 1);
    expect(loss[1][1]).toBeCloseTo((loss[0][1] + loss[2][1]) / 2, 1);
    expect(loss[2][1]).toBeCloseTo(36, 1);
    expect(sparsity[0][1]).toBeGreaterThan(loss[0][1]);
    expect(svg).toContain('viewBox="0 0 640 504"');
  });

  it('escapes text and skips non-finite points', () => {
    const svg = lineChartSvg('a < b & "c"', 'x', [
      {
        title: 't',
        series: [
          {
            label: '<s>',
            color: '#000',
            points: [
              [0, 1],
              [1, NaN],
              [2, 3],
            ],
          },
        ],
      },
    ]);
    expect(svg).toContain('a &lt; b &amp; &quot;c&quot;');
    expect(svg).toContain('&lt;s&gt;');
    expect(svg).not.toContain('NaN');
    expect(paths(svg)[0]).toHaveLength(2);
  });
});
