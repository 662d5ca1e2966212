/**
 * Splits `[0, total)` into at most `parts` contiguous ranges, as even as
 * possible, whose inner bounds are multiples of `align` (a register tile,
 * a key/value block). Empty ranges are left out; `[0, 0)` gives one empty
 * range so the caller still makes its single call.
 */
export function splitRange(total: number, parts: number, align = 1): Array<readonly [number, number]> {
  const step = Math.max(1, align);
  const units = Math.ceil(total / step);
  const count = Math.max(1, Math.min(parts, units));
  const ranges: Array<readonly [number, number]> = [];
  for (let i = 0; i < count; i++) {
    const start = Math.min(total, Math.floor((units * i) / count) * step);
    const end = Math.min(total, Math.floor((units * (i + 1)) / count) * step);
    if (end > start || total === 0) ranges.push([start, end]);
  }
  return ranges;
}
