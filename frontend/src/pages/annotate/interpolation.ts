/**
 * Where a track's box is on a frame, and the edits that change keyframes.
 * The rules are CVAT's, the same the server applies:
 * - between two keyframes the box is interpolated linearly (flags copied
 *   from the keyframe before);
 * - a keyframe marked outside hides the track until the next keyframe;
 * - after the last keyframe the box stays until the end of the video,
 *   unless that keyframe is outside.
 */
import type { AnnotationDoc, Box, FrameBox, Keyframe, Track } from "./model";

export interface Shape {
  box: Box;
  keyframe: boolean;
  /** The stored box on this frame came from the tracker. */
  tracked: boolean;
  outside: boolean;
  occluded: boolean;
}

export function lerp(a: number, b: number, t: number): number {
  return a + (b - a) * t;
}

export function lerpBox(a: Box, b: Box, t: number): Box {
  return { x0: lerp(a.x0, b.x0, t), y0: lerp(a.y0, b.y0, t), x1: lerp(a.x1, b.x1, t), y1: lerp(a.y1, b.y1, t) };
}

export function boxOf(k: Box): Box {
  return { x0: k.x0, y0: k.y0, x1: k.x1, y1: k.y1 };
}

/** Index of the last keyframe at or before `frame` (-1 if none). */
function keyframeIndexAtOrBefore(keyframes: readonly Keyframe[], frame: number): number {
  let lo = 0;
  let hi = keyframes.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (keyframes[mid]!.frame <= frame) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

/**
 * The track's shape on `frame`: null before its first keyframe or past the
 * video's end. Outside keyframes come back with `outside: true`; frames
 * after them (until the next keyframe) give null.
 */
export function shapeAt(track: Track, frame: number, nFrames: number): Shape | null {
  if (frame < 0 || frame >= nFrames) return null;
  const index = keyframeIndexAtOrBefore(track.keyframes, frame);
  if (index < 0) return null;
  const current = track.keyframes[index]!;
  if (current.frame === frame) {
    return {
      box: boxOf(current),
      keyframe: true,
      tracked: Boolean(current.tracked),
      outside: current.outside,
      occluded: current.occluded,
    };
  }
  if (current.outside) return null;
  const next = track.keyframes[index + 1];
  const box = next && !current.hold
    ? lerpBox(current, next, (frame - current.frame) / (next.frame - current.frame))
    : boxOf(current);
  return { box, keyframe: false, tracked: false, outside: false, occluded: current.occluded };
}

/** Every visible box on a frame, in track order. */
export function visibleBoxes(doc: AnnotationDoc, frame: number, nFrames: number): FrameBox[] {
  const boxes: FrameBox[] = [];
  for (const track of doc.tracks) {
    const shape = shapeAt(track, frame, nFrames);
    if (shape && !shape.outside) {
      boxes.push({
        ...shape.box,
        trackId: track.id,
        label: track.label,
        keyframe: shape.keyframe && !shape.tracked,
        tracked: shape.tracked,
        occluded: shape.occluded,
      });
    }
  }
  return boxes;
}

/** The box a new keyframe on `frame` should start from: the shape there, or the nearest keyframe's box. */
export function boxForNewKeyframe(track: Track, frame: number, nFrames: number): Box | null {
  const shape = shapeAt(track, frame, nFrames);
  if (shape) return shape.box;
  if (track.keyframes.length === 0) return null;
  const index = keyframeIndexAtOrBefore(track.keyframes, frame);
  return boxOf(track.keyframes[Math.max(index, 0)]!);
}

function withKeyframe(track: Track, keyframe: Keyframe): Track {
  const others = track.keyframes.filter((k) => k.frame !== keyframe.frame);
  return { ...track, keyframes: [...others, keyframe].sort((a, b) => a.frame - b.frame) };
}

/**
 * Put (or move) a keyframe at `frame` with `box`, keeping its flags if one was there. A box the
 * tracker proposed there becomes the annotator's own keyframe (a correction).
 */
export function setKeyframe(track: Track, frame: number, box: Box, nFrames: number, flags?: Partial<Keyframe>): Track {
  const existing = track.keyframes.find((k) => k.frame === frame);
  const shape = shapeAt(track, frame, nFrames);
  return withKeyframe(track, {
    frame,
    ...boxOf(box),
    outside: flags?.outside ?? existing?.outside ?? false,
    occluded: flags?.occluded ?? existing?.occluded ?? shape?.occluded ?? false,
  });
}

/** Remove the keyframe on `frame`; a track left without keyframes is gone (null). */
export function removeKeyframe(track: Track, frame: number): Track | null {
  const keyframes = track.keyframes.filter((k) => k.frame !== frame);
  return keyframes.length ? { ...track, keyframes } : null;
}

/** Make `frame` a keyframe (at the interpolated box), or turn a keyframe back into an interpolated frame. */
export function toggleKeyframe(track: Track, frame: number, nFrames: number): Track | null {
  if (track.keyframes.some((k) => k.frame === frame)) return removeKeyframe(track, frame);
  const box = boxForNewKeyframe(track, frame, nFrames);
  return box ? setKeyframe(track, frame, box, nFrames, { outside: false }) : track;
}

/** Mark the object as leaving the frame here (or coming back, if it was marked outside here). */
export function toggleOutside(track: Track, frame: number, nFrames: number): Track {
  const existing = track.keyframes.find((k) => k.frame === frame);
  const box = existing ? boxOf(existing) : boxForNewKeyframe(track, frame, nFrames);
  if (!box) return track;
  const outside = existing ? !existing.outside : shapeAt(track, frame, nFrames) !== null;
  return setKeyframe(track, frame, box, nFrames, { outside });
}

/** Toggle "occluded" from this frame on (creates a keyframe here). */
export function toggleOccluded(track: Track, frame: number, nFrames: number): Track {
  const shape = shapeAt(track, frame, nFrames);
  const box = boxForNewKeyframe(track, frame, nFrames);
  if (!box) return track;
  return setKeyframe(track, frame, box, nFrames, { occluded: !(shape?.occluded ?? false) });
}

/** Whether the segment `frame` lies in holds its box (interpolation off). */
export function holdsAt(track: Track, frame: number): boolean {
  const index = keyframeIndexAtOrBefore(track.keyframes, frame);
  return index >= 0 && Boolean(track.keyframes[index]!.hold);
}

/** Turn interpolation off (hold) or back on for the segment `frame` lies in. */
export function toggleHold(track: Track, frame: number): Track {
  const index = keyframeIndexAtOrBefore(track.keyframes, frame);
  if (index < 0) return track;
  const keyframes = track.keyframes.map((k, i) => {
    if (i !== index) return k;
    const { hold, ...rest } = k;
    return hold ? rest : { ...rest, hold: true };
  });
  return { ...track, keyframes };
}

/** The keyframe frames of a track before / after `frame` (for jumping). */
export function neighbourKeyframe(track: Track, frame: number, direction: 1 | -1): number | null {
  const frames = track.keyframes.map((k) => k.frame);
  if (direction > 0) return frames.find((f) => f > frame) ?? null;
  const before = frames.filter((f) => f < frame);
  return before.length ? before[before.length - 1]! : null;
}
