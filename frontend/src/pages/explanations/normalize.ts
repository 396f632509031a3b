/**
 * The display rule shared by the review player and the participant trials: how a decoded map
 * (values in 0..1 over the whole clip) is scaled before the threshold.
 *
 * - `frame`: each frame on its own, `(v - min_f) / (max_f - min_f)`; every frame with any
 *   variation shows its own hottest region (a constant frame shows nothing);
 * - `clip`: the whole clip at once (the volume as decoded); quiet frames stay quiet.
 *
 * The server applies the same rule when it checks a study's stimuli
 * (`studies/services/display.py`).
 */
import type { HeatVolume } from "./heatmap";

export type Normalization = "frame" | "clip";

export const NORMALIZATIONS: readonly { value: Normalization; label: string; help: string }[] = [
  { value: "frame", label: "Per frame", help: "each frame scaled on its own" },
  { value: "clip", label: "Per clip", help: "one scale for the whole clip" },
];

export function parseNormalization(text: string | null | undefined): Normalization {
  return text === "clip" ? "clip" : "frame";
}

/** The volume with each frame rescaled to its own 0..1 range (a new array). */
export function normalizePerFrame(volume: HeatVolume): HeatVolume {
  const size = volume.h * volume.w;
  const values = new Float32Array(volume.values.length);
  for (let k = 0; k < volume.t; k += 1) {
    const start = k * size;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = start; i < start + size; i += 1) {
      const v = volume.values[i]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const span = hi - lo;
    if (!(span > 0)) continue; // a constant frame: all zero, nothing drawn
    for (let i = start; i < start + size; i += 1) values[i] = (volume.values[i]! - lo) / span;
  }
  return { t: volume.t, h: volume.h, w: volume.w, values };
}

/** The volume as drawn under `rule`. */
export function displayVolume(volume: HeatVolume, rule: Normalization): HeatVolume {
  return rule === "frame" ? normalizePerFrame(volume) : volume;
}

/** Whether frame `k` of a displayed volume has any cell at or above `threshold`. */
export function frameShows(volume: HeatVolume, k: number, threshold: number): boolean {
  const size = volume.h * volume.w;
  if (k < 0 || k >= volume.t) return false;
  for (let i = k * size; i < (k + 1) * size; i += 1) {
    const v = volume.values[i]!;
    if (v >= threshold && v > 0) return true;
  }
  return false;
}
