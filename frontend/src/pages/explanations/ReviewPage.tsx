import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link, useParams, useSearchParams } from "react-router";
import { ApiError, errorMessage } from "../../api/errors";
import { getVideo, type Video } from "../../api/videos";
import { useDocumentTitle } from "../../components/useDocumentTitle";
import type { Waveform } from "./audio";
import {
  explanationAudio,
  getGroundTruth,
  getWaveform,
  isPending,
  listExplanations,
  listMethods,
  listModels,
  type Explanation,
  type GroundTruth,
  type Method,
  type RegisteredModel,
  waveformUrl,
} from "./api";
import { ColorLegend } from "./ColorLegend";
import { COLORMAPS, colormapTitle, type ColormapName } from "./colormap";
import { ExplanationPane } from "./ExplanationPane";
import { formatClock, formatPercent, methodLabel, STATUS_WORDS } from "./format";
import { explanationName } from "./naming";
import { NORMALIZATIONS, parseNormalization } from "./normalize";
import type { OverlaySettings } from "./OverlayCanvas";
import { RenameControl } from "./RenameControl";
import { RequestControl } from "./RequestControl";
import { AudioCurve, WaveformStrip } from "./SoundStrips";
import { TemporalCurve } from "./TemporalCurve";
import { useRefreshWhenChanged } from "./usePoll";
import { curveOf, peakOnCurve } from "./windows";

export const MAX_PANES = 4;

/** `?ids=3,5` -> [3, 5] (at most MAX_PANES, positive whole numbers, no repeats). */
export function parseIds(text: string | null): number[] {
  const out: number[] = [];
  for (const part of (text ?? "").split(",")) {
    const n = Number(part.trim());
    if (Number.isInteger(n) && n > 0 && !out.includes(n)) out.push(n);
  }
  return out.slice(0, MAX_PANES);
}

type Loaded =
  | { kind: "loading" }
  | { kind: "missing" }
  | { kind: "failed"; message: string }
  | { kind: "loaded"; video: Video };

/** `?t=12.5` -> 12.5 seconds; anything else (missing, negative, not a number) -> 0. */
export function parseStart(raw: string | null): number {
  const value = Number(raw);
  return raw !== null && Number.isFinite(value) && value > 0 ? value : 0;
}

