import type { KeyboardEvent, MouseEvent } from "react";
import { arrowSeekTime, curveGeometry, timeAtX, xAtTime } from "./curve";
import { formatClock } from "./format";

interface Props {
  label: string;
  temporal: readonly number[];
  timestamps: readonly number[];
  duration: number;
  time: number;
  onSeek: (time: number) => void;
  /** Ground-truth "when" segments (seconds), drawn as bands. */
  segments?: readonly (readonly number[])[];
  /**
   * The map frame the server's temporal pointing game took as the peak. The verdict
   * (`temporalHit`) is drawn there only; without it the curve's own maximum is marked, uncoloured.
   */
  peak?: number | null;
  temporalHit?: boolean | null;
}

const WIDTH = 1000;
const HEIGHT = 40;

/** The temporal importance under the seek bar: click (or arrow keys) to seek. */
export function TemporalCurve(props: Props) {
  const { label, temporal, timestamps, duration, time, onSeek, segments = [], peak = null } = props;
  const geometry = curveGeometry(temporal, timestamps, duration, WIDTH, HEIGHT, peak);
  const fromServer = peak !== null && geometry.peakIndex === peak;
  const verdict = fromServer ? (props.temporalHit ?? null) : null;
  const playhead = xAtTime(time, duration, WIDTH);

  function seekFromClick(event: MouseEvent<SVGSVGElement>) {
    const box = event.currentTarget.getBoundingClientRect();
    const x = ((event.clientX - box.left) / Math.max(box.width, 1)) * WIDTH;
    onSeek(timeAtX(x, WIDTH, duration));
  }

  function seekFromKey(event: KeyboardEvent<SVGSVGElement>) {
    const to = arrowSeekTime(event.key, time, duration);
    if (to === null) return;
    onSeek(to);
    event.preventDefault();
  }

  const peakClass = `temporal-curve__peak${verdict === null ? "" : verdict ? " is-hit" : " is-miss"}`;

  return (
    <div className="temporal-row">
      <span className="temporal-row__label">{label}</span>
      <div className="temporal-curve__wrap">
        <svg
          className="temporal-curve"
          viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
          preserveAspectRatio="none"
          role="slider"
          tabIndex={0}
          aria-label={`Temporal importance of ${label}; click to seek`}
          aria-valuemin={0}
          aria-valuemax={duration}
          aria-valuenow={time}
          aria-valuetext={formatClock(time)}
          data-testid="temporal-curve"
          onClick={seekFromClick}
          onKeyDown={seekFromKey}
        >
          {segments.map(([start = 0, end = 0], i) => (
            <rect
              key={i}
              className="temporal-curve__segment"
              x={xAtTime(start, duration, WIDTH)}
              y={0}
              width={Math.max(2, xAtTime(end, duration, WIDTH) - xAtTime(start, duration, WIDTH))}
              height={HEIGHT}
              data-testid="gt-segment"
            />
          ))}
          <path className="temporal-curve__area" d={geometry.area} />
          <path className="temporal-curve__line" d={geometry.line} data-testid="temporal-curve-path" />
          <line className="temporal-curve__playhead" x1={playhead} x2={playhead} y1={0} y2={HEIGHT} />
        </svg>
        {/* Drawn over the stretched curve so the mark stays round at any width. */}
        {geometry.peakIndex >= 0 && (
          <span
            className={peakClass}
            style={{ left: `${(geometry.peakX / WIDTH) * 100}%` }}
            aria-hidden="true"
            data-testid="temporal-peak"
            data-x={geometry.peakX}
            data-index={geometry.peakIndex}
            data-source={fromServer ? "server" : "curve"}
            data-hit={verdict === null ? "" : String(verdict)}
          />
        )}
      </div>
    </div>
  );
}
