/**
 * Geometry of the sound strips under the review player: the waveform envelope and the audio
 * importance curve of audio-visual explanations. Both share the video's time axis (x = t /
 * duration · width), like the temporal curve, so a moment lines up in every strip.
 */
import { normalizeCurve, xAtTime } from "./curve";

/** The waveform payload (`GET <waveform_url>`): min and max of each bin, values in [-1, 1]. */
export interface Waveform {
  duration: number;
  bins_per_second: number;
  min: number[];
  max: number[];
}

/** An audio-visual explanation's sound part: importance per audio token, source seconds each. */
export interface AudioImportance {
  importance: number[];
  times: number[][];
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

/** Index of the largest value, the first one on ties (as the pointing games pick); -1 if none. */
export function peakIndex(values: readonly number[]): number {
  let best = -1;
  for (let i = 0; i < values.length; i += 1) {
    const v = values[i];
    if (v === undefined || !Number.isFinite(v)) continue;
    if (best < 0 || v > (values[best] ?? -Infinity)) best = i;
  }
  return best;
}

/**
 * The audio token heard at time t: the one whose `[start, end)` holds t (the last one also
 * holds its end); -1 when t falls outside every token.
 */
export function tokenAt(times: readonly (readonly number[])[], t: number): number {
  for (let i = 0; i < times.length; i += 1) {
    const [start = 0, end = 0] = times[i] ?? [];
    if (t >= start && (t < end || (i === times.length - 1 && t === end))) return i;
  }
  return -1;
}

export interface Bar {
  index: number;
  x: number;
  width: number;
  /** Height of the bar (0..height): the importance normalized to the curve's own range. */
  height: number;
}

/**
 * One bar per audio token, spanning the seconds it covers, as tall as its normalized importance
 * (a step curve, like the temporal curve). Tokens without a usable interval are left out.
 */
export function audioBars(
  importance: readonly number[],
  times: readonly (readonly number[])[],
  duration: number,
  width: number,
  height: number,
): Bar[] {
  const n = Math.min(importance.length, times.length);
  const level = normalizeCurve(importance.slice(0, n));
  const bars: Bar[] = [];
  for (let i = 0; i < n; i += 1) {
    const [start, end] = times[i] ?? [];
    if (start === undefined || end === undefined || !(end > start)) continue;
    const x0 = xAtTime(start, duration, width);
    const x1 = xAtTime(end, duration, width);
    bars.push({ index: i, x: x0, width: Math.max(0, x1 - x0), height: (level[i] ?? 0) * height });
  }
  return bars;
}

/** Sentence for screen readers (and tests): where the audio importance peaks. */
export function audioSummary(
  label: string,
  audio: AudioImportance,
  formatTime: (seconds: number) => string,
): string {
  const peak = peakIndex(audio.importance.slice(0, audio.times.length));
  if (peak < 0) return `Audio importance of ${label}: no audio tokens`;
  const [start = 0, end = 0] = audio.times[peak] ?? [];
  return (
    `Audio importance of ${label}: peak at ${formatTime(start)}–${formatTime(end)} ` +
    `(audio token ${peak + 1} of ${audio.times.length})`
  );
}

export interface Column {
  /** Top and bottom y of the envelope in this pixel column (top <= bottom). */
  top: number;
  bottom: number;
}

/** Quietest peak level that is still scaled up to the full height (about -26 dBFS). */
export const MIN_PEAK = 0.05;

/**
 * Gain that makes the loudest moment fill the strip (as most players draw waveforms), so quiet
 * recordings stay readable; a near-silent track is not blown up into noise (at most 1 / MIN_PEAK).
 */
export function waveformGain(waveform: Waveform): number {
  let peak = 0;
  for (const v of waveform.max) if (Number.isFinite(v)) peak = Math.max(peak, Math.abs(v));
  for (const v of waveform.min) if (Number.isFinite(v)) peak = Math.max(peak, Math.abs(v));
  return 1 / Math.min(1, Math.max(peak, MIN_PEAK));
}

/**
 * The waveform envelope sampled per pixel column over the video's duration: each column takes
 * the min and max of the bins it covers (at least the bin under its centre), so peaks survive
 * zooming out, times `gain`. Columns past the end of the sound are flat at the centre line.
 */
export function waveformColumns(
  waveform: Waveform,
  duration: number,
  width: number,
  height: number,
  gain = 1,
): Column[] {
  const mid = height / 2;
  const bins = Math.min(waveform.min.length, waveform.max.length);
  const rate = waveform.bins_per_second;
  const span = duration > 0 ? duration : waveform.duration;
  const columns: Column[] = [];
  if (width <= 0) return columns;
  for (let x = 0; x < width; x += 1) {
    const t0 = (x / width) * span;
    const t1 = ((x + 1) / width) * span;
    let first = Math.floor(t0 * rate);
    let last = Math.ceil(t1 * rate) - 1;
    if (last < first) last = first;
    first = Math.max(0, first);
    last = Math.min(bins - 1, last);
    let lo = 0;
    let hi = 0;
    for (let b = first; b <= last; b += 1) {
      lo = Math.min(lo, waveform.min[b] ?? 0);
      hi = Math.max(hi, waveform.max[b] ?? 0);
    }
    const clamp = (v: number) => Math.min(1, Math.max(-1, v));
    columns.push({ top: mid - clamp(hi * gain) * mid, bottom: mid - clamp(lo * gain) * mid });
  }
  return columns;
}

/**
 * A closed SVG/Path2D path of the envelope: the top edge left to right, the bottom edge back.
 * Each column spans [x, x + 1].
 */
export function envelopePath(columns: readonly Column[]): string {
  if (columns.length === 0) return "";
  const top = columns.map((c, x) => `${x === 0 ? "M" : "L"}${x},${fmt(c.top)} L${x + 1},${fmt(c.top)}`);
  const bottom: string[] = [];
  for (let x = columns.length - 1; x >= 0; x -= 1) {
    const c = columns[x] as Column;
    bottom.push(`L${x + 1},${fmt(c.bottom)} L${x},${fmt(c.bottom)}`);
  }
  return `${top.join(" ")} ${bottom.join(" ")} Z`;
}

/** True when the payload has the shape the strip can draw (anything else is not drawn). */
export function isWaveform(value: unknown): value is Waveform {
  if (!value || typeof value !== "object") return false;
  const w = value as Record<string, unknown>;
  return (
    typeof w.duration === "number" &&
    typeof w.bins_per_second === "number" &&
    w.bins_per_second > 0 &&
    Array.isArray(w.min) &&
    Array.isArray(w.max)
  );
}
