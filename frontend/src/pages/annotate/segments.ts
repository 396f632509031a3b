/** "When" segments of one annotation: adding merges overlaps, so segments of a kind never overlap. */
import type { Segment, SegmentKind } from "./model";

const KIND_ORDER: Record<SegmentKind, number> = { visual: 0, sound: 1 };

export function sortSegments(segments: readonly Segment[]): Segment[] {
  return [...segments].sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || a.start - b.start || a.end - b.end);
}

/** Add a segment, merging it with the segments of its kind it overlaps or touches. */
export function addSegment(segments: readonly Segment[], added: Segment): Segment[] {
  let merged = { ...added };
  const kept: Segment[] = [];
  for (const s of segments) {
    if (s.kind === added.kind && s.start <= merged.end && merged.start <= s.end) {
      merged = { kind: s.kind, start: Math.min(s.start, merged.start), end: Math.max(s.end, merged.end) };
    } else {
      kept.push(s);
    }
  }
  return sortSegments([...kept, merged]);
}

export function removeSegment(segments: readonly Segment[], index: number): Segment[] {
  return segments.filter((_, i) => i !== index);
}

/** Whether time t lies in a segment of `kind` (closed intervals). */
export function inSegment(segments: readonly Segment[], kind: SegmentKind, t: number): boolean {
  return segments.some((s) => s.kind === kind && s.start <= t && t <= s.end);
}
