import { describe, expect, it } from "vitest";
import { layoutIntervals } from "./chart";

describe("layoutIntervals", () => {
  it("puts values and intervals on one scale that includes the origin", () => {
    const layout = layoutIntervals(
      [
        { label: "a", value: 2, low: 1, high: 3 },
        { label: "b", value: -1, low: -2, high: 0 },
      ],
      { width: 220, left: 10, right: 10 },
    );
    expect(layout.min).toBe(-2);
    expect(layout.max).toBe(3);
    const [a, b] = layout.rows;
    expect(a!.low!).toBeLessThan(a!.x!);
    expect(a!.x!).toBeLessThan(a!.high!);
    expect(b!.x!).toBeLessThan(layout.zeroX);
    expect(a!.high).toBe(210);
    expect(b!.low).toBe(10);
  });

  it("handles missing values and a degenerate range", () => {
    const layout = layoutIntervals([{ label: "x", value: null, low: null, high: null }]);
    expect(layout.rows[0]!.x).toBeNull();
    expect(layout.max).toBeGreaterThan(layout.min);
  });
});
