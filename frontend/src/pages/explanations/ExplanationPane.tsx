import { useEffect, useMemo, useRef, useState } from "react";
import { errorMessage } from "../../api/errors";
import { getMap, type Explanation, type GroundTruth } from "./api";
import { ExportButtons } from "./ExportButtons";
import { FlagPanel } from "./FlagPanel";
import { methodLabel } from "./format";
import { GroundTruthLayer } from "./GroundTruthLayer";
import { decodeMap, type HeatVolume } from "./heatmap";
import { displayVolume, frameShows, type Normalization } from "./normalize";
import { OverlayCanvas, type OverlaySettings } from "./OverlayCanvas";
import { UnseenBand } from "./UnseenBand";
import { viewRect } from "./view";
import { mapRowAt, windowsSummary } from "./windows";

const MAX_CANVAS_WIDTH = 480;

export function canvasSize(width: number | null | undefined, height: number | null | undefined) {
  const w = width && width > 0 ? width : 320;
  const h = height && height > 0 ? height : 240;
  const scale = Math.min(1, MAX_CANVAS_WIDTH / w);
  return { width: Math.max(1, Math.round(w * scale)), height: Math.max(1, Math.round(h * scale)) };
}

interface Props {
  explanation: Explanation;
  streamUrl: string | null;
  time: number;
  playing: boolean;
  master: boolean;
  settings: OverlaySettings;
  /** How the map is scaled before the threshold (per frame by default). */
  normalization?: Normalization;
  registerVideo?: (element: HTMLVideoElement | null) => void;
  onRemove: () => void;
  /** Ground truth at the map frames with pointing marks (null: not loaded). */
  truth: GroundTruth | null;
}

/** One explanation over the video: the heatmap canvas, ground truth, flags and exports. */
export function ExplanationPane(props: Props) {
  const { explanation, streamUrl, time, playing, master, settings, onRemove, truth } = props;
  const normalization = props.normalization ?? "frame";
  const video = useRef<HTMLVideoElement | null>(null);
  const [volume, setVolume] = useState<HeatVolume | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let active = true;
    getMap(explanation.id)
      .then((payload) => active && setVolume(decodeMap(payload)))
      .catch((err) => active && setError(errorMessage(err)));
    return () => {
      active = false;
    };
  }, [explanation.id]);

  // Followers keep to the master's clock; every pane mirrors play/pause.
  useEffect(() => {
    const element = video.current;
    if (!element) return;
    if (!master && Math.abs(element.currentTime - time) > 0.15) element.currentTime = time;
    if (playing && element.paused) element.play().catch(() => undefined);
    if (!playing && !element.paused) element.pause();
  }, [time, playing, master]);

  const { width, height } = canvasSize(explanation.video.width, explanation.video.height);
  const seenRect = useMemo(
    () => viewRect(explanation.view, explanation.video.width, explanation.video.height, width, height),
    [explanation.view, explanation.video.width, explanation.video.height, width, height],
  );
  const timestamps = explanation.timestamps;
  const frameIndex = mapRowAt(explanation, time);
  const span = windowsSummary(explanation);
  const shown = useMemo(() => (volume ? displayVolume(volume, normalization) : null), [volume, normalization]);
  const blankFrame =
    shown !== null && !frameShows(shown, Math.min(frameIndex, shown.t - 1), settings.threshold);
  const frames = truth?.available ? truth.frames : [];
  const counted = frames.filter((f) => f.counted);
  const hits = counted.filter((f) => f.hit === true).length;
  const scoredLabel = truth?.available ? truth.label : null;
  const className = truth?.class_name ?? null;
  const renamed =
    scoredLabel !== null && className !== null && className.trim().toLowerCase() !== scoredLabel.trim().toLowerCase();
  const top = explanation.topk[0];

  return (
    <article
      className="review-pane"
      data-testid="review-pane"
      data-explanation-id={explanation.id}
      aria-label={`${methodLabel(explanation.method)} explanation`}
    >
      <header className="review-pane__header">
        <h2>{explanation.name || methodLabel(explanation.method)}</h2>
        <span className="small muted">
          {explanation.name ? `${methodLabel(explanation.method)} · ` : ""}
          {explanation.model?.name ?? explanation.label ?? "imported"}
          {explanation.explained_label ? ` · class ${explanation.explained_label}` : ""}
          {explanation.source === "imported" ? " · imported" : ""}
        </span>
        <button type="button" className="button button--ghost" onClick={onRemove} aria-label="Hide">
          ×
        </button>
      </header>
      <div className="review-pane__stage" style={{ aspectRatio: `${width} / ${height}` }}>
        {streamUrl ? (
          <video
            ref={(element) => {
              video.current = element;
              if (master) props.registerVideo?.(element);
            }}
            src={streamUrl}
            muted={!master}
            playsInline
            preload="auto"
            data-testid={master ? "review-video-master" : "review-video"}
          />
        ) : (
          <div className="review-pane__novideo">The video cannot be played.</div>
        )}
        <OverlayCanvas
          volume={shown}
          timestamps={timestamps}
          time={time}
          frame={frameIndex}
          width={width}
          height={height}
          settings={settings}
          view={seenRect}
        />
        <UnseenBand view={explanation.view} videoWidth={explanation.video.width} videoHeight={explanation.video.height} />
        <GroundTruthLayer truth={truth} frameIndex={frameIndex} />
        {blankFrame && (
          <p className="review-pane__blank" data-testid="frame-blank" role="status">
            Nothing above {Math.round(settings.threshold * 100)}% in this frame
            {normalization === "clip" ? " (scaled over the whole clip)" : ""}
          </p>
        )}
      </div>
      <p className="small review-pane__facts">
        {span && (
          <span className="review-pane__fact" data-testid="windows-summary">
            {span}
          </span>
        )}
        {top && (
          <span className="review-pane__fact">
            Predicted {top.label} ({Math.round(top.probability * 100)}%)
          </span>
        )}
        {explanation.cost.wall_seconds != null && (
          <span className="review-pane__fact" title="Time taken to compute this explanation">
            {explanation.cost.wall_seconds.toFixed(2)} s
          </span>
        )}
        {scoredLabel !== null && (
          <span className="review-pane__fact" data-testid="gt-label">
            scored against: <strong>{scoredLabel}</strong>
            {renamed && <span className="muted"> (class {className})</span>}
          </span>
        )}
        {counted.length > 0 && (
          <span className="review-pane__fact" data-testid="pointing-summary">
            pointing game {hits}/{counted.length} frames
          </span>
        )}
        {truth?.available && truth.temporal_hit != null && (
          <span className="review-pane__fact" data-testid="temporal-summary">
            when: {truth.temporal_hit ? "hit" : "miss"}
          </span>
        )}
      </p>
      {truth && !truth.available && (
        <p className="small muted review-pane__reason" data-testid="gt-unavailable">
          {truth.reason || "Not scored: there is no ground truth for this explanation."}
        </p>
      )}
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <div className="review-pane__actions">
        <ExportButtons explanationId={explanation.id} settings={settings} />
        <FlagPanel explanationId={explanation.id} time={time} />
      </div>
    </article>
  );
}
