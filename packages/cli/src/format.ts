/** Renders rows as a left-aligned text table with a header row. */
export function table(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = [header, ...rows].map((r) => r.map((c) => String(c)));
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i]?.length ?? 0)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n') + '\n';
}

/** A parameter count in words: 1234567 → "1.23M". */
export function humanCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

/** A size in bytes in words: 80560 → "80.6 kB". */
export function humanBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}

/** Pretty JSON for `--json` output, one object per line of output. */
export function jsonLine(value: unknown): string {
  return JSON.stringify(value) + '\n';
}

/** A backend's memory high-water marks in words: "peak 1.20 GiB in use, top 1.21 GiB". */
export function describePeaks(memory: { readonly bytesInUse: number; readonly top?: number; readonly bufferBytes?: number }): string {
  const gib = (n: number) => (n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : `${(n / 2 ** 20).toFixed(1)} MiB`);
  return [
    `peak ${gib(memory.bytesInUse)} in use`,
    ...(memory.top === undefined ? [] : [`top ${gib(memory.top)}`]),
    ...(memory.bufferBytes === undefined ? [] : [`${gib(memory.bufferBytes)} of GPU buffers`]),
  ].join(', ');
}
