import { describe, expect, it } from "vitest";
import { conditionsOf, latinSquareRow, planTable } from "./plan";

describe("the Latin-square plan", () => {
  it("has one condition per method, per pair for pairwise trials (as the server)", () => {
    const conditions = conditionsOf(["rating", "pairwise"], ["staa_plus", "staa", "staa"]);
    expect(conditions.map((c) => c.condition)).toEqual(["staa", "staa_plus", "staa|staa_plus"]);
    expect(conditions[2]!.label).toBe("Pairwise · staa vs staa_plus");
  });

  it("gives every group each condition once per round, each at a different position", () => {
    expect(latinSquareRow(["a", "b", "c"], 1)).toEqual(["b", "c", "a"]);
    const table = planTable(conditionsOf(["rating"], ["a", "b", "c"]), 4);
    expect(table).toHaveLength(3);
    expect(table.map((row) => row.map((c) => c.condition))).toEqual([
      ["a", "b", "c", "a"],
      ["b", "c", "a", "b"],
      ["c", "a", "b", "c"],
    ]);
    // column i holds every condition once (the Latin property)
    for (let i = 0; i < 3; i += 1) {
      expect(new Set(table.map((row) => row[i]!.condition)).size).toBe(3);
    }
    expect(planTable([], 4)).toEqual([]);
  });
});
