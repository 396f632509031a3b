import { describe, expect, it } from "vitest";
import { unseenBands, viewRect } from "./view";

describe("viewRect", () => {
  it("scales the view from video pixels to the canvas", () => {
    // a 96x48 video drawn on a 480x240 canvas; the model saw x 24..72
    expect(viewRect([24, 0, 72, 48], 96, 48, 480, 240)).toEqual({ x0: 120, y0: 0, x1: 360, y1: 240 });
  });

  it("is null for the whole frame, an unknown size or a malformed view", () => {
    expect(viewRect([0, 0, 96, 48], 96, 48, 480, 240)).toBeNull();
    expect(viewRect(null, 96, 48, 480, 240)).toBeNull();
    expect(viewRect([24, 0, 72, 48], null, 48, 480, 240)).toBeNull();
    expect(viewRect([72, 0, 24, 48], 96, 48, 480, 240)).toBeNull();
    expect(viewRect([Number.NaN, 0, 24, 48], 96, 48, 480, 240)).toBeNull();
  });

  it("keeps at least one pixel inside the canvas", () => {
    expect(viewRect([95.99, 0, 96, 48], 96, 48, 96, 48)).toEqual({ x0: 95, y0: 0, x1: 96, y1: 48 });
  });
});

describe("unseenBands", () => {
  it("covers exactly the frame outside the view", () => {
    const rect = { x0: 120, y0: 20, x1: 360, y1: 200 };
    const bands = unseenBands(rect, 480, 240);
    const area = bands.reduce((sum, b) => sum + (b.x1 - b.x0) * (b.y1 - b.y0), 0);
    expect(area).toBe(480 * 240 - 240 * 180);
    expect(bands).toHaveLength(4);
  });

  it("gives two side bands for a centre crop of a wide frame", () => {
    expect(unseenBands({ x0: 120, y0: 0, x1: 360, y1: 240 }, 480, 240)).toEqual([
      { x0: 0, y0: 0, x1: 120, y1: 240 },
      { x0: 360, y0: 0, x1: 480, y1: 240 },
    ]);
  });
});
