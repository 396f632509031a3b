import { describe, expect, it } from "vitest";
import type { HeatVolume } from "./heatmap";
import { displayVolume, frameShows, normalizePerFrame, parseNormalization } from "./normalize";

// Two 1x2 frames: a loud one (peak 1.0) and a quiet one (peak 0.1 of the clip maximum).
const volume: HeatVolume = { t: 3, h: 1, w: 2, values: new Float32Array([0, 1, 0.05, 0.1, 0.3, 0.3]) };

describe("normalizePerFrame", () => {
  it("scales each frame to its own range, so a quiet frame still shows its peak", () => {
    const out = normalizePerFrame(volume);
    expect(Array.from(out.values.slice(0, 2))).toEqual([0, 1]);
    expect(out.values[2]).toBeCloseTo(0);
    expect(out.values[3]).toBeCloseTo(1);
    // a constant frame has nothing to show
    expect(Array.from(out.values.slice(4))).toEqual([0, 0]);
    expect(frameShows(out, 1, 0.2)).toBe(true);
    expect(frameShows(out, 2, 0.2)).toBe(false);
  });

  it("per clip leaves the volume as decoded: the quiet frame is below a 20% threshold", () => {
    const clip = displayVolume(volume, "clip");
    expect(clip).toBe(volume);
    expect(frameShows(clip, 0, 0.2)).toBe(true);
    expect(frameShows(clip, 1, 0.2)).toBe(false);
  });

  it("reads the rule from a URL parameter, per frame by default", () => {
    expect(parseNormalization(null)).toBe("frame");
    expect(parseNormalization("clip")).toBe("clip");
    expect(parseNormalization("nonsense")).toBe("frame");
  });
});
