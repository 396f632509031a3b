import { describe, expect, it } from "vitest";
import {
  neighbourKeyframe,
  setKeyframe,
  shapeAt,
  toggleKeyframe,
  toggleOccluded,
  toggleOutside,
  visibleBoxes,
} from "./interpolation";
import type { Keyframe, Track } from "./model";

function kf(frame: number, x0: number, y0: number, x1: number, y1: number, flags: Partial<Keyframe> = {}): Keyframe {
  return { frame, x0, y0, x1, y1, outside: false, occluded: false, ...flags };
}

const track: Track = { id: "a", label: "jump", keyframes: [kf(2, 10, 10, 30, 30), kf(6, 50, 30, 90, 70)] };

describe("shapeAt", () => {
  it("has no box before the first keyframe or past the end", () => {
    expect(shapeAt(track, 1, 20)).toBeNull();
    expect(shapeAt(track, 20, 20)).toBeNull();
  });

  it("interpolates linearly between keyframes", () => {
    expect(shapeAt(track, 4, 20)).toEqual({
      box: { x0: 30, y0: 20, x1: 60, y1: 50 },
      keyframe: false,
      tracked: false,
      outside: false,
      occluded: false,
    });
    expect(shapeAt(track, 3, 20)?.box.x1).toBeCloseTo(45);
    expect(shapeAt(track, 6, 20)?.keyframe).toBe(true);
  });

  it("keeps the last box until the end of the video", () => {
    expect(shapeAt(track, 19, 20)?.box).toEqual({ x0: 50, y0: 30, x1: 90, y1: 70 });
  });

  it("hides the track after an outside keyframe until the next one", () => {
    const gone: Track = { ...track, keyframes: [kf(0, 0, 0, 10, 10), kf(4, 40, 0, 50, 10, { outside: true }), kf(8, 80, 0, 90, 10)] };
    expect(shapeAt(gone, 2, 20)?.box.x0).toBe(20);
    expect(shapeAt(gone, 4, 20)?.outside).toBe(true);
    expect(shapeAt(gone, 5, 20)).toBeNull();
    expect(shapeAt(gone, 8, 20)?.box.x0).toBe(80);
    expect(visibleBoxes({ tracks: [gone], segments: [] }, 4, 20)).toEqual([]);
  });

  it("copies the occluded flag of the keyframe before", () => {
    const hidden: Track = { ...track, keyframes: [kf(0, 0, 0, 10, 10, { occluded: true }), kf(2, 20, 0, 30, 10)] };
    expect(shapeAt(hidden, 1, 5)?.occluded).toBe(true);
    expect(shapeAt(hidden, 2, 5)?.occluded).toBe(false);
  });
});

describe("keyframe edits", () => {
  it("sets a keyframe at the interpolated box and removes it again", () => {
    const added = toggleKeyframe(track, 4, 20)!;
    expect(added.keyframes.map((k) => k.frame)).toEqual([2, 4, 6]);
    expect(added.keyframes[1]).toMatchObject({ x0: 30, y0: 20, x1: 60, y1: 50, outside: false });
    const removed = toggleKeyframe(added, 4, 20)!;
    expect(removed.keyframes.map((k) => k.frame)).toEqual([2, 6]);
  });

  it("removing the only keyframe removes the track", () => {
    const single: Track = { ...track, keyframes: [kf(2, 10, 10, 30, 30)] };
    expect(toggleKeyframe(single, 2, 20)).toBeNull();
  });

  it("moving a box on an interpolated frame makes it a keyframe", () => {
    const moved = setKeyframe(track, 4, { x0: 0, y0: 0, x1: 5, y1: 5 }, 20);
    expect(moved.keyframes.map((k) => k.frame)).toEqual([2, 4, 6]);
    expect(shapeAt(moved, 3, 20)?.box.x0).toBe(5);
    expect(track.keyframes).toHaveLength(2); // never mutated
  });

  it("marks the object leaving and coming back", () => {
    const left = toggleOutside(track, 10, 20);
    expect(left.keyframes.at(-1)).toMatchObject({ frame: 10, outside: true, x0: 50 });
    expect(shapeAt(left, 12, 20)).toBeNull();
    const back = toggleOutside(left, 14, 20);
    expect(back.keyframes.at(-1)).toMatchObject({ frame: 14, outside: false, x0: 50 });
    expect(shapeAt(back, 15, 20)?.box.x0).toBe(50);
    const undone = toggleOutside(left, 10, 20);
    expect(shapeAt(undone, 12, 20)).not.toBeNull();
  });

  it("toggles occluded from a frame on", () => {
    const hidden = toggleOccluded(track, 4, 20);
    expect(hidden.keyframes.find((k) => k.frame === 4)?.occluded).toBe(true);
    expect(shapeAt(hidden, 5, 20)?.occluded).toBe(true);
    expect(shapeAt(hidden, 6, 20)?.occluded).toBe(false);
  });

  it("finds neighbouring keyframes", () => {
    expect(neighbourKeyframe(track, 4, 1)).toBe(6);
    expect(neighbourKeyframe(track, 4, -1)).toBe(2);
    expect(neighbourKeyframe(track, 2, -1)).toBeNull();
  });
});

describe("hold (interpolation off)", () => {
  it("keeps the box until the next keyframe and toggles back", async () => {
    const { shapeAt: at, toggleHold, holdsAt } = await import("./interpolation");
    const track = {
      id: "t",
      label: "jump",
      keyframes: [
        { frame: 0, x0: 0, y0: 0, x1: 10, y1: 10, outside: false, occluded: false },
        { frame: 10, x0: 20, y0: 0, x1: 30, y1: 10, outside: false, occluded: false },
      ],
    };
    expect(at(track, 5, 20)!.box.x0).toBe(10);
    const held = toggleHold(track, 5);
    expect(holdsAt(held, 5)).toBe(true);
    expect(at(held, 5, 20)!.box.x0).toBe(0);
    expect(at(held, 10, 20)!.box.x0).toBe(20);
    expect(holdsAt(toggleHold(held, 3), 3)).toBe(false);
  });
});
