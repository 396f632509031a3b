import { describe, expect, it } from "vitest";
import { curveOf, mapRowAt, peakOnCurve, windowsSummary } from "./windows";

const oneClip = { timestamps: [0, 0.5, 1, 1.5], temporal: [1, 2, 3, 4], windows: null };

// Two windows of 4 frames, [0, 2) and [1, 3); the second owns times from 1.5 s on.
const windowed = {
  timestamps: [0, 0.5, 1, 1.5, 1, 1.5, 2, 2.5],
  temporal: [1, 1, 1, 3, 1, 3, 1, 1],
  windows: {
    window: 2,
    stride: 1,
    frames_per_window: 4,
    spans: [
      [0, 2],
      [1, 3],
    ],
    targets: [0, 0],
    curve: { times: [0, 0.5, 1, 1.5, 2, 2.5], importance: [1, 1, 1, 3, 1, 1] },
    schedule: { times: [0, 0.5, 1, 1.5, 2, 2.5], rows: [0, 1, 2, 5, 6, 7] },
  },
};

describe("windowed explanations", () => {
  it("show the row the schedule names, one-clip ones the frame by time", () => {
    expect(mapRowAt(oneClip, 1.2)).toBe(2);
    expect(mapRowAt(windowed, 0.2)).toBe(0);
    expect(mapRowAt(windowed, 1.2)).toBe(2); // window 0 still owns 1.2 s
    expect(mapRowAt(windowed, 1.6)).toBe(5); // window 1's frame at 1.5 s
    expect(mapRowAt(windowed, 9)).toBe(7);
  });

  it("draw the whole-span curve and put the server's peak row on it", () => {
    expect(curveOf(oneClip).temporal).toEqual([1, 2, 3, 4]);
    expect(curveOf(windowed).timestamps).toEqual([0, 0.5, 1, 1.5, 2, 2.5]);
    expect(peakOnCurve(windowed, 5)).toBe(3); // row 5 is at 1.5 s: curve point 3
    expect(peakOnCurve(oneClip, 2)).toBe(2);
    expect(peakOnCurve(windowed, null)).toBeNull();
    expect(windowsSummary(windowed)).toBe("whole span · 2 windows of 2 s");
    expect(windowsSummary(oneClip)).toBeNull();
  });
});
