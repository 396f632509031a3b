import { describe, expect, it } from "vitest";
import { actionFor, isTypingTarget, KEYMAP } from "./keymap";

describe("keyboard map", () => {
  it.each([
    [{ key: "ArrowRight" }, "nextFrame"],
    [{ key: "ArrowLeft" }, "prevFrame"],
    [{ key: "ArrowRight", shiftKey: true }, "forward10"],
    [{ key: "ArrowLeft", shiftKey: true }, "back10"],
    [{ key: " " }, "playPause"],
    [{ key: "k" }, "toggleKeyframe"],
    [{ key: "K" }, "toggleKeyframe"],
    [{ key: "h" }, "toggleOutside"],
    [{ key: "q" }, "toggleOccluded"],
    [{ key: "i" }, "markIn"],
    [{ key: "o" }, "markOut"],
    [{ key: "I", shiftKey: true }, "markSoundIn"],
    [{ key: "O", shiftKey: true }, "markSoundOut"],
    [{ key: "z", ctrlKey: true }, "undo"],
    [{ key: "z", metaKey: true }, "undo"],
    [{ key: "Z", ctrlKey: true, shiftKey: true }, "redo"],
    [{ key: "y", ctrlKey: true }, "redo"],
    [{ key: "Enter", ctrlKey: true }, "submit"],
    [{ key: "?", shiftKey: true }, "help"],
    [{ key: "Escape" }, "escape"],
    [{ key: "Delete" }, "deleteTrack"],
    [{ key: "n" }, "nextTrack"],
    [{ key: "[" }, "prevKeyframe"],
    [{ key: "]" }, "nextKeyframe"],
    [{ key: "b" }, "newBox"],
    [{ key: "w" }, "moveUp"],
    [{ key: "a" }, "moveLeft"],
    [{ key: "s" }, "moveDown"],
    [{ key: "d" }, "moveRight"],
    [{ key: "D", shiftKey: true }, "wider"],
    [{ key: "A", shiftKey: true }, "narrower"],
    [{ key: "S", shiftKey: true }, "taller"],
    [{ key: "W", shiftKey: true }, "shorter"],
  ])("%j means %s", (event, action) => {
    expect(actionFor(event)).toBe(action);
  });

  it("ignores other keys and Alt combinations", () => {
    expect(actionFor({ key: "x" })).toBeNull();
    expect(actionFor({ key: "k", altKey: true })).toBeNull();
    expect(actionFor({ key: "s", ctrlKey: true })).toBeNull();
    expect(actionFor({ key: "Enter" })).toBeNull();
    expect(actionFor({ key: "Tab" })).toBeNull(); // Tab keeps moving the focus
  });

  it("documents every action exactly once", () => {
    const actions = KEYMAP.map((b) => b.action);
    expect(new Set(actions).size).toBe(actions.length);
    for (const binding of KEYMAP) expect(binding.description.length).toBeGreaterThan(3);
  });

  it("leaves keys typed into fields alone", () => {
    const input = document.createElement("input");
    expect(isTypingTarget(input)).toBe(true);
    const checkbox = document.createElement("input");
    checkbox.type = "checkbox";
    expect(isTypingTarget(checkbox)).toBe(false);
    expect(isTypingTarget(document.createElement("textarea"))).toBe(true);
    expect(isTypingTarget(document.createElement("button"))).toBe(false);
    expect(isTypingTarget(null)).toBe(false);
  });
});
