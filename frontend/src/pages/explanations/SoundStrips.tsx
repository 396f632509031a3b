import { useEffect, useMemo, useRef, type KeyboardEvent, type MouseEvent } from "react";
import {
  audioBars,
  audioSummary,
  envelopePath,
  peakIndex,
  tokenAt,
  waveformColumns,
  waveformGain,
  type AudioImportance,
  type Waveform,
} from "./audio";
import { arrowSeekTime, timeAtX, xAtTime } from "./curve";
import { formatClock } from "./format";

/** Canvas resolution of the strips; CSS stretches them to the row's width. */
const WIDTH = 1000;
const WAVE_HEIGHT = 48;
const CURVE_HEIGHT = 40;

const WAVE_FILL = "#64748b";
const AUDIO_FILL = "rgb(37 99 235 / 40%)";
const AUDIO_ACTIVE = "#1d4ed8";
const AUDIO_PEAK = "#1e3a8a";
const PEAK_HIT = "#22c55e";
const PEAK_MISS = "#ef4444";
const SEGMENT_FILL = "rgb(57 255 20 / 22%)";

function seekTime(event: MouseEvent<HTMLElement>, duration: number): number {
  const box = event.currentTarget.getBoundingClientRect();
  const x = ((event.clientX - box.left) / Math.max(box.width, 1)) * WIDTH;
  return timeAtX(x, WIDTH, duration);
}

function Playhead({ time, duration, testId }: { time: number; duration: number; testId: string }) {
  const left = duration > 0 ? (xAtTime(time, duration, WIDTH) / WIDTH) * 100 : 0;
  return (
    <span
      className="sound-strip__playhead"
      style={{ left: `${left}%` }}
      data-testid={testId}
      data-time={time.toFixed(2)}
      aria-hidden="true"
    />
  );
}

interface WaveformProps {
  waveform: Waveform | null;
  error: string | null;
  duration: number;
  time: number;
  onSeek: (time: number) => void;
}

/** The video's sound as a waveform on the shared time axis, with a playhead; click to seek. */
export function WaveformStrip({ waveform, error, duration, time, onSeek }: WaveformProps) {
  const canvas = useRef<HTMLCanvasElement | null>(null);

  useEffect(() => {
    const element = canvas.current;
    const ctx = element?.getContext("2d");
    if (!element || !ctx) return;
    ctx.clearRect(0, 0, WIDTH, WAVE_HEIGHT);
    if (!waveform) {
      element.dataset.drawn = "0";
      return;
    }
    const columns = waveformColumns(waveform, duration, WIDTH, WAVE_HEIGHT, waveformGain(waveform));
    ctx.fillStyle = WAVE_FILL;
    ctx.fill(new Path2D(envelopePath(columns)));
    // A hairline centre so silence still reads as sound that is there but quiet.
    ctx.fillRect(0, WAVE_HEIGHT / 2 - 0.5, WIDTH, 1);
    element.dataset.drawn = String(columns.length);
  }, [waveform, duration]);

  function seekFromKey(event: KeyboardEvent<HTMLDivElement>) {
    const to = arrowSeekTime(event.key, time, duration);
    if (to === null) return;
    onSeek(to);
    event.preventDefault();
  }

  return (
    <div className="temporal-row">
      <span className="temporal-row__label">Sound</span>
      <div
        className="sound-strip sound-strip--wave"
        role="slider"
        tabIndex={0}
        aria-label="Sound waveform (scaled to its loudest moment); click to seek"
        aria-valuemin={0}
        aria-valuemax={duration}
        aria-valuenow={time}
        aria-valuetext={formatClock(time)}
        data-testid="waveform"
        onClick={(event) => onSeek(seekTime(event, duration))}
        onKeyDown={seekFromKey}
      >
        <canvas
          ref={canvas}
          width={WIDTH}
          height={WAVE_HEIGHT}
          data-testid="waveform-canvas"
        />
        <Playhead time={time} duration={duration} testId="waveform-playhead" />
        {!waveform && (
          <span className="sound-strip__note small muted">
            {error ? `The waveform could not be loaded: ${error}` : "Loading the waveform…"}
          </span>
        )}
      </div>
    </div>
  );
}

interface CurveProps {
  label: string;
  audio: AudioImportance;
  duration: number;
  time: number;
  onSeek: (time: number) => void;
  /** Ground-truth "when it is heard" segments (seconds), drawn as bands. */
  segments?: readonly (readonly number[])[];
  /** Sound temporal pointing game of the peak (null: not scored). */
  soundHit?: boolean | null;
}

/**
 * What an audio-visual explanation says the model heard: one bar per audio token over the
 * seconds it covers, the token under the playhead highlighted, the peak marked.
 */
export function AudioCurve(props: CurveProps) {
  const { label, audio, duration, time, onSeek, segments = [], soundHit = null } = props;
  const canvas = useRef<HTMLCanvasElement | null>(null);
  const bars = useMemo(
    () => audioBars(audio.importance, audio.times, duration, WIDTH, CURVE_HEIGHT),
    [audio, duration],
  );
  const peak = peakIndex(audio.importance.slice(0, audio.times.length));
  const active = tokenAt(audio.times, time);
  const verdict =
    soundHit == null
      ? ""
      : soundHit
        ? "; inside a heard segment (hit)"
        : "; outside the heard segments (miss)";
  const summary = audioSummary(label, audio, formatClock) + verdict;

  useEffect(() => {
    const element = canvas.current;
    const ctx = element?.getContext("2d");
    if (!element || !ctx) return;
    ctx.clearRect(0, 0, WIDTH, CURVE_HEIGHT);
    ctx.fillStyle = SEGMENT_FILL;
    for (const [start = 0, end = 0] of segments) {
      const x0 = xAtTime(start, duration, WIDTH);
      ctx.fillRect(x0, 0, Math.max(2, xAtTime(end, duration, WIDTH) - x0), CURVE_HEIGHT);
    }
    let painted = 0;
    for (const bar of bars) {
      // Every token gets at least a sliver, so the least important still shows where it is.
      const h = Math.max(2, bar.height);
      ctx.fillStyle = bar.index === active ? AUDIO_ACTIVE : AUDIO_FILL;
      ctx.fillRect(bar.x, CURVE_HEIGHT - h, Math.max(1, bar.width - 1), h);
      painted += 1;
    }
    const top = bars.find((b) => b.index === peak);
    if (top) {
      ctx.fillStyle = soundHit == null ? AUDIO_PEAK : soundHit ? PEAK_HIT : PEAK_MISS;
      ctx.strokeStyle = "#ffffff";
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      ctx.arc(top.x + top.width / 2, 5, 4, 0, Math.PI * 2);
      ctx.fill();
      ctx.stroke();
    }
    element.dataset.drawn = String(painted);
  }, [bars, active, peak, segments, soundHit, duration]);

  return (
    <div className="temporal-row">
      <span className="temporal-row__label">{label} · sound</span>
      <div
        className="sound-strip sound-strip--audio"
        data-testid="audio-curve"
        data-peak-index={peak}
        data-active-token={active}
        data-hit={soundHit == null ? "" : String(soundHit)}
        data-segments={segments.length}
        onClick={(event) => onSeek(seekTime(event, duration))}
      >
        <canvas
          ref={canvas}
          width={WIDTH}
          height={CURVE_HEIGHT}
          role="img"
          aria-label={summary}
          data-testid="audio-curve-canvas"
        />
        <Playhead time={time} duration={duration} testId="audio-curve-playhead" />
      </div>
    </div>
  );
}
