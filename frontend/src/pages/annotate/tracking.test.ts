import { describe, expect, it } from "vitest";
import type { Track } from "./model";
import { discardTracked, framesToSegmentEnd, mergeTracked, trackedRun } from "./tracking";

const kf = (frame: number, tracked = false) => ({
  frame,
  x0: frame,
  y0: 0,
  x1: frame + 10,
  y1: 10,
  outside: false,
  occluded: false,
  ...(tracked ? { tracked: true } : {}),
});
const track = (...frames: ReturnType<typeof kf>[]): Track => ({ id: "t", label: "jump", keyframes: frames });
const box = (frame: number) => ({ frame, x0: 100 + frame, y0: 1, x1: 120 + frame, y1: 11 });

describe("mergeTracked", () => {
  it("adds proposals as tracked boxes and stops at the annotator's next own box", () => {
    const { track: merged, frames } = mergeTracked(track(kf(2), kf(6)), [3, 4, 5, 6, 7].map(box), 2, "forward");
    expect(frames).toEqual([3, 4, 5]);
    expect(merged.keyframes.map((k) => [k.frame, Boolean(k.tracked)])).toEqual([
      [2, false],
      [3, true],
      [4, true],
      [5, true],
      [6, false],
    ]);
    expect(merged.keyframes[1]!.x0).toBe(103);
  });

  it("replaces older tracked boxes and works backward", () => {
    const { track: merged, frames } = mergeTracked(track(kf(1), kf(3, true), kf(5)), [4, 3, 2].map(box), 5, "backward");
    expect(frames).toEqual([2, 3, 4]);
    expect(merged.keyframes.find((k) => k.frame === 3)!.x0).toBe(103);
    expect(merged.keyframes).toHaveLength(5);
  });
});

describe("discardTracked and trackedRun", () => {
  it("removes only tracked boxes and finds the run after a frame", () => {
    const t = track(kf(0), kf(1, true), kf(2, true), kf(3), kf(4, true));
    expect(trackedRun(t, 0, "forward")).toEqual([1, 2]);
    expect(trackedRun(t, 3, "backward")).toEqual([2, 1]);
    expect(discardTracked(t, [1, 2, 3])!.keyframes.map((k) => k.frame)).toEqual([0, 3, 4]);
  });
});

describe("framesToSegmentEnd", () => {
  it("counts to the frame before the next own box, or the video's edge", () => {
    const t = track(kf(2), kf(8), kf(5, true));
    expect(framesToSegmentEnd(t, 2, "forward", 20)).toBe(5);
    expect(framesToSegmentEnd(t, 8, "forward", 20)).toBe(11);
    expect(framesToSegmentEnd(t, 8, "backward", 20)).toBe(5);
    expect(framesToSegmentEnd(t, 2, "backward", 20)).toBe(2);
  });
});
