import { describe, expect, it } from "vitest";
import { formatClock, formatPercent, formatSeconds, methodLabel } from "./format";

describe("formatting", () => {
  it("formats durations and clock times", () => {
    expect(formatSeconds(null)).toBe("–");
    expect(formatSeconds(3.25)).toBe("3.3 s");
    expect(formatSeconds(42)).toBe("42 s");
    expect(formatSeconds(125)).toBe("2 min 05 s");
    expect(formatClock(61.5)).toBe("1:01.50");
  });

  it("formats percentages and method names", () => {
    expect(formatPercent(0.256)).toBe("26%");
    expect(formatPercent(2)).toBe("100%");
    expect(methodLabel("staa_plus")).toBe("STAA+");
    expect(methodLabel("my-tool")).toBe("my-tool");
  });
});