/** Review explanations of one video: 1-4 methods side by side over the playing video. */
export function ReviewPage() {
  const { videoId } = useParams();
  const id = Number(videoId);
  const [params, setParams] = useSearchParams();
  const selected = useMemo(() => parseIds(params.get("ids")), [params]);
  const [loaded, setLoaded] = useState<Loaded>({ kind: "loading" });
  const [explanations, setExplanations] = useState<Explanation[]>([]);
  const [models, setModels] = useState<RegisteredModel[]>([]);
  const [methods, setMethods] = useState<Method[]>([]);
  const [truths, setTruths] = useState<Record<number, GroundTruth>>({});
  const [waveform, setWaveform] = useState<{ url: string; data?: Waveform; error?: string } | null>(
    null,
  );
  const [settings, setSettings] = useState<OverlaySettings>({
    opacity: 0.55,
    threshold: 0.2,
    colormap: "viridis",
  });
  // `?norm=clip` scales each map over the whole clip; per frame (the default) over each frame.
  const normalization = parseNormalization(params.get("norm"));
  // `?t=` (seconds) opens the player at that moment, e.g. from a leaderboard drill-down.
  const [startAt] = useState(() => parseStart(params.get("t")));
  const [time, setTime] = useState(startAt);
  const [playing, setPlaying] = useState(false);
  const master = useRef<HTMLVideoElement | null>(null);
  const pendingStart = useRef<number | null>(startAt > 0 ? startAt : null);
  useDocumentTitle(loaded.kind === "loaded" ? `Review: ${loaded.video.title}` : "Review");

  const refresh = useCallback(async () => {
    try {
      const list = await listExplanations({ video: id, page: 1 });
      setExplanations(list.results);
    } catch {
      /* the list is refreshed again on the next poll */
    }
  }, [id]);

  const validId = Number.isInteger(id) && id > 0;
  useEffect(() => {
    let active = true;
    if (!validId) return undefined;
    getVideo(id)
      .then((video) => active && setLoaded({ kind: "loaded", video }))
      .catch((error) => {
        if (!active) return;
        if (error instanceof ApiError && error.status === 404) setLoaded({ kind: "missing" });
        else setLoaded({ kind: "failed", message: errorMessage(error) });
      });
    listExplanations({ video: id, page: 1 })
      .then((page) => active && setExplanations(page.results))
      .catch(() => undefined);
    listModels()
      .then((page) => active && setModels(page.results))
      .catch(() => undefined);
    listMethods()
      .then((got) => active && setMethods(got))
      .catch(() => undefined);
    return () => {
      active = false;
    };
  }, [id, validId, refresh]);

  useRefreshWhenChanged(
    explanations.filter((e) => isPending(e.status)),
    1500,
    refresh,
  );

  // The video's sound, when it has some: drawn once as a waveform under the player.
  const soundUrl = loaded.kind === "loaded" ? waveformUrl(loaded.video) : null;
  useEffect(() => {
    if (!soundUrl) return undefined;
    let active = true;
    getWaveform(soundUrl)
      .then((data) => active && setWaveform({ url: soundUrl, data }))
      .catch((error) => active && setWaveform({ url: soundUrl, error: errorMessage(error) }));
    return () => {
      active = false;
    };
  }, [soundUrl]);

  const byId = useMemo(() => new Map(explanations.map((e) => [e.id, e])), [explanations]);
  const shown = selected
    .map((sid) => byId.get(sid))
    .filter((e): e is Explanation => e !== undefined && e.status === "done");

  useEffect(() => {
    for (const e of shown) {
      if (truths[e.id]) continue;
      getGroundTruth(e.id)
        .then((gt) => setTruths((previous) => ({ ...previous, [e.id]: gt })))
        .catch(() => undefined);
    }
  }, [shown, truths]);

  // The master video drives the clock while playing.
  useEffect(() => {
    if (!playing) return undefined;
    let frame = 0;
    const tick = () => {
      const element = master.current;
      if (element) {
        setTime(element.currentTime);
        if (element.ended) setPlaying(false);
      }
      frame = window.requestAnimationFrame(tick);
    };
    frame = window.requestAnimationFrame(tick);
    return () => window.cancelAnimationFrame(frame);
  }, [playing]);

  const setSelected = useCallback(
    (ids: number[]) => {
      const next = new URLSearchParams(params);
      if (ids.length) next.set("ids", ids.slice(-MAX_PANES).join(","));
      else next.delete("ids");
      setParams(next, { replace: true });
    },
    [params, setParams],
  );

  const setNormalization = useCallback(
    (value: string) => {
      const next = new URLSearchParams(params);
      if (value === "clip") next.set("norm", "clip");
      else next.delete("norm");
      setParams(next, { replace: true });
    },
    [params, setParams],
  );
  const defaultsOf = useMemo(
    () => new Map(methods.map((m) => [m.name, (m.defaults ?? {}) as Record<string, unknown>])),
    [methods],
  );

  // Without panes, the plain player is the clock (its own controls play, pause and seek).
  const registerPlain = useCallback((element: HTMLVideoElement | null) => {
    if (!element && master.current) {
      // Leaving the plain player for the panes: they start where it was, with the clock stopped.
      const at = master.current.currentTime;
      if (at > 0) pendingStart.current = at;
      setPlaying(false);
    }
    master.current = element;
  }, []);

  const onDone = useCallback(
    (doneId: number) => {
      void refresh();
      if (!selected.includes(doneId)) setSelected([...selected, doneId]);
    },
    [refresh, selected, setSelected],
  );

  const replaceExplanation = useCallback((updated: Explanation) => {
    setExplanations((list) => list.map((e) => (e.id === updated.id ? { ...e, ...updated } : e)));
  }, []);

  function toggle(eid: number) {
    if (selected.includes(eid)) setSelected(selected.filter((x) => x !== eid));
    else setSelected([...selected, eid]);
  }

  if (loaded.kind === "loading" && validId) {
    return (
      <section className="page">
        <p className="muted" role="status">
          Loading…
        </p>
      </section>
    );
  }
  if (loaded.kind !== "loaded") {
    return (
      <section className="page">
        <h1>Review</h1>
        <div className="notice notice--warning" role="alert">
          <p>
            {loaded.kind === "failed"
              ? loaded.message
              : "There is no video here, or it is not visible to you."}
          </p>
        </div>
        <Link to="/explanations">Back to explanations</Link>
      </section>
    );
  }

  const video = loaded.video;
  const duration = video.duration ?? Math.max(0, ...shown.flatMap((e) => e.timestamps));
  const streamUrl = video.stream_url ?? null;
  // Why the upload's sound is missing from playback or from the waveform, when it is.
  const audioError = video.audio_error;
  const audible = shown.flatMap((e) => {
    const audio = explanationAudio(e);
    return audio ? [{ explanation: e, audio }] : [];
  });

  // The video's sound and what audio-visual explanations say about it, on the curves' time axis.
  const sound = (soundUrl || audible.length > 0 || audioError) && (
    <div className="review-curves review-sound" aria-label="Sound" data-testid="review-sound">
      {audioError && (
        <p className="small muted" data-testid="audio-error">
          {audioError}
        </p>
      )}
      {soundUrl && (
        <WaveformStrip
          waveform={waveform?.url === soundUrl ? (waveform.data ?? null) : null}
          error={waveform?.url === soundUrl ? (waveform.error ?? null) : null}
          duration={duration}
          time={time}
          onSeek={seek}
        />
      )}
      {audible.map(({ explanation: e, audio }) => (
        <AudioCurve
          key={e.id}
          label={methodLabel(e.method)}
          audio={audio}
          duration={duration}
          time={time}
          onSeek={seek}
          segments={truths[e.id]?.sound_segments ?? []}
          soundHit={truths[e.id]?.sound_hit ?? null}
        />
      ))}
    </div>
    );

  function seek(t: number) {
    const clamped = Math.min(Math.max(t, 0), duration || 0);
    if (master.current) master.current.currentTime = clamped;
    setTime(clamped);
  }

  function togglePlay() {
    const element = master.current;
    if (!element) return;
    if (playing) {
      element.pause();
      setPlaying(false);
    } else {
      element
        .play()
        .then(() => setPlaying(true))
        .catch(() => setPlaying(false));
    }
  }

  return (
    <section className="page review-page" data-testid="review-page" data-video-id={video.id}>
      <p className="small">
        <Link to="/explanations">← Explanations</Link> · <Link to={`/library/${video.id}`}>Video page</Link>
      </p>
      <h1>Review: {video.title}</h1>

      {video.status !== "ready" ? (
        <div className="notice notice--warning" role="alert" data-testid="video-not-ready">
          <p>This video is not ready yet ({video.status}); explanations can be requested once it is.</p>
        </div>
      ) : (
        <div className="card review-request">
          <h2>Request an explanation</h2>
          <RequestControl
            videoId={video.id}
            videoHasAudio={video.has_audio}
            models={models} methods={methods} onDone={onDone} />
        </div>
      )}

      <fieldset className="review-choose" data-testid="explanation-choices">
        <legend>Explanations of this video (up to {MAX_PANES} side by side)</legend>
        {explanations.length === 0 && <p className="muted">None yet.</p>}
        <ul>
          {explanations.map((e) => {
            const name = explanationName(e, defaultsOf.get(e.method));
            return (
              <li key={e.id} className="review-choose__item" data-testid={`explanation-item-${e.id}`}>
                <label className="review-choose__label">
                  <input
                    type="checkbox"
                    checked={selected.includes(e.id)}
                    disabled={e.status !== "done" || (!selected.includes(e.id) && selected.length >= MAX_PANES)}
                    onChange={() => toggle(e.id)}
                    data-testid={`explanation-option-${e.id}`}
                  />{" "}
                  <span className="review-choose__name" data-testid="explanation-name">
                    {name.title}
                    <span className="small muted"> · {name.details}</span>
                  </span>{" "}
                  <span className={`expl-status expl-status--${e.status}`}>
                    {STATUS_WORDS[e.status] ?? e.status}
                    {e.status === "running" ? ` ${formatPercent(e.progress)}` : ""}
                  </span>
                  {e.status === "failed" && <span className="form-error"> {e.error}</span>}
                </label>
                {e.can_rename && <RenameControl explanation={e} title={name.title} onRenamed={replaceExplanation} />}
              </li>
            );
          })}
        </ul>
      </fieldset>

      <div className="overlay-controls" aria-label="Overlay settings">
        <fieldset className="field segmented" data-testid="overlay-normalization">
          <legend>Scale</legend>
          <div className="segmented__options">
            {NORMALIZATIONS.map((n) => (
              <label key={n.value} className="segmented__option" title={n.help}>
                <input
                  type="radio"
                  name="overlay-normalization"
                  value={n.value}
                  checked={normalization === n.value}
                  onChange={() => setNormalization(n.value)}
                />
                <span>{n.label}</span>
              </label>
            ))}
          </div>
        </fieldset>
        <div className="field">
          <label htmlFor="overlay-opacity">Opacity {Math.round(settings.opacity * 100)}%</label>
          <input
            id="overlay-opacity"
            type="range"
            min={0}
            max={1}
            step={0.05}
            value={settings.opacity}
            data-testid="overlay-opacity"
            onChange={(e) => setSettings({ ...settings, opacity: Number(e.target.value) })}
          />
        </div>
        <div className="field">
          <label htmlFor="overlay-threshold">Threshold {Math.round(settings.threshold * 100)}%</label>
          <input
            id="overlay-threshold"
            type="range"
            min={0}
            max={1}
            step={0.01}
            value={settings.threshold}
            data-testid="overlay-threshold"
            onChange={(e) => setSettings({ ...settings, threshold: Number(e.target.value) })}
          />
        </div>
        <div className="field">
          <label htmlFor="overlay-colormap">Colormap</label>
          <select
            id="overlay-colormap"
            value={settings.colormap}
            data-testid="overlay-colormap"
            onChange={(e) => setSettings({ ...settings, colormap: e.target.value as ColormapName })}
          >
            {COLORMAPS.map((name) => (
              <option key={name} value={name}>
                {colormapTitle(name)}
              </option>
            ))}
          </select>
        </div>
        <ColorLegend colormap={settings.colormap} threshold={settings.threshold} normalization={normalization} />
      </div>

      {shown.length === 0 ? (
        <div className="review-single">
          {streamUrl && (
            <video
              ref={registerPlain}
              src={streamUrl}
              controls
              preload="metadata"
              className="review-single__video"
              data-testid="review-video-plain"
              onPlay={() => setPlaying(true)}
              onPause={() => setPlaying(false)}
              onSeeked={(event) => setTime(event.currentTarget.currentTime)}
            />
          )}
          {sound}
          <p className="muted">Request an explanation, or tick one above, to see it over the video.</p>
        </div>
      ) : (
        <>
          <div className={`review-grid review-grid--${shown.length}`}>
            {shown.map((e, index) => (
              <ExplanationPane
                key={e.id}
                explanation={e}
                streamUrl={streamUrl}
                time={time}
                playing={playing}
                master={index === 0}
                settings={settings}
                normalization={normalization}
                truth={truths[e.id] ?? null}
                registerVideo={(element) => {
                  master.current = element;
                  if (element && pendingStart.current !== null) {
                    element.currentTime = pendingStart.current;
                    pendingStart.current = null;
                  }
                }}
                onRemove={() => setSelected(selected.filter((x) => x !== e.id))}
              />
            ))}
          </div>
          <div className="review-transport" aria-label="Playback">
            <button
              type="button"
              className="button"
              onClick={togglePlay}
              data-testid="player-play"
              disabled={!streamUrl}
            >
              {playing ? "Pause" : "Play"}
            </button>
            <span className="review-transport__clock" data-testid="player-time">
              {formatClock(time)} / {formatClock(duration)}
            </span>
            <input
              type="range"
              className="review-transport__seek"
              min={0}
              max={duration || 0}
              step={0.01}
              value={Math.min(time, duration || 0)}
              onChange={(e) => seek(Number(e.target.value))}
              aria-label="Seek"
              data-testid="player-seek"
            />
          </div>
          <div className="review-curves">
            {shown.map((e) => (
              <TemporalCurve
                key={e.id}
                label={methodLabel(e.method)}
                {...curveOf(e)}
                duration={duration}
                time={time}
                onSeek={seek}
                segments={truths[e.id]?.segments ?? []}
                peak={peakOnCurve(e, truths[e.id]?.temporal_peak ?? null)}
                temporalHit={truths[e.id]?.temporal_hit ?? null}
              />
            ))}
          </div>
          {sound}
        </>
      )}
    </section>
  );
}
