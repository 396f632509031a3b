/**
 * Windowed (whole-video) explanations: the map is one row per window frame, stacked in window
 * order, and the server says which row shows when (`windows.schedule`: the window centred
 * nearest the time, its last frame at or before it) and gives one curve over the whole span
 * (`windows.curve`, the overlap rule of docs/methods.md). One-clip explanations have neither;
 * these helpers answer the same questions for both.
 */
import type { Explanation } from "./api";
import { mapFrameAt } from "./heatmap";

type Shown = Pick<Explanation, "timestamps" | "temporal" | "windows">;

/** The map row shown at video time `t`. */
export function mapRowAt(explanation: Shown, t: number): number {
  const windows = explanation.windows;
  if (!windows) return mapFrameAt(explanation.timestamps, t);
  const { times, rows } = windows.schedule;
  return rows[mapFrameAt(times, t)] ?? 0;
}

/** The temporal curve to draw under the seek bar: the whole-span curve when windowed. */
export function curveOf(explanation: Shown): { temporal: number[]; timestamps: number[] } {
  const windows = explanation.windows;
  if (!windows) return { temporal: explanation.temporal, timestamps: explanation.timestamps };
  return { temporal: windows.curve.importance, timestamps: windows.curve.times };
}

/**
 * A peak given as a map row (the server's temporal pointing game) as an index of the drawn
 * curve: the curve point at that row's time when windowed, the row itself otherwise.
 */
export function peakOnCurve(explanation: Shown, row: number | null): number | null {
  const windows = explanation.windows;
  if (row === null || !windows) return row;
  const time = explanation.timestamps[row];
  return time === undefined ? null : mapFrameAt(windows.curve.times, time);
}

/** "12 windows of 2 s" for a windowed explanation, null for one clip. */
export function windowsSummary(explanation: Shown): string | null {
  const windows = explanation.windows;
  if (!windows) return null;
  const n = windows.spans.length;
  return `whole span · ${n} window${n === 1 ? "" : "s"} of ${Number(windows.window.toFixed(2))} s`;
}
