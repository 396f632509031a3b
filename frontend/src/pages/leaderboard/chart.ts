/**
 * Layout of the leaderboard's bar chart: one horizontal bar per row with its 95% interval as a
 * whisker, on a fixed 0..1 scale (every plotted score is a fraction). Each row has its own band,
 * its name at the left (shortened with the full name as a tooltip), so labels never overlap however
 * many rows there are. Plain functions, drawn as SVG by BarChart.tsx.
 */

export interface BarDatum {
  key: string;
  label: string;
  value: number | null;
  low: number | null;
  high: number | null;
  human?: boolean;
}

export interface Whisker {
  y: number;
  x1: number; // left (the low end)
  x2: number; // right (the high end)
  cap: number; // half-height of the caps
}

export interface Bar {
  key: string;
  label: string;
  /** The label as drawn (at most LABEL_CHARS characters). */
  shortLabel: string;
  human: boolean;
  x: number;
  y: number;
  width: number;
  height: number;
  value: number | null;
  whisker: Whisker | null;
  labelY: number;
}

export interface Tick {
  x: number;
  label: string;
}

export interface ChartBox {
  width: number;
  /** Height of one row's band. */
  band: number;
  top: number;
  right: number;
  bottom: number;
  left: number;
}

export const DEFAULT_BOX: ChartBox = {
  width: 720,
  band: 30,
  top: 8,
  right: 56,
  bottom: 26,
  left: 220,
};

/** Characters of a row name that fit the label column at 12 px. */
export const LABEL_CHARS = 34;

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

/** Horizontal position of a fraction in the plot area. */
export function xOf(value: number, box: ChartBox = DEFAULT_BOX): number {
  const plot = box.width - box.left - box.right;
  return box.left + clamp01(value) * plot;
}

export function shorten(label: string, chars: number = LABEL_CHARS): string {
  return label.length > chars ? `${label.slice(0, chars - 1)}\u2026` : label;
}

export function chartHeight(rows: number, box: ChartBox = DEFAULT_BOX): number {
  return box.top + Math.max(1, rows) * box.band + box.bottom;
}

export function layoutBars(
  data: BarDatum[],
  box: ChartBox = DEFAULT_BOX,
): { bars: Bar[]; ticks: Tick[]; height: number } {
  const barHeight = Math.round(box.band * 0.6);
  const base = xOf(0, box);
  const bars = data.map((d, i) => {
    const centre = box.top + box.band * (i + 0.5);
    const end = d.value == null ? base : xOf(d.value, box);
    const whisker =
      d.low != null && d.high != null
        ? { y: centre, x1: xOf(d.low, box), x2: xOf(d.high, box), cap: Math.min(6, barHeight / 3) }
        : null;
    return {
      key: d.key,
      label: d.label,
      shortLabel: shorten(d.label),
      human: Boolean(d.human),
      x: base,
      y: centre - barHeight / 2,
      width: end - base,
      height: barHeight,
      value: d.value,
      whisker,
      labelY: centre,
    };
  });
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((v) => ({ x: xOf(v, box), label: `${v * 100}%` }));
  return { bars, ticks, height: chartHeight(data.length, box) };
}

/** "72% [65–79%]" or "–" for an estimate. */
export function formatEstimate(value: number | null | undefined, low?: number | null, high?: number | null): string {
  if (value == null) return "–";
  const pct = (v: number) => `${Math.round(v * 100)}`;
  if (low == null || high == null) return `${pct(value)}%`;
  return `${pct(value)}% [${pct(low)}–${pct(high)}%]`;
}

/** p-values as people read them. */
export function formatP(p: number | null | undefined): string {
  if (p == null) return "–";
  if (p < 0.001) return "< 0.001";
  return p.toFixed(3);
}
