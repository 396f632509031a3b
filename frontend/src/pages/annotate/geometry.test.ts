import { describe, expect, it } from "vitest";
import { boxFromPoints, cursorFor, dragBox, hitTest, isUsableBox, MIN_BOX_SIZE } from "./geometry";
import type { FrameBox } from "./model";

function fb(trackId: string, x0: number, y0: number, x1: number, y1: number): FrameBox {
  return { trackId, label: "jump", keyframe: true, tracked: false, occluded: false, x0, y0, x1, y1 };
}

describe("boxes from a drag", () => {
  it("orders corners and clips to the frame", () => {
    expect(boxFromPoints({ x: 50, y: 40 }, { x: 10.123, y: -5 }, 160, 120)).toEqual({ x0: 10.12, y0: 0, x1: 50, y1: 40 });
    expect(boxFromPoints({ x: 150, y: 100 }, { x: 200, y: 300 }, 160, 120)).toEqual({ x0: 150, y0: 100, x1: 160, y1: 120 });
  });

  it("ignores clicks that make no real box", () => {
    expect(isUsableBox(boxFromPoints({ x: 5, y: 5 }, { x: 6, y: 30 }, 160, 120))).toBe(false);
    expect(isUsableBox(boxFromPoints({ x: 5, y: 5 }, { x: 5 + MIN_BOX_SIZE, y: 30 }, 160, 120))).toBe(true);
  });
});

describe("hit testing", () => {
  const boxes = [fb("big", 0, 0, 100, 100), fb("small", 40, 40, 60, 60)];

  it("prefers the smallest box under the pointer", () => {
    expect(hitTest(boxes, { x: 50, y: 50 }, 3, null)).toEqual({ trackId: "small", part: "move" });
    expect(hitTest(boxes, { x: 10, y: 10 }, 3, null)).toEqual({ trackId: "big", part: "move" });
    expect(hitTest(boxes, { x: 130, y: 110 }, 3, null)).toBeNull();
  });

  it("finds the selected box's handles first", () => {
    expect(hitTest(boxes, { x: 41, y: 39 }, 3, "small")).toEqual({ trackId: "small", part: "nw" });
    expect(hitTest(boxes, { x: 100, y: 50 }, 3, "big")).toEqual({ trackId: "big", part: "e" });
    expect(hitTest(boxes, { x: 50, y: 101 }, 3, null)).toEqual({ trackId: "big", part: "s" });
  });

  it("names a cursor for every part", () => {
    expect(cursorFor(null)).toBe("crosshair");
    expect(cursorFor("move")).toBe("move");
    expect(cursorFor("ne")).toBe("nesw-resize");
  });
});

describe("dragging", () => {
  const box = { x0: 10, y0: 10, x1: 50, y1: 40 };

  it("moves a box and keeps it inside the frame", () => {
    expect(dragBox(box, "move", 5, 5, 160, 120)).toEqual({ x0: 15, y0: 15, x1: 55, y1: 45 });
    expect(dragBox(box, "move", 500, -50, 160, 120)).toEqual({ x0: 120, y0: 0, x1: 160, y1: 30 });
  });

  it("resizes from corners and edges without flipping", () => {
    expect(dragBox(box, "se", 10, 20, 160, 120)).toEqual({ x0: 10, y0: 10, x1: 60, y1: 60 });
    expect(dragBox(box, "nw", -20, -20, 160, 120)).toEqual({ x0: 0, y0: 0, x1: 50, y1: 40 });
    expect(dragBox(box, "w", 100, 0, 160, 120)).toEqual({ x0: 50 - MIN_BOX_SIZE, y0: 10, x1: 50, y1: 40 });
    expect(dragBox(box, "n", 0, 5, 160, 120)).toEqual({ x0: 10, y0: 15, x1: 50, y1: 40 });
  });
});
