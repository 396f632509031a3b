import type { GroundTruth } from "./api";

interface Props {
  truth: GroundTruth | null;
  frameIndex: number;
}

/** Ground-truth boxes of the current map frame and the pointing game's mark (hit or miss). */
export function GroundTruthLayer({ truth, frameIndex }: Props) {
  if (!truth || !truth.available || !truth.source_size) return null;
  const [width = 1, height = 1] = truth.source_size;
  const frame = truth.frames.find((f) => f.index === frameIndex);
  if (!frame) return null;
  const mark = frame.point;
  return (
    <svg
      className="gt-layer"
      viewBox={`0 0 ${width} ${height}`}
      preserveAspectRatio="none"
      aria-hidden="true"
      data-testid="gt-layer"
    >
      {frame.boxes.map(([x0 = 0, y0 = 0, x1 = 0, y1 = 0], i) => (
        <rect
          key={i}
          className="gt-layer__box"
          x={x0}
          y={y0}
          width={Math.max(0, x1 - x0)}
          height={Math.max(0, y1 - y0)}
          data-testid="gt-box"
        />
      ))}
      {mark && frame.hit !== null && (
        <g
          className={`gt-layer__mark ${frame.hit ? "is-hit" : "is-miss"}`}
          data-testid="pointing-mark"
          data-hit={String(frame.hit)}
        >
          <circle cx={mark[0]} cy={mark[1]} r={Math.max(width, height) / 40} />
        </g>
      )}
    </svg>
  );
}
