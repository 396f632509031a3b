import { describe, expect, it } from "vitest";
import { excludesZero, formatInterval, layoutScatter, SCATTER_BOX, tauColour } from "./chart";

describe("meta-evaluation chart helpers", () => {
  it("colours correlations on a diverging scale", () => {
    expect(tauColour(0)).toBe("rgb(255, 255, 255)");
    expect(tauColour(1)).toBe("rgb(15, 118, 110)");
    expect(tauColour(-1)).toBe("rgb(185, 28, 28)");
    expect(tauColour(null)).toBe("#eef1f5");
    expect(tauColour(3)).toBe(tauColour(1));
  });

  it("says when an interval excludes zero", () => {
    expect(excludesZero(0.1, 0.5)).toBe(true);
    expect(excludesZero(-0.5, -0.1)).toBe(true);
    expect(excludesZero(-0.1, 0.5)).toBe(false);
    expect(excludesZero(null, 0.5)).toBe(false);
    expect(formatInterval(-0.123, 0.456)).toBe("[-0.12, 0.46]");
    expect(formatInterval(null, 1)).toBe("");
  });

  it("places finite points inside the plot and counts the others", () => {
    const { dots, hidden, xTicks } = layoutScatter([
      { key: "a", x: 0, y: 0, group: "m", label: "a" },
      { key: "b", x: 1, y: 2, group: "m", label: "b" },
      { key: "c", x: null, y: 1, group: "m", label: "c" },
    ]);
    expect(hidden).toBe(1);
    expect(dots).toHaveLength(2);
    for (const d of dots) {
      expect(d.cx).toBeGreaterThan(SCATTER_BOX.left);
      expect(d.cx).toBeLessThan(SCATTER_BOX.width - SCATTER_BOX.right);
      expect(d.cy).toBeGreaterThan(SCATTER_BOX.top);
      expect(d.cy).toBeLessThan(SCATTER_BOX.height - SCATTER_BOX.bottom);
    }
    // a higher y is drawn higher up
    expect(dots[1]!.cy).toBeLessThan(dots[0]!.cy);
    expect(xTicks[0]!.value).toBeLessThan(0);
  });
});
