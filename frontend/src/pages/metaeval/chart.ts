/** Pure helpers of the meta-evaluation page: cell colours, interval text, scatter layout. */

/** A diverging colour for a correlation in [-1, 1]: red below 0, white at 0, teal above. */
export function tauColour(value: number | null | undefined): string {
  if (value == null || !Number.isFinite(value)) return "#eef1f5";
  const t = Math.max(-1, Math.min(1, value));
  const [r0, g0, b0] = [255, 255, 255];
  const [r1, g1, b1] = t >= 0 ? [15, 118, 110] : [185, 28, 28];
  const k = Math.abs(t);
  const mix = (a: number, b: number) => Math.round(a + (b - a) * k);
  return `rgb(${mix(r0, r1)}, ${mix(g0, g1)}, ${mix(b0, b1)})`;
}

/** Dark text on light cells, white text on strong ones. */
export function textColour(value: number | null | undefined): string {
  return value != null && Math.abs(value) > 0.55 ? "#ffffff" : "var(--color-text)";
}

export function formatCorrelation(value: number | null | undefined): string {
  return value == null ? "–" : value.toFixed(2);
}

export function formatInterval(low: number | null | undefined, high: number | null | undefined): string {
  return low == null || high == null ? "" : `[${low.toFixed(2)}, ${high.toFixed(2)}]`;
}

/** Whether a 95% interval lies wholly on one side of 0. */
export function excludesZero(low: number | null | undefined, high: number | null | undefined): boolean {
  return low != null && high != null && (low > 0 || high < 0);
}

export interface ScatterBox {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

export const SCATTER_BOX: ScatterBox = { width: 640, height: 380, left: 56, right: 16, top: 16, bottom: 48 };

export interface ScatterInput {
  key: string;
  x: number | null | undefined;
  y: number | null | undefined;
  group: string;
  label: string;
}

export interface ScatterDot extends ScatterInput {
  x: number;
  y: number;
  cx: number;
  cy: number;
}

export interface Tick {
  value: number;
  at: number;
  label: string;
}

function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (lo === hi) return [lo];
  const step = (hi - lo) / (count - 1);
  return Array.from({ length: count }, (_, i) => lo + i * step);
}

function fmt(value: number): string {
  const a = Math.abs(value);
  return a >= 100 ? value.toFixed(0) : a >= 10 ? value.toFixed(1) : value.toFixed(2);
}

/** Place the points with both values finite; axes padded by 5% of their range. */
export function layoutScatter(points: ScatterInput[], box: ScatterBox = SCATTER_BOX) {
  const shown = points.filter(
    (p): p is ScatterInput & { x: number; y: number } =>
      p.x != null && p.y != null && Number.isFinite(p.x) && Number.isFinite(p.y),
  );
  const xs = shown.map((p) => p.x);
  const ys = shown.map((p) => p.y);
  const span = (values: number[]): [number, number] => {
    if (!values.length) return [0, 1];
    let lo = Math.min(...values);
    let hi = Math.max(...values);
    if (lo === hi) {
      lo -= 0.5;
      hi += 0.5;
    }
    const pad = (hi - lo) * 0.05;
    return [lo - pad, hi + pad];
  };
  const [x0, x1] = span(xs);
  const [y0, y1] = span(ys);
  const plotW = box.width - box.left - box.right;
  const plotH = box.height - box.top - box.bottom;
  const sx = (v: number) => box.left + ((v - x0) / (x1 - x0)) * plotW;
  const sy = (v: number) => box.top + plotH - ((v - y0) / (y1 - y0)) * plotH;
  const dots: ScatterDot[] = shown.map((p) => ({ ...p, cx: sx(p.x), cy: sy(p.y) }));
  const xTicks: Tick[] = niceTicks(x0, x1).map((v) => ({ value: v, at: sx(v), label: fmt(v) }));
  const yTicks: Tick[] = niceTicks(y0, y1).map((v) => ({ value: v, at: sy(v), label: fmt(v) }));
  return { dots, xTicks, yTicks, hidden: points.length - shown.length };
}

/** A categorical palette for methods (colour-blind safe). */
export const GROUP_COLOURS = ["#0f766e", "#b45309", "#6d28d9", "#be123c", "#1d4ed8", "#4d7c0f"];
