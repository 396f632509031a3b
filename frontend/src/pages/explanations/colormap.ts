/**
 * Colormaps as 256-entry RGB lookup tables. The anchors are the same as the server's export
 * renderer (workers/overlay.py), so an exported MP4 looks like the player.
 */

export type ColormapName = "jet" | "viridis" | "cividis" | "inferno" | "gray";

export const COLORMAPS: readonly ColormapName[] = ["jet", "viridis", "cividis", "inferno", "gray"];

/** Perceptually uniform maps that stay readable with colour-vision deficiencies. */
export const COLOUR_BLIND_SAFE: readonly ColormapName[] = ["viridis", "cividis"];

/** What the colour-map menus call each map. */
export function colormapTitle(name: ColormapName): string {
  return COLOUR_BLIND_SAFE.includes(name) ? `${name} (colour-blind safe)` : name;
}

type Anchor = [position: number, rgb: [number, number, number]];

const ANCHORS: Record<ColormapName, Anchor[]> = {
  jet: [
    [0.0, [0, 0, 131]],
    [0.125, [0, 0, 255]],
    [0.375, [0, 255, 255]],
    [0.625, [255, 255, 0]],
    [0.875, [255, 0, 0]],
    [1.0, [128, 0, 0]],
  ],
  viridis: [
    [0.0, [68, 1, 84]],
    [0.25, [59, 82, 139]],
    [0.5, [33, 145, 140]],
    [0.75, [94, 201, 98]],
    [1.0, [253, 231, 37]],
  ],
  // matplotlib's cividis at every eighth: uniform in lightness, no red-green contrast needed.
  cividis: [
    [0.0, [0, 34, 78]],
    [0.125, [26, 56, 111]],
    [0.25, [67, 78, 108]],
    [0.375, [97, 101, 111]],
    [0.5, [125, 124, 120]],
    [0.625, [155, 148, 118]],
    [0.75, [188, 174, 108]],
    [0.875, [222, 201, 88]],
    [1.0, [254, 232, 56]],
  ],
  inferno: [
    [0.0, [0, 0, 4]],
    [0.25, [87, 16, 110]],
    [0.5, [188, 55, 84]],
    [0.75, [249, 142, 9]],
    [1.0, [252, 255, 164]],
  ],
  gray: [
    [0.0, [0, 0, 0]],
    [1.0, [255, 255, 255]],
  ],
};

const cache = new Map<ColormapName, Uint8ClampedArray>();

/** A `256 x 3` table (flat RGB) for `name`: entry `i` is the colour of value `i / 255`. */
export function colormapLut(name: ColormapName): Uint8ClampedArray {
  const hit = cache.get(name);
  if (hit) return hit;
  const anchors = ANCHORS[name];
  if (!anchors) throw new Error(`unknown colormap ${name}`);
  const lut = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i += 1) {
    const x = i / 255;
    let k = 0;
    while (k < anchors.length - 2 && x > anchors[k + 1]![0]) k += 1;
    const [x0, c0] = anchors[k]!;
    const [x1, c1] = anchors[k + 1]!;
    const f = x1 > x0 ? Math.min(1, Math.max(0, (x - x0) / (x1 - x0))) : 0;
    for (let c = 0; c < 3; c += 1) {
      lut[i * 3 + c] = Math.round(c0[c]! + (c1[c]! - c0[c]!) * f);
    }
  }
  cache.set(name, lut);
  return lut;
}

/** CSS colour of value `v` in [0, 1] (legends, the temporal curve's fill). */
export function colormapCss(name: ColormapName, v: number): string {
  const lut = colormapLut(name);
  const i = Math.round(Math.min(1, Math.max(0, v)) * 255) * 3;
  return `rgb(${lut[i]!}, ${lut[i + 1]!}, ${lut[i + 2]!})`;
}
