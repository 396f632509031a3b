/**
 * Frames and time. Frame i of the playback file is shown from
 * timestamps[i] until timestamps[i + 1]; stepping seeks into the middle of
 * that interval so the browser shows exactly frame i.
 */

/** The frame shown at time `t` (the last frame whose timestamp is <= t). */
export function frameAtTime(timestamps: readonly number[], t: number): number {
  let lo = 0;
  let hi = timestamps.length - 1;
  let found = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (timestamps[mid]! <= t + 1e-6) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

/** How long frame i is shown (the last frame: as long as the one before it, or the rest of the video). */
export function frameDuration(timestamps: readonly number[], i: number, duration: number): number {
  const here = timestamps[i] ?? 0;
  const next = timestamps[i + 1];
  if (next !== undefined) return next - here;
  if (duration > here) return duration - here;
  const previous = timestamps[i - 1];
  return previous !== undefined ? here - previous : 0.04;
}

/** The time to seek to so the video shows frame i. */
export function seekTime(timestamps: readonly number[], i: number, duration: number): number {
  const here = timestamps[i] ?? 0;
  return here + frameDuration(timestamps, i, duration) / 2;
}

export function clampFrame(frame: number, nFrames: number): number {
  return Math.min(Math.max(Math.round(frame), 0), Math.max(nFrames - 1, 0));
}

export type SegmentBounds = { start: number; end: number } | { error: string };

/**
 * The segment marked with In on `inFrame` and Out on `outFrame`: from the
 * In frame's timestamp to the Out frame's, so it contains exactly the
 * timestamps of those frames. In and Out on the same frame give a segment
 * reaching halfway to the next frame (it contains that frame only).
 */
export function segmentBounds(timestamps: readonly number[], inFrame: number, outFrame: number, duration: number): SegmentBounds {
  if (outFrame < inFrame) return { error: "Out is before In: step to a later frame, or mark In again." };
  const start = timestamps[inFrame] ?? 0;
  if (outFrame > inFrame) return { start, end: timestamps[outFrame] ?? start };
  return { start, end: start + frameDuration(timestamps, inFrame, duration) / 2 };
}

/** "1.20 s" */
export function formatSeconds(t: number): string {
  return `${t.toFixed(2)} s`;
}
