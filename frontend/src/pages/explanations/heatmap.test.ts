import { describe, expect, it } from "vitest";
import { colormapLut } from "./colormap";
import { colorize, decodeMap, frameOf, mapFrameAt, upsampleBilinear } from "./heatmap";

function payload(values: number[], shape: number[]) {
  const bytes = String.fromCharCode(...values);
  return { shape, dtype: "uint8", offset: -1, scale: 0.01, data: btoa(bytes) };
}

describe("decodeMap", () => {
  it("normalizes the quantized values to [0, 1]", () => {
    const volume = decodeMap(payload([10, 20, 30, 110], [1, 2, 2]));
    expect(volume).toMatchObject({ t: 1, h: 2, w: 2 });
    expect(Array.from(volume.values)).toEqual([0, 0.1, 0.2, 1].map((v) => Math.fround(v)));
  });

  it("gives zeros for a constant map", () => {
    const volume = decodeMap({ ...payload([0, 0], [2, 1, 1]), scale: 0 });
    expect(Array.from(volume.values)).toEqual([0, 0]);
  });

  it("refuses a payload whose size does not match its shape", () => {
    expect(() => decodeMap(payload([1, 2, 3], [1, 2, 2]))).toThrow(/3 values/);
    expect(() => decodeMap({ ...payload([1], [1, 1, 1]), dtype: "float32" })).toThrow(/unsupported/);
  });

  it("slices frames", () => {
    const volume = decodeMap(payload([0, 1, 2, 3, 4, 5, 6, 7], [2, 2, 2]));
    expect(frameOf(volume, 1)).toHaveLength(4);
    expect(frameOf(volume, 1)[0]).toBeCloseTo(4 / 7);
    expect(frameOf(volume, 9)[0]).toBeCloseTo(4 / 7); // clamped to the last frame
  });
});

describe("upsampleBilinear", () => {
  it("uses cell centres like the server (workers/overlay.py)", () => {
    const up = upsampleBilinear([0, 1, 2, 3], 2, 2, 4, 4);
    expect(Array.from(up.slice(0, 4))).toEqual([0, 0.25, 0.75, 1]);
    expect([up[0], up[4], up[8], up[12]]).toEqual([0, 0.5, 1.5, 2]);
  });

  it("keeps a constant map constant and handles 1 x 1", () => {
    expect(Array.from(upsampleBilinear([0.4, 0.4, 0.4], 1, 3, 7, 5)).every((v) => Math.abs(v - 0.4) < 1e-6)).toBe(true);
    expect(upsampleBilinear([1], 1, 1, 6, 4)).toHaveLength(24);
  });
});

describe("colorize", () => {
  it("leaves values below the threshold transparent and uses the opacity as alpha", () => {
    const rgba = new Uint8ClampedArray(3 * 4);
    const drawn = colorize([0.1, 0.5, 1], colormapLut("gray"), 0.5, 0.3, rgba);
    expect(drawn).toBe(2);
    expect(rgba[3]).toBe(0);
    expect(Array.from(rgba.slice(4, 8))).toEqual([128, 128, 128, 128]);
    expect(Array.from(rgba.slice(8, 12))).toEqual([255, 255, 255, 128]);
  });

  it("draws nothing with zero opacity", () => {
    const rgba = new Uint8ClampedArray(4);
    expect(colorize([1], colormapLut("jet"), 0, 0, rgba)).toBe(0);
  });
});

describe("mapFrameAt", () => {
  it("shows the last map frame that has started", () => {
    const ts = [0, 0.5, 1];
    expect([-1, 0, 0.49, 0.5, 0.99, 1, 9].map((t) => mapFrameAt(ts, t))).toEqual([0, 0, 0, 1, 1, 2, 2]);
  });
});
