/**
 * "When" segments of one annotation: adding merges overlaps of the same kind and label, so the
 * segments of one kind and label never overlap (different labels may: two things at once).
 */
import type { Segment, SegmentKind } from "./model";

const KIND_ORDER: Record<SegmentKind, number> = { visual: 0, sound: 1 };

export function sortSegments(segments: readonly Segment[]): Segment[] {
  return [...segments].sort(
    (a, b) =>
      KIND_ORDER[a.kind] - KIND_ORDER[b.kind] ||
      a.start - b.start ||
      a.end - b.end ||
      a.label.localeCompare(b.label),
  );
}

/** Add a segment, merging it with the segments of its kind and label it overlaps or touches. */
export function addSegment(segments: readonly Segment[], added: Segment): Segment[] {
  let merged = { ...added };
  const kept: Segment[] = [];
  for (const s of segments) {
    if (s.kind === added.kind && s.label === added.label && s.start <= merged.end && merged.start <= s.end) {
      merged = { ...merged, start: Math.min(s.start, merged.start), end: Math.max(s.end, merged.end) };
    } else {
      kept.push(s);
    }
  }
  return sortSegments([...kept, merged]);
}

export function removeSegment(segments: readonly Segment[], index: number): Segment[] {
  return segments.filter((_, i) => i !== index);
}

/** Whether time t lies in a segment of `kind` (and of `label`, when given; closed intervals). */
export function inSegment(segments: readonly Segment[], kind: SegmentKind, t: number, label?: string): boolean {
  return segments.some((s) => s.kind === kind && (label === undefined || s.label === label) && s.start <= t && t <= s.end);
}

/** The labels of a kind's segments, in order of first appearance (`first` leads when present). */
export function segmentLabels(segments: readonly Segment[], kind: SegmentKind, first?: string): string[] {
  const labels = [...new Set(segments.filter((s) => s.kind === kind).map((s) => s.label))];
  if (first !== undefined && labels.includes(first)) return [first, ...labels.filter((l) => l !== first)];
  return labels;
}
