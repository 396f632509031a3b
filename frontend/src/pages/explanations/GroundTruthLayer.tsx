import type { GroundTruth } from "./api";

interface Props {
  truth: GroundTruth | null;
  frameIndex: number;
}

/**
 * The scored label's boxes on the current map frame and the pointing game's verdict, drawn where
 * the server says the map points (never a maximum found here: the browser only has the quantized
 * map), with the project's tolerance around it.
 */
export function GroundTruthLayer({ truth, frameIndex }: Props) {
  if (!truth || !truth.available || !truth.source_size) return null;
  const [width = 1, height = 1] = truth.source_size;
  const frame = truth.frames.find((f) => f.index === frameIndex);
  if (!frame) return null;
  const mark = frame.point;
  const verdict = frame.counted ? frame.hit : null;
  const tolerance = truth.tolerance ?? 0;
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
      {mark && mark.length >= 2 && verdict != null && (
        <g
          className={`gt-layer__mark ${verdict ? "is-hit" : "is-miss"}`}
          data-testid="pointing-mark"
          data-hit={String(verdict)}
          data-x={mark[0]}
          data-y={mark[1]}
        >
          {tolerance > 0 && (
            <circle className="gt-layer__tolerance" cx={mark[0]} cy={mark[1]} r={tolerance} />
          )}
          <circle className="gt-layer__point" cx={mark[0]} cy={mark[1]} r={Math.max(width, height) / 90} />
        </g>
      )}
    </svg>
  );
}
