import { describe, expect, it } from "vitest";
import { COLORMAPS, colormapCss, colormapLut, colormapTitle } from "./colormap";

describe("colormapLut", () => {
  it("has 256 RGB entries for every colormap", () => {
    for (const name of COLORMAPS) expect(colormapLut(name)).toHaveLength(256 * 3);
  });

  it("matches the server's anchors at the ends", () => {
    const jet = colormapLut("jet");
    expect(Array.from(jet.slice(0, 3))).toEqual([0, 0, 131]);
    expect(Array.from(jet.slice(255 * 3))).toEqual([128, 0, 0]);
    const gray = colormapLut("gray");
    expect(gray[128 * 3]).toBe(128);
  });

  it("interpolates between anchors like numpy.interp", () => {
    // jet: 0.125 -> (0, 0, 255), 0.375 -> (0, 255, 255); value 64/255 lies between them.
    const jet = colormapLut("jet");
    const x = 64 / 255;
    const f = (x - 0.125) / 0.25;
    expect(jet[64 * 3 + 1]).toBe(Math.round(255 * f));
    expect(jet[64 * 3 + 2]).toBe(255);
  });

  it("gives CSS colours", () => {
    expect(colormapCss("gray", 1)).toBe("rgb(255, 255, 255)");
    expect(colormapCss("gray", -3)).toBe("rgb(0, 0, 0)");
  });
});

describe("cividis", () => {
  it("runs from dark blue to yellow, beside viridis as a colour-blind safe map", () => {
    expect(COLORMAPS).toContain("cividis");
    expect(colormapCss("cividis", 0)).toBe("rgb(0, 34, 78)");
    expect(colormapCss("cividis", 1)).toBe("rgb(254, 232, 56)");
    expect(colormapTitle("cividis")).toMatch(/colour-blind safe/);
    expect(colormapTitle("jet")).toBe("jet");
  });
});
