/**
 * The workspace's keyboard: one table drives both the handler and the help
 * overlay, so they cannot disagree.
 */

export type Action =
  | "prevFrame"
  | "nextFrame"
  | "back10"
  | "forward10"
  | "firstFrame"
  | "lastFrame"
  | "prevKeyframe"
  | "nextKeyframe"
  | "playPause"
  | "newBox"
  | "moveUp"
  | "moveDown"
  | "moveLeft"
  | "moveRight"
  | "shorter"
  | "taller"
  | "narrower"
  | "wider"
  | "toggleKeyframe"
  | "toggleOutside"
  | "toggleOccluded"
  | "nextTrack"
  | "deleteTrack"
  | "markIn"
  | "markOut"
  | "markSoundIn"
  | "markSoundOut"
  | "undo"
  | "redo"
  | "submit"
  | "help"
  | "escape";

export interface KeyBinding {
  action: Action;
  /** As shown in the help overlay. */
  keys: string[];
  description: string;
  group: "Frames" | "Boxes" | "When" | "Editing";
}

export const KEYMAP: readonly KeyBinding[] = [
  { action: "prevFrame", keys: ["←"], description: "Previous frame", group: "Frames" },
  { action: "nextFrame", keys: ["→"], description: "Next frame", group: "Frames" },
  { action: "back10", keys: ["Shift", "←"], description: "10 frames back", group: "Frames" },
  { action: "forward10", keys: ["Shift", "→"], description: "10 frames forward", group: "Frames" },
  { action: "firstFrame", keys: ["Home"], description: "First frame", group: "Frames" },
  { action: "lastFrame", keys: ["End"], description: "Last frame", group: "Frames" },
  { action: "prevKeyframe", keys: ["["], description: "Previous keyframe of the selected box", group: "Frames" },
  { action: "nextKeyframe", keys: ["]"], description: "Next keyframe of the selected box", group: "Frames" },
  { action: "playPause", keys: ["Space"], description: "Play / pause", group: "Frames" },
  { action: "newBox", keys: ["B"], description: "New box in the middle of this frame (then move and size it with the keys below)", group: "Boxes" },
  { action: "moveUp", keys: ["W"], description: "Move the selected box up", group: "Boxes" },
  { action: "moveLeft", keys: ["A"], description: "Move the selected box left", group: "Boxes" },
  { action: "moveDown", keys: ["S"], description: "Move the selected box down", group: "Boxes" },
  { action: "moveRight", keys: ["D"], description: "Move the selected box right", group: "Boxes" },
  { action: "wider", keys: ["Shift", "D"], description: "Widen the selected box (Shift+A: narrower)", group: "Boxes" },
  { action: "taller", keys: ["Shift", "S"], description: "Make the selected box taller (Shift+W: shorter)", group: "Boxes" },
  { action: "toggleKeyframe", keys: ["K"], description: "Make this frame a keyframe of the selected box (or stop it being one)", group: "Boxes" },
  { action: "toggleOutside", keys: ["H"], description: "The object leaves the frame here (or comes back)", group: "Boxes" },
  { action: "toggleOccluded", keys: ["Q"], description: "The object is hidden behind something from here (toggle)", group: "Boxes" },
  { action: "nextTrack", keys: ["N"], description: "Select the next box", group: "Boxes" },
  { action: "deleteTrack", keys: ["Delete"], description: "Delete the selected box's whole track", group: "Boxes" },
  { action: "markIn", keys: ["I"], description: "The event starts on this frame", group: "When" },
  { action: "markOut", keys: ["O"], description: "The event ends on this frame", group: "When" },
  { action: "markSoundIn", keys: ["Shift", "I"], description: "The sound starts on this frame", group: "When" },
  { action: "markSoundOut", keys: ["Shift", "O"], description: "The sound ends on this frame", group: "When" },
  { action: "undo", keys: ["Ctrl", "Z"], description: "Undo", group: "Editing" },
  { action: "redo", keys: ["Ctrl", "Shift", "Z"], description: "Redo (also Ctrl+Y)", group: "Editing" },
  { action: "submit", keys: ["Ctrl", "Enter"], description: "Submit and go to the next task", group: "Editing" },
  { action: "help", keys: ["?"], description: "Show or hide this help", group: "Editing" },
  { action: "escape", keys: ["Esc"], description: "Cancel drawing, deselect, close help", group: "Editing" },
];

export interface KeyLike {
  key: string;
  shiftKey?: boolean;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
}

/** The action a key press means in the workspace, or null. */
export function actionFor(event: KeyLike): Action | null {
  const command = Boolean(event.ctrlKey || event.metaKey);
  const shift = Boolean(event.shiftKey);
  if (event.altKey) return null;
  const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
  if (command) {
    if (key === "z") return shift ? "redo" : "undo";
    if (key === "y") return "redo";
    if (key === "Enter") return "submit";
    return null;
  }
  switch (key) {
    case "ArrowLeft":
      return shift ? "back10" : "prevFrame";
    case "ArrowRight":
      return shift ? "forward10" : "nextFrame";
    case "Home":
      return "firstFrame";
    case "End":
      return "lastFrame";
    case "[":
      return "prevKeyframe";
    case "]":
      return "nextKeyframe";
    case " ":
      return "playPause";
    case "b":
      return shift ? null : "newBox";
    case "w":
      return shift ? "shorter" : "moveUp";
    case "s":
      return shift ? "taller" : "moveDown";
    case "a":
      return shift ? "narrower" : "moveLeft";
    case "d":
      return shift ? "wider" : "moveRight";
    case "k":
      return "toggleKeyframe";
    case "h":
      return "toggleOutside";
    case "q":
      return "toggleOccluded";
    case "n":
      return shift ? null : "nextTrack";
    case "Delete":
    case "Backspace":
      return "deleteTrack";
    case "i":
      return shift ? "markSoundIn" : "markIn";
    case "o":
      return shift ? "markSoundOut" : "markOut";
    case "?":
      return "help";
    case "Escape":
      return "escape";
    default:
      return null;
  }
}

/** Keys typed into form fields are theirs, not the workspace's. */
export function isTypingTarget(target: EventTarget | null): boolean {
  if (!target || typeof (target as HTMLElement).tagName !== "string") return false;
  const element = target as HTMLElement;
  const tag = element.tagName.toLowerCase();
  if (tag === "textarea" || tag === "select" || element.isContentEditable) return true;
  if (tag !== "input") return false;
  const type = (element as HTMLInputElement).type;
  return !["checkbox", "radio", "button", "submit", "range"].includes(type);
}
