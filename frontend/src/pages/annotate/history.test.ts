import { describe, expect, it } from "vitest";
import { canRedo, canUndo, commit, redo, start, undo } from "./history";

describe("undo/redo", () => {
  it("walks back and forth", () => {
    let h = start(1);
    h = commit(h, 2);
    h = commit(h, 3);
    expect(h.present).toBe(3);
    h = undo(h);
    expect(h.present).toBe(2);
    h = undo(h);
    expect(h.present).toBe(1);
    expect(canUndo(h)).toBe(false);
    expect(undo(h)).toBe(h);
    h = redo(h);
    expect(h.present).toBe(2);
    expect(canRedo(h)).toBe(true);
  });

  it("drops the redo line on a new edit and ignores no-op commits", () => {
    let h = commit(commit(start("a"), "b"), "c");
    h = undo(h);
    h = commit(h, "d");
    expect(canRedo(h)).toBe(false);
    expect(h.past).toEqual(["a", "b"]);
    expect(commit(h, h.present)).toBe(h);
    expect(redo(h)).toBe(h);
  });

  it("keeps at most `limit` steps", () => {
    let h = start(0);
    for (let i = 1; i <= 10; i += 1) h = commit(h, i, 3);
    expect(h.past).toEqual([7, 8, 9]);
  });
});
