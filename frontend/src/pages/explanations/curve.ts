/**
 * Geometry of the temporal importance curve drawn under the seek bar: x is video time over the
 * whole duration, y the importance normalized to the curve's own maximum. Each map frame holds
 * its value until the next one starts (a step curve, like the overlay: what you see at a time is
 * what the curve shows there).
 */

export interface CurveGeometry {
  /** SVG path of the filled area (closed along the bottom edge). */
  area: string;
  /** SVG path of the top line only. */
  line: string;
  /**
   * x of the peak: the map frame given as `peak` (the server's, the one the temporal pointing
   * game took), else the curve's own maximum (the first on ties); -1 when there is none.
   */
  peakX: number;
  peakIndex: number;
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

export function normalizeCurve(values: readonly number[]): number[] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!Number.isFinite(lo) || hi <= lo) return values.map(() => 0);
  return values.map((v) => (v - lo) / (hi - lo));
}

export function xAtTime(t: number, duration: number, width: number): number {
  if (duration <= 0) return 0;
  return (Math.min(Math.max(t, 0), duration) / duration) * width;
}

/** Arrow keys step a twentieth of the clip: the time to seek to, or null for other keys. */
export function arrowSeekTime(key: string, time: number, duration: number): number | null {
  const step = duration / 20;
  if (key === "ArrowRight") return Math.min(duration, time + step);
  if (key === "ArrowLeft") return Math.max(0, time - step);
  return null;
}

export function timeAtX(x: number, width: number, duration: number): number {
  if (width <= 0) return 0;
  return (Math.min(Math.max(x, 0), width) / width) * duration;
}

export function curveGeometry(
  temporal: readonly number[],
  timestamps: readonly number[],
  duration: number,
  width: number,
  height: number,
  peak?: number | null,
): CurveGeometry {
  const n = Math.min(temporal.length, timestamps.length);
  if (n === 0) return { area: "", line: "", peakX: 0, peakIndex: -1 };
  const values = temporal.slice(0, n);
  const times = timestamps.slice(0, n);
  const level = normalizeCurve(values);
  const end = Math.max(duration, times[n - 1] ?? 0);
  const y = (v: number) => height - v * height;
  /** x where map frame k starts and where it ends (the next frame's start, or the end). */
  const start = (k: number) => xAtTime(times[k] ?? 0, end, width);
  const stop = (k: number) => (k + 1 < n ? start(k + 1) : width);
  const parts: string[] = [];
  let peakIndex = 0;
  for (let k = 0; k < n; k += 1) {
    if ((values[k] ?? 0) > (values[peakIndex] ?? 0)) peakIndex = k;
    const yk = y(level[k] ?? 0);
    parts.push(`${k === 0 ? "M" : "L"}${fmt(start(k))},${fmt(yk)}`, `L${fmt(stop(k))},${fmt(yk)}`);
  }
  const line = parts.join(" ");
  const area = `M${fmt(start(0))},${fmt(height)} ${line.replace(/^M/, "L")} L${fmt(width)},${fmt(height)} Z`;
  if (peak != null && Number.isInteger(peak) && peak >= 0 && peak < n) peakIndex = peak;
  const peakX = (start(peakIndex) + stop(peakIndex)) / 2;
  return { area, line, peakX, peakIndex };
}
