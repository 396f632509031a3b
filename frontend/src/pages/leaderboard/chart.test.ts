import { describe, expect, it } from "vitest";
import { DEFAULT_BOX, LABEL_CHARS, formatEstimate, formatP, layoutBars, xOf, type Bar } from "./chart";

describe("layoutBars", () => {
  it("draws bars proportional to the value with the interval as a whisker", () => {
    const { bars, ticks } = layoutBars([
      { key: "a", label: "A", value: 1, low: 0.9, high: 1 },
      { key: "b", label: "B", value: 0.5, low: 0.25, high: 0.75 },
    ]);
    const [a, b] = bars as [Bar, Bar];
    const plot = DEFAULT_BOX.width - DEFAULT_BOX.left - DEFAULT_BOX.right;
    expect(a.width).toBeCloseTo(plot);
    expect(b.width).toBeCloseTo(plot / 2);
    expect(b.whisker?.x1).toBeCloseTo(xOf(0.25));
    expect(b.whisker?.x2).toBeCloseTo(xOf(0.75));
    expect(a.y).toBeLessThan(b.y);
    expect(ticks.map((t) => t.label)).toEqual(["0%", "25%", "50%", "75%", "100%"]);
  });

  it("gives every row its own band, so long names never overlap", () => {
    const long = "STAA (head_fusion, top-k 5, window 17x64, bilinear upsampling)";
    const data = Array.from({ length: 9 }, (_, i) => ({
      key: String(i),
      label: `${long} ${i}`,
      value: 0.5,
      low: null,
      high: null,
    }));
    const { bars, height } = layoutBars(data);
    for (let i = 1; i < bars.length; i += 1) {
      expect(bars[i]!.labelY - bars[i - 1]!.labelY).toBeGreaterThanOrEqual(DEFAULT_BOX.band);
    }
    expect(bars[0]!.shortLabel.length).toBeLessThanOrEqual(LABEL_CHARS);
    expect(bars[0]!.shortLabel.endsWith("\u2026")).toBe(true);
    expect(bars[0]!.label).toBe(`${long} 0`);
    expect(height).toBeGreaterThan(bars[8]!.y + bars[8]!.height);
  });

  it("keeps a band for a row without a value and clamps to 0..1", () => {
    const { bars } = layoutBars([
      { key: "a", label: "A", value: null, low: null, high: null },
      { key: "b", label: "B", value: 1.2, low: -0.1, high: 1.3, human: true },
    ]);
    const [empty, over] = bars as [Bar, Bar];
    expect(empty.width).toBe(0);
    expect(empty.whisker).toBeNull();
    expect(over.x + over.width).toBeCloseTo(xOf(1));
    expect(over.whisker?.x1).toBeCloseTo(xOf(0));
    expect(over.human).toBe(true);
  });
});

describe("formatting", () => {
  it("writes estimates with their interval and p-values", () => {
    expect(formatEstimate(0.724, 0.651, 0.79)).toBe("72% [65–79%]");
    expect(formatEstimate(0.5)).toBe("50%");
    expect(formatEstimate(null)).toBe("–");
    expect(formatP(0.0001)).toBe("< 0.001");
    expect(formatP(0.03125)).toBe("0.031");
    expect(formatP(null)).toBe("–");
  });
});
