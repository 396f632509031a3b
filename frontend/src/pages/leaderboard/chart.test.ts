import { describe, expect, it } from "vitest";
import { DEFAULT_BOX, formatEstimate, formatP, layoutBars, yOf, type Bar } from "./chart";

describe("layoutBars", () => {
  it("draws bars proportional to the value with the interval as a whisker", () => {
    const { bars, ticks } = layoutBars([
      { key: "a", label: "A", value: 1, low: 0.9, high: 1 },
      { key: "b", label: "B", value: 0.5, low: 0.25, high: 0.75 },
    ]);
    const [a, b] = bars as [Bar, Bar];
    const plot = DEFAULT_BOX.height - DEFAULT_BOX.top - DEFAULT_BOX.bottom;
    expect(a.height).toBeCloseTo(plot);
    expect(b.height).toBeCloseTo(plot / 2);
    expect(b.whisker?.y1).toBeCloseTo(yOf(0.75));
    expect(b.whisker?.y2).toBeCloseTo(yOf(0.25));
    expect(a.x).toBeLessThan(b.x);
    expect(ticks.map((t) => t.label)).toEqual(["0%", "25%", "50%", "75%", "100%"]);
  });

  it("keeps a slot for a row without a value and clamps to 0..1", () => {
    const { bars } = layoutBars([
      { key: "a", label: "A", value: null, low: null, high: null },
      { key: "b", label: "B", value: 1.2, low: -0.1, high: 1.3, human: true },
    ]);
    const [empty, over] = bars as [Bar, Bar];
    expect(empty.height).toBe(0);
    expect(empty.whisker).toBeNull();
    expect(over.y).toBeCloseTo(yOf(1));
    expect(over.whisker?.y2).toBeCloseTo(yOf(0));
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
