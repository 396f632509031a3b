/** Layout of an interval chart (a point or bar per row with its confidence interval). */

export interface IntervalDatum {
  label: string;
  value: number | null;
  low: number | null;
  high: number | null;
}

export interface IntervalRow {
  label: string;
  y: number;
  x0: number;
  x: number | null;
  low: number | null;
  high: number | null;
}

export interface IntervalLayout {
  rows: IntervalRow[];
  min: number;
  max: number;
  zeroX: number;
  height: number;
}

/** Rows on a shared horizontal scale covering every value, interval and ``origin``. */
export function layoutIntervals(
  data: IntervalDatum[],
  { width = 420, left = 120, right = 16, rowHeight = 26, origin = 0 } = {},
): IntervalLayout {
  const values = data.flatMap((d) => [d.value, d.low, d.high]).filter((v): v is number => v != null);
  let min = Math.min(origin, ...values);
  let max = Math.max(origin, ...values);
  if (!(max > min)) {
    min -= 1;
    max += 1;
  }
  const span = width - left - right;
  const sx = (v: number) => left + ((v - min) / (max - min)) * span;
  const rows = data.map((d, i) => ({
    label: d.label,
    y: 10 + i * rowHeight,
    x0: sx(origin),
    x: d.value == null ? null : sx(d.value),
    low: d.low == null ? null : sx(d.low),
    high: d.high == null ? null : sx(d.high),
  }));
  return { rows, min, max, zeroX: sx(origin), height: 20 + data.length * rowHeight };
}
