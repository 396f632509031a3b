import { describe, expect, it } from "vitest";
import { clampFrame, formatSeconds, frameAtTime, segmentBounds, seekTime } from "./frames";
import { fromApi, toApi } from "./model";
import { addSegment, inSegment, removeSegment, segmentLabels } from "./segments";

const ts = [0, 0.1, 0.2, 0.3, 0.4];

describe("frames and time", () => {
  it("finds the frame shown at a time", () => {
    expect(frameAtTime(ts, 0)).toBe(0);
    expect(frameAtTime(ts, 0.15)).toBe(1);
    expect(frameAtTime(ts, 0.2)).toBe(2);
    expect(frameAtTime(ts, 9)).toBe(4);
    expect(frameAtTime(ts, -1)).toBe(0);
    // Variable frame rate.
    expect(frameAtTime([0, 0.1, 0.35, 0.4], 0.3)).toBe(1);
  });

  it("seeks into the middle of a frame", () => {
    expect(seekTime(ts, 1, 0.5)).toBeCloseTo(0.15);
    expect(seekTime(ts, 4, 0.5)).toBeCloseTo(0.45);
    expect(frameAtTime(ts, seekTime(ts, 3, 0.5))).toBe(3);
  });

  it("clamps frames", () => {
    expect(clampFrame(-3, 5)).toBe(0);
    expect(clampFrame(12, 5)).toBe(4);
  });

  it("turns In and Out marks into a segment", () => {
    expect(segmentBounds(ts, 1, 3, 0.5)).toEqual({ start: 0.1, end: 0.3 });
    const single = segmentBounds(ts, 2, 2, 0.5);
    expect(single).toEqual({ start: 0.2, end: expect.closeTo(0.25) });
    expect(segmentBounds(ts, 3, 1, 0.5)).toHaveProperty("error");
    expect(formatSeconds(1.2)).toBe("1.20 s");
  });
});

describe("segments", () => {
  it("merges overlapping segments of one kind and keeps kinds apart", () => {
    let segments = addSegment([], { kind: "visual", label: "jump", start: 0.2, end: 0.5 });
    segments = addSegment(segments, { kind: "sound", label: "jump", start: 0.3, end: 0.6 });
    segments = addSegment(segments, { kind: "visual", label: "jump", start: 0.4, end: 0.9 });
    segments = addSegment(segments, { kind: "visual", label: "jump", start: 1.5, end: 1.8 });
    expect(segments).toEqual([
      { kind: "visual", label: "jump", start: 0.2, end: 0.9 },
      { kind: "visual", label: "jump", start: 1.5, end: 1.8 },
      { kind: "sound", label: "jump", start: 0.3, end: 0.6 },
    ]);
    expect(inSegment(segments, "visual", 0.9)).toBe(true);
    expect(inSegment(segments, "sound", 0.9)).toBe(false);
    expect(removeSegment(segments, 0)).toHaveLength(2);
  });

  it("keeps segments of different labels apart, even when they overlap", () => {
    let segments = addSegment([], { kind: "visual", label: "jump", start: 0.2, end: 0.5 });
    segments = addSegment(segments, { kind: "visual", label: "fall", start: 0.4, end: 0.9 });
    segments = addSegment(segments, { kind: "visual", label: "fall", start: 0.9, end: 1.2 });
    expect(segments).toEqual([
      { kind: "visual", label: "jump", start: 0.2, end: 0.5 },
      { kind: "visual", label: "fall", start: 0.4, end: 1.2 },
    ]);
    expect(inSegment(segments, "visual", 0.45, "jump")).toBe(true);
    expect(inSegment(segments, "visual", 0.7, "jump")).toBe(false);
    expect(segmentLabels(segments, "visual")).toEqual(["jump", "fall"]);
    expect(segmentLabels(segments, "visual", "fall")).toEqual(["fall", "jump"]);
    expect(segmentLabels(segments, "sound")).toEqual([]);
  });

  it("reads segments without a label as the task's and writes every label back", () => {
    const doc = fromApi(
      { tracks: [], segments: [{ kind: "visual", start: 0.1, end: 0.4 }, { kind: "sound", label: "bark", start: 0.2, end: 0.3 }] },
      "dog",
    );
    expect(doc.segments.map((s) => s.label)).toEqual(["dog", "bark"]);
    expect(toApi(doc).segments).toEqual([
      { kind: "visual", label: "dog", start: 0.1, end: 0.4 },
      { kind: "sound", label: "bark", start: 0.2, end: 0.3 },
    ]);
  });
});
