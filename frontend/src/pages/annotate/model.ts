/**
 * The annotation document the workspace edits, in the API's vocabulary:
 * tracks of keyframed boxes (source-video display pixels, closed rectangles
 * [x0, x1] x [y0, y1]) and labelled "when" segments in seconds.
 */

export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export interface Keyframe extends Box {
  /** Index into the video's frame_timestamps. */
  frame: number;
  /** The object is not visible from this frame until the next keyframe. */
  outside: boolean;
  occluded: boolean;
  /** Proposed by the tracker (and kept), not drawn by the annotator. */
  tracked?: boolean;
  /** Interpolation off from here: the box stays until the next keyframe. */
  hold?: boolean;
}

export interface Track {
  /** Client-side identity (not stored by the server). */
  id: string;
  label: string;
  /** Sorted by frame, one per frame at most. */
  keyframes: Keyframe[];
}

export type SegmentKind = "visual" | "sound";

export interface Segment {
  kind: SegmentKind;
  /** What happens then (an annotation label; the task's label when the API gives none). */
  label: string;
  start: number;
  end: number;
}

export interface AnnotationDoc {
  tracks: Track[];
  segments: Segment[];
}

/** A box shown on one frame: a keyframe or interpolated between two. */
export interface FrameBox extends Box {
  trackId: string;
  label: string;
  keyframe: boolean;
  /** A box the tracker proposed on this frame. */
  tracked: boolean;
  occluded: boolean;
}

export const EMPTY_DOC: AnnotationDoc = { tracks: [], segments: [] };

let counter = 0;
export function newTrackId(): string {
  counter += 1;
  return `t${Date.now().toString(36)}${counter}`;
}

interface ApiKeyframe {
  frame: number;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  outside?: boolean;
  occluded?: boolean;
  tracked?: boolean;
  hold?: boolean;
}

interface ApiAnnotation {
  tracks?: { label?: string; keyframes: ApiKeyframe[] }[];
  segments?: { kind?: SegmentKind | string; label?: string | null; start: number; end: number }[];
}

/** The API's annotation (draft or submitted) as a document the workspace edits. */
export function fromApi(data: ApiAnnotation | null | undefined, defaultLabel: string): AnnotationDoc {
  if (!data) return EMPTY_DOC;
  return {
    tracks: (data.tracks ?? []).map((track, index) => ({
      id: `t${index + 1}`,
      label: track.label || defaultLabel,
      keyframes: [...track.keyframes]
        .map((k) => ({
          frame: k.frame,
          x0: k.x0,
          y0: k.y0,
          x1: k.x1,
          y1: k.y1,
          outside: Boolean(k.outside),
          occluded: Boolean(k.occluded),
          ...(k.tracked ? { tracked: true } : {}),
          ...(k.hold ? { hold: true } : {}),
        }))
        .sort((a, b) => a.frame - b.frame),
    })),
    segments: (data.segments ?? []).map((s) => ({
      kind: s.kind === "sound" ? "sound" : "visual",
      label: s.label || defaultLabel,
      start: s.start,
      end: s.end,
    })),
  };
}

/** The document in the API's shape (client ids dropped). */
export function toApi(doc: AnnotationDoc) {
  return {
    tracks: doc.tracks.map((track) => ({
      label: track.label,
      keyframes: track.keyframes.map(({ tracked, hold, ...k }) => ({
        ...k,
        ...(tracked ? { tracked: true } : {}),
        ...(hold ? { hold: true } : {}),
      })),
    })),
    segments: doc.segments.map((s) => ({ kind: s.kind, label: s.label, start: s.start, end: s.end })),
  };
}
