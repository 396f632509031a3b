import { describe, expect, it } from "vitest";
import { arrowSeekTime, curveGeometry, normalizeCurve, timeAtX, xAtTime } from "./curve";

describe("curve geometry", () => {
  it("maps time to x and back", () => {
    expect(xAtTime(1, 4, 200)).toBe(50);
    expect(timeAtX(50, 200, 4)).toBe(1);
    expect(xAtTime(9, 4, 200)).toBe(200);
    expect(timeAtX(-5, 200, 4)).toBe(0);
    expect(xAtTime(1, 0, 200)).toBe(0);
  });

  it("normalizes to the curve's own range", () => {
    expect(normalizeCurve([2, 4, 3])).toEqual([0, 1, 0.5]);
    expect(normalizeCurve([5, 5])).toEqual([0, 0]);
  });

  it("draws a step per map frame until the next one", () => {
    const g = curveGeometry([0, 1], [0, 1], 2, 100, 10);
    expect(g.line).toBe("M0,10 L50,10 L50,0 L100,0");
    expect(g.area).toBe("M0,10 L0,10 L50,10 L50,0 L100,0 L100,10 Z");
    expect(g.peakIndex).toBe(1);
    expect(g.peakX).toBe(75);
  });

  it("puts the peak at the frame it is given (the server's) instead of its own maximum", () => {
    const g = curveGeometry([0.9, 0.2, 0.5], [0, 1, 2], 3, 30, 10, 2);
    expect(g.peakIndex).toBe(2);
    expect(g.peakX).toBe(25);
    // Out of range or missing: the curve's own maximum.
    expect(curveGeometry([0.9, 0.2, 0.5], [0, 1, 2], 3, 30, 10, 7).peakIndex).toBe(0);
    expect(curveGeometry([0.9, 0.2, 0.5], [0, 1, 2], 3, 30, 10, null).peakIndex).toBe(0);
  });

  it("takes the first peak on ties and copes with nothing", () => {
    expect(curveGeometry([1, 3, 3], [0, 1, 2], 3, 30, 10).peakIndex).toBe(1);
    expect(curveGeometry([], [], 3, 30, 10)).toEqual({ area: "", line: "", peakX: 0, peakIndex: -1 });
  });
});

describe("arrowSeekTime", () => {
  it("steps a twentieth of the clip and stays inside it", () => {
    expect(arrowSeekTime("ArrowRight", 1, 2)).toBeCloseTo(1.1);
    expect(arrowSeekTime("ArrowLeft", 1, 2)).toBeCloseTo(0.9);
    expect(arrowSeekTime("ArrowRight", 1.95, 2)).toBe(2);
    expect(arrowSeekTime("ArrowLeft", 0.05, 2)).toBe(0);
    expect(arrowSeekTime("Enter", 1, 2)).toBeNull();
  });
});
