/**
 * Assisted tracking in the document: the tracker's proposals become `tracked` boxes of a track
 * (never over a box the annotator drew), can be discarded again, and a correction of a tracked
 * box finds the run of tracked boxes after it to track again.
 */
import type { Box, Keyframe, Track } from "./model";

export type Direction = "forward" | "backward";

export interface ProposedBox extends Box {
  frame: number;
}

/**
 * Put the proposals into the track as tracked boxes, in tracking order from `start`, stopping
 * at the first frame where the annotator has a box of their own. Tracked boxes already there
 * are replaced. Returns the track and the frames that now hold a proposal.
 */
export function mergeTracked(
  track: Track,
  boxes: readonly ProposedBox[],
  start: number,
  direction: Direction,
): { track: Track; frames: number[] } {
  const own = new Set(track.keyframes.filter((k) => !k.tracked).map((k) => k.frame));
  const ordered = [...boxes].sort((a, b) => (direction === "forward" ? a.frame - b.frame : b.frame - a.frame));
  const frames: number[] = [];
  for (const box of ordered) {
    if (direction === "forward" ? box.frame <= start : box.frame >= start) continue;
    if (own.has(box.frame)) break;
    frames.push(box.frame);
  }
  const taken = new Set(frames);
  const kept = track.keyframes.filter((k) => !taken.has(k.frame));
  const added: Keyframe[] = boxes
    .filter((b) => taken.has(b.frame))
    .map((b) => ({ frame: b.frame, x0: b.x0, y0: b.y0, x1: b.x1, y1: b.y1, outside: false, occluded: false, tracked: true }));
  return {
    track: { ...track, keyframes: [...kept, ...added].sort((a, b) => a.frame - b.frame) },
    frames: frames.sort((a, b) => a - b),
  };
}

/** Remove the tracked boxes on `frames` (boxes the annotator drew stay). */
export function discardTracked(track: Track, frames: readonly number[]): Track | null {
  const drop = new Set(frames);
  const keyframes = track.keyframes.filter((k) => !(k.tracked && drop.has(k.frame)));
  return keyframes.length ? { ...track, keyframes } : null;
}

/** The consecutive tracked frames right after (or before) `frame`, nearest first. */
export function trackedRun(track: Track, frame: number, direction: Direction): number[] {
  const tracked = new Set(track.keyframes.filter((k) => k.tracked).map((k) => k.frame));
  const step = direction === "forward" ? 1 : -1;
  const run: number[] = [];
  for (let f = frame + step; tracked.has(f); f += step) run.push(f);
  return run;
}

/**
 * How many frames to track from `frame` to reach the end of the segment: the frame before the
 * annotator's next own box that way, or the video's edge.
 */
export function framesToSegmentEnd(track: Track, frame: number, direction: Direction, nFrames: number): number {
  const own = track.keyframes.filter((k) => !k.tracked).map((k) => k.frame);
  if (direction === "forward") {
    const next = own.filter((f) => f > frame).sort((a, b) => a - b)[0];
    return (next ?? nFrames) - 1 - frame;
  }
  const previous = own.filter((f) => f < frame).sort((a, b) => b - a)[0];
  return frame - ((previous ?? -1) + 1);
}
