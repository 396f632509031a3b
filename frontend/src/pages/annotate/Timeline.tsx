/**
 * Where we are in the clip: the playhead, the selected box's keyframes, and the "when" segments
 * with their labels (a lane per label when a kind has segments of several labels).
 */
import type { MouseEvent } from "react";
import { formatSeconds, frameAtTime, frameDuration } from "./frames";
import type { Segment, SegmentKind } from "./model";
import { segmentLabels } from "./segments";

interface TimelineProps {
  timestamps: readonly number[];
  duration: number;
  frame: number;
  keyframes: readonly number[];
  segments: readonly Segment[];
  pending: { kind: SegmentKind; frame: number; label?: string } | null;
  /** The label listed first (the task's). */
  primaryLabel?: string;
  onSeek: (frame: number) => void;
}

const LANES: { kind: SegmentKind; label: string }[] = [
  { kind: "visual", label: "Event" },
  { kind: "sound", label: "Sound" },
];

export function Timeline({ timestamps, duration, frame, keyframes, segments, pending, primaryLabel, onSeek }: TimelineProps) {
  const n = timestamps.length;
  const last = n ? timestamps[n - 1]! + frameDuration(timestamps, n - 1, duration) : 1;
  const total = Math.max(duration, last, 1e-6);
  const at = (t: number) => `${Math.min(Math.max((t / total) * 100, 0), 100)}%`;
  const frameLeft = (f: number) => at(timestamps[f] ?? 0);
  const frameWidth = (f: number) => `${(frameDuration(timestamps, f, duration) / total) * 100}%`;

  function seekFromMouse(event: MouseEvent<HTMLDivElement>) {
    const rect = event.currentTarget.getBoundingClientRect();
    const t = ((event.clientX - rect.left) / rect.width) * total;
    onSeek(frameAtTime(timestamps, t));
  }

  return (
    <div className="timeline" data-testid="timeline">
      {LANES.flatMap(({ kind, label }) => {
        const labels = segmentLabels(segments, kind, primaryLabel);
        // One lane per label; a single lane when the kind has at most one label.
        const lanes: (string | null)[] = labels.length > 1 ? labels : [null];
        const pendingLane =
          pending?.kind === kind ? (lanes.includes(pending.label ?? null) ? (pending.label ?? null) : lanes[0]) : undefined;
        return lanes.map((lane, index) => (
          <div className="timeline__row" key={`${kind}-${lane ?? ""}`}>
            <span className="timeline__label" title={lane === null ? undefined : `${label}: ${lane}`}>
              {index === 0 ? label : ""}
            </span>
            <div
              className={`timeline__lane timeline__lane--${kind}`}
              onClick={seekFromMouse}
              data-testid={`timeline-lane-${kind}`}
              data-label={lane ?? ""}
            >
              {segments
                .filter((s) => s.kind === kind && (lane === null || s.label === lane))
                .map((s) => (
                  <span
                    key={`${s.label}-${s.start}-${s.end}`}
                    className={`timeline__segment timeline__segment--${kind}`}
                    style={{ left: at(s.start), width: `max(3px, ${((s.end - s.start) / total) * 100}%)` }}
                    title={`${label} "${s.label}": ${formatSeconds(s.start)} to ${formatSeconds(s.end)}`}
                    data-testid={`timeline-segment-${kind}`}
                    data-label={s.label}
                  >
                    <span className="timeline__segment-text">{s.label}</span>
                  </span>
                ))}
              {pendingLane === lane && pending && (
                <span className="timeline__pending" style={{ left: frameLeft(pending.frame) }} title="In point" />
              )}
              <span className="timeline__playhead" style={{ left: frameLeft(frame), width: frameWidth(frame) }} />
            </div>
          </div>
        ));
      })}
      <div className="timeline__row">
        <span className="timeline__label">Frames</span>
        <div
          className="timeline__lane timeline__lane--frames"
          role="slider"
          tabIndex={-1}
          aria-label="Frame"
          aria-valuemin={0}
          aria-valuemax={Math.max(n - 1, 0)}
          aria-valuenow={frame}
          aria-valuetext={`Frame ${frame + 1} of ${n}`}
          onClick={seekFromMouse}
          data-testid="timeline-frames"
        >
          {keyframes.map((f) => (
            <span key={f} className="timeline__keyframe" style={{ left: frameLeft(f) }} title={`Keyframe on frame ${f + 1}`} />
          ))}
          <span className="timeline__playhead timeline__playhead--strong" style={{ left: frameLeft(frame), width: frameWidth(frame) }} />
        </div>
      </div>
    </div>
  );
}
