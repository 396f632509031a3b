/**
 * Boxes on the canvas: building them from a drag, keeping them inside the
 * frame, and finding what the pointer is on. All coordinates are
 * source-video pixels; `tolerance` is how near (in source pixels) counts as
 * touching a corner or an edge.
 */
import type { Box, FrameBox } from "./model";

export interface Point {
  x: number;
  y: number;
}

export type Handle = "nw" | "n" | "ne" | "e" | "se" | "s" | "sw" | "w";
export type Part = "move" | Handle;

export interface Hit {
  trackId: string;
  part: Part;
}

/** Smallest width or height a box may have, in source pixels. */
export const MIN_BOX_SIZE = 2;

export function clamp(value: number, lo: number, hi: number): number {
  return Math.min(Math.max(value, lo), hi);
}

/** Round to 0.01 px, the precision the server keeps. */
export function quantize(value: number): number {
  return Math.round(value * 100) / 100;
}

export function quantizeBox(box: Box): Box {
  return { x0: quantize(box.x0), y0: quantize(box.y0), x1: quantize(box.x1), y1: quantize(box.y1) };
}

export function boxWidth(box: Box): number {
  return box.x1 - box.x0;
}

export function boxHeight(box: Box): number {
  return box.y1 - box.y0;
}

/** The box spanned by two corners, clipped to the W x H frame. */
export function boxFromPoints(a: Point, b: Point, width: number, height: number): Box {
  return quantizeBox({
    x0: clamp(Math.min(a.x, b.x), 0, width),
    y0: clamp(Math.min(a.y, b.y), 0, height),
    x1: clamp(Math.max(a.x, b.x), 0, width),
    y1: clamp(Math.max(a.y, b.y), 0, height),
  });
}

export function isUsableBox(box: Box): boolean {
  return boxWidth(box) >= MIN_BOX_SIZE && boxHeight(box) >= MIN_BOX_SIZE;
}

export function contains(box: Box, p: Point): boolean {
  return p.x >= box.x0 && p.x <= box.x1 && p.y >= box.y0 && p.y <= box.y1;
}

function handlePoints(box: Box): [Handle, Point][] {
  const cx = (box.x0 + box.x1) / 2;
  const cy = (box.y0 + box.y1) / 2;
  return [
    ["nw", { x: box.x0, y: box.y0 }],
    ["ne", { x: box.x1, y: box.y0 }],
    ["se", { x: box.x1, y: box.y1 }],
    ["sw", { x: box.x0, y: box.y1 }],
    ["n", { x: cx, y: box.y0 }],
    ["e", { x: box.x1, y: cy }],
    ["s", { x: cx, y: box.y1 }],
    ["w", { x: box.x0, y: cy }],
  ];
}

/** Which handle of `box` is within `tolerance` of `p` (corners first). */
export function handleAt(box: Box, p: Point, tolerance: number): Handle | null {
  for (const [handle, q] of handlePoints(box)) {
    if (Math.abs(p.x - q.x) <= tolerance && Math.abs(p.y - q.y) <= tolerance) return handle;
  }
  return null;
}

/**
 * What the pointer is on: a handle of the selected box first, then the
 * smallest box containing the point (so a small box inside a big one can
 * still be grabbed), then a handle of any other box.
 */
export function hitTest(boxes: readonly FrameBox[], p: Point, tolerance: number, selectedId: string | null): Hit | null {
  const selected = boxes.find((b) => b.trackId === selectedId);
  if (selected) {
    const handle = handleAt(selected, p, tolerance);
    if (handle) return { trackId: selected.trackId, part: handle };
  }
  const inside = boxes
    .filter((b) => contains(b, p))
    .sort((a, b) => boxWidth(a) * boxHeight(a) - boxWidth(b) * boxHeight(b));
  if (inside.length) return { trackId: inside[0]!.trackId, part: "move" };
  for (const box of boxes) {
    const handle = handleAt(box, p, tolerance);
    if (handle) return { trackId: box.trackId, part: handle };
  }
  return null;
}

/**
 * The box after dragging `part` by (dx, dy): moving keeps the size and stays
 * inside the frame; resizing moves the grabbed edges, never past the
 * opposite edge (the box keeps at least MIN_BOX_SIZE) nor out of the frame.
 */
export function dragBox(box: Box, part: Part, dx: number, dy: number, width: number, height: number): Box {
  if (part === "move") {
    const w = boxWidth(box);
    const h = boxHeight(box);
    const x0 = clamp(box.x0 + dx, 0, Math.max(width - w, 0));
    const y0 = clamp(box.y0 + dy, 0, Math.max(height - h, 0));
    return quantizeBox({ x0, y0, x1: x0 + w, y1: y0 + h });
  }
  let { x0, y0, x1, y1 } = box;
  if (part.includes("w")) x0 = clamp(box.x0 + dx, 0, box.x1 - MIN_BOX_SIZE);
  if (part.includes("e")) x1 = clamp(box.x1 + dx, box.x0 + MIN_BOX_SIZE, width);
  if (part.includes("n")) y0 = clamp(box.y0 + dy, 0, box.y1 - MIN_BOX_SIZE);
  if (part.includes("s")) y1 = clamp(box.y1 + dy, box.y0 + MIN_BOX_SIZE, height);
  return quantizeBox({ x0, y0, x1, y1 });
}

/** The CSS cursor for a part of a box. */
export function cursorFor(part: Part | null): string {
  if (part === null) return "crosshair";
  if (part === "move") return "move";
  return { nw: "nwse-resize", se: "nwse-resize", ne: "nesw-resize", sw: "nesw-resize", n: "ns-resize", s: "ns-resize", e: "ew-resize", w: "ew-resize" }[part];
}
