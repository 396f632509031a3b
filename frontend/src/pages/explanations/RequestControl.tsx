import { useState, type FormEvent } from "react";
import { errorMessage } from "../../api/errors";
import {
  getStatus,
  isAudioVisual,
  isPending,
  requestExplanation,
  type ExplanationStatus,
  type Method,
  type RegisteredModel,
} from "./api";
import { formatPercent, methodLabel, STATUS_WORDS } from "./format";
import { useStatusFollow } from "./usePoll";

export const STATUS_POLL_MS = 800;

interface Props {
  videoId: number;
  /** Whether the video has a sound track (audio-visual models need one). */
  videoHasAudio?: boolean;
  models: RegisteredModel[];
  methods: Method[];
  onDone: (explanationId: number) => void;
}

/** "Request explanation": model, method and class, then live status until it is done. */
export function RequestControl({ videoId, videoHasAudio = true, models, methods, onDone }: Props) {
  const [chosenModel, setModelId] = useState<number | "">("");
  const [method, setMethod] = useState("staa_plus");
  const [target, setTarget] = useState<string>("");
  const [span, setSpan] = useState<"clip" | "windows">("clip");
  const [status, setStatus] = useState<ExplanationStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [sending, setSending] = useState(false);

  // Start on a model that can explain this video (no audio-visual model for a silent one).
  const usable = models.find((m) => videoHasAudio || !isAudioVisual(m)) ?? models[0];
  const modelId = chosenModel === "" ? (usable?.id ?? "") : chosenModel;
  const model = models.find((m) => m.id === modelId) ?? null;
  const audioVisual = model !== null && isAudioVisual(model);
  const blocked = audioVisual && !videoHasAudio
    ? `${model.name} is audio-visual and this video has no sound.`
    : audioVisual && span === "windows"
      ? `${model.name} is audio-visual; the whole video can be explained with video-only models.`
      : null;

  const pending = isPending(status?.status);
  // Long-polls the status (done is known as soon as the worker finishes); polls as a fallback.
  useStatusFollow(
    pending ? status : null,
    STATUS_POLL_MS,
    (next) => {
      setStatus(next);
      if (next.status === "done") onDone(next.id);
    },
    (err) => setError(errorMessage(err)),
  );

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (modelId === "" || blocked) return;
    setSending(true);
    setError(null);
    try {
      const accepted = await requestExplanation({
        video: videoId,
        model: modelId,
        method,
        params: {},
        target: target === "" ? null : Number(target),
        windowed: span === "windows",
      });
      const first = await getStatus(accepted.id);
      setStatus(first);
      if (first.status === "done") onDone(first.id);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setSending(false);
    }
  }

  if (models.length === 0) {
    return (
      <p className="muted" data-testid="request-no-models">
        No model is registered yet. Register one under Explanations → Models.
      </p>
    );
  }

  return (
    <form className="request-control" onSubmit={submit} aria-label="Request an explanation">
      <div className="field">
        <label htmlFor="request-model">Model</label>
        <select
          id="request-model"
          data-testid="request-model"
          value={modelId}
          onChange={(e) => {
            setModelId(Number(e.target.value));
            setTarget("");
          }}
        >
          {models.map((m) => (
            <option key={m.id} value={m.id}>
              {m.name}
              {isAudioVisual(m) ? (videoHasAudio ? " (audio-visual)" : " (audio-visual, needs sound)") : ""}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="request-method">Method</label>
        <select
          id="request-method"
          data-testid="request-method"
          value={method}
          onChange={(e) => setMethod(e.target.value)}
        >
          {methods.map((m) => (
            <option key={m.name} value={m.name} title={m.summary}>
              {methodLabel(m.name)}
              {m.family === "slow" ? " (slow)" : ""}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="request-target">Class</label>
        <select
          id="request-target"
          data-testid="request-target"
          value={target}
          onChange={(e) => setTarget(e.target.value)}
        >
          <option value="">Top-1 prediction</option>
          {(model?.labels ?? []).map((label, i) => (
            <option key={label} value={i}>
              {i}: {String(label)}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="request-span">Span</label>
        <select
          id="request-span"
          data-testid="request-span"
          value={span}
          onChange={(e) => setSpan(e.target.value === "windows" ? "windows" : "clip")}
          title="One clip sampled from the video, or the whole video in sliding windows of the model's clip length"
        >
          <option value="clip">One clip</option>
          <option value="windows">Whole video (sliding windows)</option>
        </select>
      </div>
      <button
        type="submit"
        className="button button--primary"
        data-testid="request-submit"
        disabled={sending || pending || blocked !== null}
        aria-describedby={blocked ? "request-blocked" : undefined}
      >
        {pending ? "Working…" : "Request explanation"}
      </button>
      {blocked && (
        <p className="muted small request-control__blocked" id="request-blocked" data-testid="request-blocked">
          {blocked}
        </p>
      )}
      <div
        className="request-control__status"
        role="status"
        aria-live="polite"
        data-testid="request-status"
        data-status={status?.status ?? "idle"}
      >
        {status && (
          <>
            <span className={`expl-status expl-status--${status.status}`}>
              {STATUS_WORDS[status.status] ?? status.status}
            </span>
            {status.status === "running" && (
              <>
                <progress max={1} value={status.progress} aria-label="Progress">
                  {formatPercent(status.progress)}
                </progress>
                <span className="small muted" data-testid="request-progress">
                  {formatPercent(status.progress)}
                </span>
              </>
            )}
            {status.status === "failed" && <span className="form-error">{status.error}</span>}
          </>
        )}
        {error && (
          <span className="form-error" role="alert">
            {error}
          </span>
        )}
      </div>
    </form>
  );
}
