import { describe, expect, it } from "vitest";
import { changedParams, explanationName } from "./naming";

describe("explanation names", () => {
  it("names only the parameters that differ from the defaults", () => {
    expect(changedParams({ top_k: 5, fusion: "mean" }, { top_k: 5, fusion: "head" })).toEqual(["fusion=mean"]);
    expect(changedParams({ top_k: 5 }, { top_k: 5 })).toEqual([]);
    expect(changedParams({ window: [17, 64] }, {})).toEqual(["window=[17,64]"]);
  });

  it("tells three runs of the same method apart", () => {
    const now = new Date("2026-12-04T20:30:00");
    const defaults = { top_k: 5 };
    const names = [
      { params: { top_k: 5 }, created_at: "2026-12-04T20:01:05" },
      { params: { top_k: 9 }, created_at: "2026-12-04T20:02:10" },
      { params: { top_k: 5 }, created_at: "2026-12-03T09:00:00" },
    ].map((e) =>
      explanationName({ method: "staa", model: { name: "tiny-timesformer" }, ...e }, defaults, now),
    );
    expect(new Set(names.map((n) => n.title)).size).toBe(1);
    expect(new Set(names.map((n) => n.details)).size).toBe(3);
    expect(names[0]!.details).toMatch(/^default parameters · requested /);
    expect(names[1]!.details).toMatch(/^top_k=9 · requested /);
  });

  it("puts a given name first and keeps the automatic one in the details", () => {
    const now = new Date("2026-12-04T20:30:00");
    const e = { method: "staa", model: { name: "tiny" }, params: { top_k: 9 }, created_at: "2026-12-04T20:01:05" };
    const named = explanationName({ ...e, name: "Sharper run" }, { top_k: 5 }, now);
    expect(named.title).toBe("Sharper run");
    expect(named.details).toMatch(/^STAA.* · tiny · top_k=9 · requested /);
    expect(explanationName({ ...e, name: "  " }, { top_k: 5 }, now).title).not.toBe("  ");
  });
});
