/**
 * The view of an explanation: the rectangle `[x0, y0, x1, y1]` (video pixels) of the frame its
 * model saw. A model that centre-crops sees only part of a wide or tall frame; its map's cells
 * tile the view, and the rest of the frame is "not seen": drawn as such, never as low importance
 * (the same rule as the server's exports and scoring).
 */

export interface PixelRect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/**
 * The view in canvas pixels (`width` x `height` canvas over a `videoWidth` x `videoHeight`
 * frame), whole pixels, at least one pixel; null when the view is the whole frame (or unknown).
 */
export function viewRect(
  view: readonly number[] | null | undefined,
  videoWidth: number | null | undefined,
  videoHeight: number | null | undefined,
  width: number,
  height: number,
): PixelRect | null {
  if (!view || view.length !== 4 || !videoWidth || !videoHeight) return null;
  const [vx0 = 0, vy0 = 0, vx1 = 0, vy1 = 0] = view;
  if (![vx0, vy0, vx1, vy1].every(Number.isFinite) || vx1 <= vx0 || vy1 <= vy0) return null;
  const sx = width / videoWidth;
  const sy = height / videoHeight;
  const x0 = Math.min(Math.max(Math.round(vx0 * sx), 0), width - 1);
  const y0 = Math.min(Math.max(Math.round(vy0 * sy), 0), height - 1);
  const x1 = Math.min(Math.max(Math.round(vx1 * sx), x0 + 1), width);
  const y1 = Math.min(Math.max(Math.round(vy1 * sy), y0 + 1), height);
  if (x0 === 0 && y0 === 0 && x1 === width && y1 === height) return null;
  return { x0, y0, x1, y1 };
}

/** The parts of a `width` x `height` frame outside `rect` (up to four bands, no overlap). */
export function unseenBands(rect: PixelRect, width: number, height: number): PixelRect[] {
  const bands: PixelRect[] = [
    { x0: 0, y0: 0, x1: width, y1: rect.y0 },
    { x0: 0, y0: rect.y1, x1: width, y1: height },
    { x0: 0, y0: rect.y0, x1: rect.x0, y1: rect.y1 },
    { x0: rect.x1, y0: rect.y0, x1: width, y1: rect.y1 },
  ];
  return bands.filter((b) => b.x1 > b.x0 && b.y1 > b.y0);
}
