/**
 * Layout of the leaderboard's bar chart: one bar per row with its 95% interval as a whisker,
 * on a fixed 0..1 scale (every plotted score is a fraction). Plain functions, drawn as SVG by
 * BarChart.tsx.
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
  x: number;
  y1: number; // top (the high end)
  y2: number; // bottom (the low end)
  cap: number; // half-width of the caps
}

export interface Bar {
  key: string;
  label: string;
  human: boolean;
  x: number;
  y: number;
  width: number;
  height: number;
  value: number | null;
  whisker: Whisker | null;
  labelX: number;
}

export interface Tick {
  y: number;
  label: string;
}

export interface ChartBox {
  width: number;
  height: number;
  top: number;
  right: number;
  bottom: number;
  left: number;
}

export const DEFAULT_BOX: ChartBox = {
  width: 640,
  height: 260,
  top: 12,
  right: 12,
  bottom: 56,
  left: 44,
};

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

/** Vertical position of a fraction in the plot area. */
export function yOf(value: number, box: ChartBox = DEFAULT_BOX): number {
  const plot = box.height - box.top - box.bottom;
  return box.top + (1 - clamp01(value)) * plot;
}

export function layoutBars(data: BarDatum[], box: ChartBox = DEFAULT_BOX): { bars: Bar[]; ticks: Tick[] } {
  const plotWidth = box.width - box.left - box.right;
  const slot = data.length ? plotWidth / data.length : plotWidth;
  const barWidth = Math.max(4, Math.min(56, slot * 0.6));
  const base = yOf(0, box);
  const bars = data.map((d, i) => {
    const centre = box.left + slot * (i + 0.5);
    const y = d.value == null ? base : yOf(d.value, box);
    const whisker =
      d.low != null && d.high != null
        ? { x: centre, y1: yOf(d.high, box), y2: yOf(d.low, box), cap: Math.min(8, barWidth / 3) }
        : null;
    return {
      key: d.key,
      label: d.label,
      human: Boolean(d.human),
      x: centre - barWidth / 2,
      y,
      width: barWidth,
      height: base - y,
      value: d.value,
      whisker,
      labelX: centre,
    };
  });
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((v) => ({ y: yOf(v, box), label: `${v * 100}%` }));
  return { bars, ticks };
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
