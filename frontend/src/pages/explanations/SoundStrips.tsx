import { useEffect, useMemo, useRef, type KeyboardEvent, type MouseEvent } from "react";
import {
  audioBars,
  audioSummary,
  envelopePath,
  peakIndex,
  tokenAt,
  waveformColumns,
  type AudioImportance,
  type Waveform,
} from "./audio";
import { timeAtX, xAtTime } from "./curve";
import { formatClock } from "./format";

/** Canvas resolution of the strips; CSS stretches them to the row's width. */
const WIDTH = 1000;
const WAVE_HEIGHT = 48;
const CURVE_HEIGHT = 40;

const WAVE_FILL = "#64748b";
const AUDIO_FILL = "rgb(37 99 235 / 40%)";
const AUDIO_ACTIVE = "#1d4ed8";
const AUDIO_PEAK = "#1e3a8a";

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
    const columns = waveformColumns(waveform, duration, WIDTH, WAVE_HEIGHT);
    ctx.fillStyle = WAVE_FILL;
    ctx.fill(new Path2D(envelopePath(columns)));
    // A hairline centre so silence still reads as sound that is there but quiet.
    ctx.fillRect(0, WAVE_HEIGHT / 2 - 0.5, WIDTH, 1);
    element.dataset.drawn = String(columns.length);
  }, [waveform, duration]);

  function seekFromKey(event: KeyboardEvent<HTMLDivElement>) {
    const step = duration / 20;
    if (event.key === "ArrowRight") onSeek(Math.min(duration, time + step));
    else if (event.key === "ArrowLeft") onSeek(Math.max(0, time - step));
    else return;
    event.preventDefault();
  }

  return (
    <div className="temporal-row">
      <span className="temporal-row__label">Sound</span>
      <div
        className="sound-strip sound-strip--wave"
        role="slider"
        tabIndex={0}
        aria-label="Sound waveform; click to seek"
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
}

/**
 * What an audio-visual explanation says the model heard: one bar per audio token over the
 * seconds it covers, the token under the playhead highlighted, the peak marked.
 */
export function AudioCurve({ label, audio, duration, time, onSeek }: CurveProps) {
  const canvas = useRef<HTMLCanvasElement | null>(null);
  const bars = useMemo(
    () => audioBars(audio.importance, audio.times, duration, WIDTH, CURVE_HEIGHT),
    [audio, duration],
  );
  const peak = peakIndex(audio.importance.slice(0, audio.times.length));
  const active = tokenAt(audio.times, time);
  const summary = audioSummary(label, audio, formatClock);

  useEffect(() => {
    const element = canvas.current;
    const ctx = element?.getContext("2d");
    if (!element || !ctx) return;
    ctx.clearRect(0, 0, WIDTH, CURVE_HEIGHT);
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
      ctx.fillStyle = AUDIO_PEAK;
      ctx.beginPath();
      ctx.arc(top.x + top.width / 2, 4, 4, 0, Math.PI * 2);
      ctx.fill();
    }
    element.dataset.drawn = String(painted);
  }, [bars, active, peak]);

  return (
    <div className="temporal-row">
      <span className="temporal-row__label">{label} · sound</span>
      <div
        className="sound-strip sound-strip--audio"
        data-testid="audio-curve"
        data-peak-index={peak}
        data-active-token={active}
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
