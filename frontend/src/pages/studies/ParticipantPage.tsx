/**
 * The participant app (/p/<study>?PROLIFIC_PID=...): consent, instructions, practice, trials,
 * completion code. The server decides the trial order and stimuli; this page only shows the
 * current trial and sends one answer per trial (a random response id makes retries safe).
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useParams, useSearchParams } from "react-router";
import { ApiError } from "../../api/errors";
import { OverlayCanvas, type OverlaySettings } from "../explanations/OverlayCanvas";
import { UnseenBand } from "../explanations/UnseenBand";
import { viewRect } from "../explanations/view";
import { decodeMap, mapFrameAt, type HeatVolume, type MapPayload } from "../explanations/heatmap";
import { displayVolume, parseNormalization } from "../explanations/normalize";
import {
  finishInstructions,
  getState,
  getTrial,
  giveConsent,
  returnStudy,
  sendAnswer,
  startSession,
  type ParticipantStimulus,
  type ParticipantTrial,
  type Stage,
} from "./api";
import "./studies.css";

const ID_KEYS = ["PROLIFIC_PID", "workerId", "participant", "pid"];
/** The overlay's look; the scaling and threshold come with each trial (the study's rule). */
const OVERLAY_LOOK = { opacity: 0.55, colormap: "viridis" } as const;

function errorText(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  return "Something went wrong. Reload the page to continue where you left off.";
}

function newId(): string {
  if (typeof crypto !== "undefined" && "randomUUID" in crypto) return crypto.randomUUID();
  return `${Date.now().toString(16)}-${Math.random().toString(16).slice(2)}`;
}

export function ParticipantPage() {
  const { slug = "" } = useParams();
  const [search] = useSearchParams();
  const [token, setToken] = useState<string | null>(null);
  const [stage, setStage] = useState<Stage | null>(null);
  const [error, setError] = useState<string | null>(null);
  const hasId = ID_KEYS.some((k) => (search.get(k) ?? "").trim() !== "");

  useEffect(() => {
    if (!hasId) return;
    const params: Record<string, string> = {};
    search.forEach((value, key) => {
      params[key] = value;
    });
    startSession(slug, params)
      .then((state) => {
        setToken(state.session ?? null);
        setStage(state);
      })
      .catch((e: unknown) => setError(errorText(e)));
  }, [slug, search, hasId]);

  if (!hasId) {
    return (
      <main className="participant">
        <h1>Study link incomplete</h1>
        <p role="alert">
          This link has no participant id. Please open the study from the link your recruitment
          platform gave you.
        </p>
      </main>
    );
  }
  if (error) {
    return (
      <main className="participant">
        <h1>Study</h1>
        <p role="alert">{error}</p>
      </main>
    );
  }
  if (!stage || !token) {
    return (
      <main className="participant">
        <p>Loading…</p>
      </main>
    );
  }
  const update = (next: Promise<Stage>) =>
    next.then(setStage).catch((e: unknown) => setError(errorText(e)));

  return (
    <main className="participant">
      <h1>{stage.title}</h1>
      {stage.stage === "consent" && (
        <ConsentStep text={stage.consent_text} onAgree={() => update(giveConsent(token, true))} />
      )}
      {stage.stage === "instructions" && (
        <section aria-label="Instructions">
          <h2>Instructions</h2>
          <p className="participant-text">{stage.instructions_text}</p>
          <button type="button" className="button button--primary" onClick={() => update(finishInstructions(token))}>
            Start
          </button>
        </section>
      )}
      {stage.stage === "trials" && (
        <>
          <TrialRunner token={token} onDone={(s) => setStage({ ...stage, ...s })} />
          <LeaveStudy onLeave={() => update(returnStudy(token))} />
        </>
      )}
      {stage.stage === "screened_out" && (
        <section aria-label="Session ended">
          <h2>Thank you for your time</h2>
          <p>
            This session has ended because some of the check questions were not answered as
            asked. Please enter this code on your recruitment platform:{" "}
            <strong data-testid="screen-out-code">{stage.screen_out_code}</strong>
          </p>
          {stage.redirect_url && (
            <p>
              <a href={stage.redirect_url}>Return to the recruitment site</a>
            </p>
          )}
        </section>
      )}
      {stage.stage === "returned" && (
        <section aria-label="Study returned">
          <h2>You have left this study</h2>
          <p data-testid="returned">
            Your place has been given back, so someone else can take it. You can close this page.
          </p>
        </section>
      )}
      {stage.stage === "done" && (
        <section aria-label="Completion">
          <h2>Thank you!</h2>
          <p>
            Your completion code is <strong data-testid="completion-code">{stage.completion_code}</strong>
          </p>
          {stage.redirect_url && (
            <p>
              <a href={stage.redirect_url}>Return to the recruitment site</a>
            </p>
          )}
        </section>
      )}
    </main>
  );
}

function ConsentStep({ text, onAgree }: { text: string; onAgree: () => void }) {
  const [checked, setChecked] = useState(false);
  return (
    <section aria-label="Consent">
      <h2>Consent</h2>
      <p className="participant-text">{text}</p>
      <label className="participant-check">
        <input type="checkbox" checked={checked} onChange={(e) => setChecked(e.target.checked)} />
        <span>I have read the information above and agree to take part</span>
      </label>
      <div>
        <button type="button" className="button button--primary" disabled={!checked} onClick={onAgree}>
          I agree
        </button>
      </div>
    </section>
  );
}

/** Giving the study back (the recruitment platform's "return"), behind a confirmation. */
function LeaveStudy({ onLeave }: { onLeave: () => void }) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <p className="participant-leave">
        <button type="button" className="button button--ghost" onClick={() => setAsking(true)}>
          Leave the study
        </button>
      </p>
    );
  }
  return (
    <div className="participant-leave" role="group" aria-label="Leave the study">
      <p>Leave now? Your place goes to someone else and you will not get a completion code.</p>
      <button type="button" className="button button--primary" onClick={onLeave}>
        Yes, leave the study
      </button>{" "}
      <button type="button" className="button button--ghost" onClick={() => setAsking(false)} autoFocus>
        Stay
      </button>
    </div>
  );
}

function TrialRunner({
  token,
  onDone,
}: {
  token: string;
  onDone: (stage: Partial<Stage> & { stage: Stage["stage"] }) => void;
}) {
  const [trial, setTrial] = useState<ParticipantTrial | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [feedback, setFeedback] = useState<string | null>(null);
  const responseId = useRef<string>(newId());
  const shownAt = useRef<number>(0);
  const busy = useRef(false);

  const load = useCallback(() => {
    getTrial(token)
      .then((t) => {
        responseId.current = newId();
        shownAt.current = performance.now();
        setTrial(t);
      })
      .catch((e: unknown) => {
        if (e instanceof ApiError && e.status === 409) onDone({ stage: "done" });
        else setError(errorText(e));
      });
  }, [token, onDone]);

  useEffect(() => {
    load();
  }, [load]);

  const submit = (answer: Record<string, unknown>) => {
    if (!trial || busy.current) return;
    busy.current = true;
    sendAnswer(token, {
      index: trial.index,
      response_id: responseId.current,
      answer,
      client_ms: Math.round(performance.now() - shownAt.current),
      client_times: { shown_ms: Math.round(shownAt.current), answered_ms: Math.round(performance.now()) },
      viewport: { width: window.innerWidth, height: window.innerHeight },
    })
      .then(async (result) => {
        setFeedback(result.feedback ? `Practice answer: ${result.feedback}` : null);
        if (result.stage !== "trials") {
          onDone(await getState(token));
        } else {
          load();
        }
      })
      .catch((e: unknown) => setError(errorText(e)))
      .finally(() => {
        busy.current = false;
      });
  };

  if (error) return <p role="alert">{error}</p>;
  if (!trial) return <p>Loading trial…</p>;
  return <TrialScreen trial={trial} feedback={feedback} onAnswer={submit} />;
}

/** One trial as a participant sees it (also the designer's live preview, with `preview`). */
export function TrialScreen({
  trial,
  feedback = null,
  onAnswer,
  preview = false,
}: {
  trial: ParticipantTrial;
  feedback?: string | null;
  onAnswer: (answer: Record<string, unknown>) => void;
  preview?: boolean;
}) {
  return (
    <section aria-label={preview ? "Trial preview" : "Trial"} data-testid="trial" data-kind={trial.kind} data-index={trial.index}>
      <p className="trial-progress">
        {trial.practice ? "Practice trial" : `Trial ${trial.index + 1} of ${trial.total}`}
      </p>
      {feedback && <p className="trial-feedback">{feedback}</p>}
      {trial.time_limit_seconds > 0 && <Countdown key={trial.index} seconds={trial.time_limit_seconds} />}
      <h2>{trial.question}</h2>
      <TrialBody key={`${trial.kind}-${trial.index}`} trial={trial} onAnswer={onAnswer} />
    </section>
  );
}

function Countdown({ seconds }: { seconds: number }) {
  const [left, setLeft] = useState(seconds);
  useEffect(() => {
    const id = window.setInterval(() => setLeft((s) => Math.max(0, s - 1)), 1000);
    return () => window.clearInterval(id);
  }, []);
  return <p className="trial-timer">Time left: {left} s</p>;
}

function TrialBody({
  trial,
  onAnswer,
}: {
  trial: ParticipantTrial;
  onAnswer: (answer: Record<string, unknown>) => void;
}) {
  const [point, setPoint] = useState<{ x: number; y: number; time: number } | null>(null);
  const [rating, setRating] = useState<number | null>(null);
  const [choice, setChoice] = useState<string | null>(null);
  const [confidence, setConfidence] = useState<number | null>(null);
  const pointing = trial.kind === "pointing";
  const distinction = trial.kind === "distinction";
  const asks = trial.confidence ?? null;
  const chosenAnswer = (value: string): Record<string, unknown> =>
    trial.kind === "forward" || distinction ? { label: Number(value) } : { choice: value };
  // With a confidence question (and for distinction trials) a choice is selected first and sent
  // with Next; otherwise choosing answers at once, as before.
  const twoStep = asks !== null || distinction;
  const answer: Record<string, unknown> | null = (() => {
    if (trial.kind === "rating") return rating === null ? null : { rating };
    if (pointing) return point === null ? null : { ...point };
    return choice === null ? null : chosenAnswer(choice);
  })();
  const ready = answer !== null && (asks === null || confidence !== null);
  const send = () => {
    if (!answer || !ready) return;
    onAnswer(asks ? { ...answer, confidence } : answer);
  };
  const caption = (s: ParticipantStimulus, i: number): string | undefined => {
    if (trial.kind === "pairwise") return `Option ${"AB"[i]}${s.label ? ` (${s.label})` : ""}`;
    if (distinction) return `${i + 1}. ${s.class_label ?? ""}${s.label ? ` (${s.label})` : ""}`;
    return undefined;
  };
  return (
    <div>
      <div className={distinction ? "trial-stimuli trial-stimuli--candidates" : "trial-stimuli"}>
        {trial.stimuli.map((s, i) => (
          <StimulusView
            key={s.id}
            stimulus={s}
            caption={caption(s, i)}
            display={trial.display}
            onPoint={pointing ? setPoint : undefined}
            point={pointing ? point : null}
          />
        ))}
      </div>
      {trial.kind === "rating" && (
        <fieldset className="likert">
          <legend>Your rating (1 = poor, {trial.likert_points} = excellent)</legend>
          <div className="likert__scale">
            {Array.from({ length: trial.likert_points }, (_, k) => k + 1).map((v) => (
              <label key={v} className="likert__point">
                <input
                  type="radio"
                  name="rating"
                  value={v}
                  checked={rating === v}
                  onChange={() => setRating(v)}
                />
                <span>{v}</span>
              </label>
            ))}
          </div>
        </fieldset>
      )}
      {distinction && (
        <fieldset className="likert" data-testid="candidates">
          <legend>The model predicted…</legend>
          <div className="likert__scale">
            {trial.choices.map((c, i) => (
              <label key={c.value} className="likert__point trial-candidate">
                <input
                  type="radio"
                  name="candidate"
                  value={c.value}
                  checked={choice === c.value}
                  onChange={() => setChoice(c.value)}
                />
                <span>
                  {i + 1}. {c.label}
                </span>
              </label>
            ))}
          </div>
        </fieldset>
      )}
      {(trial.kind === "pairwise" || trial.kind === "forward" || trial.kind === "attention") && (
        <div className="trial-choices" role={twoStep ? "group" : undefined} aria-label="Your answer">
          {trial.choices.map((c) => (
            <button
              key={c.value}
              type="button"
              className={
                choice === c.value
                  ? "button button--primary trial-choice"
                  : "button button--ghost trial-choice"
              }
              aria-pressed={twoStep ? choice === c.value : undefined}
              onClick={() => (twoStep ? setChoice(c.value) : onAnswer(chosenAnswer(c.value)))}
            >
              {c.label}
            </button>
          ))}
        </div>
      )}
      {asks && (
        <fieldset className="likert trial-confidence" data-testid="confidence">
          <legend>
            {asks.question}{" "}
            <span className="trial-confidence__scale">
              ({asks.min} = not at all, {asks.max} = completely)
            </span>
          </legend>
          <div className="likert__scale">
            {Array.from({ length: asks.max - asks.min + 1 }, (_, k) => asks.min + k).map((v) => (
              <label key={v} className="likert__point">
                <input
                  type="radio"
                  name="confidence"
                  value={v}
                  checked={confidence === v}
                  onChange={() => setConfidence(v)}
                />
                <span>{v}</span>
              </label>
            ))}
          </div>
        </fieldset>
      )}
      {(trial.kind === "rating" || pointing || twoStep) && (
        <button type="button" className="button button--primary" disabled={!ready} onClick={send}>
          {pointing && !asks ? "Submit point" : "Next"}
        </button>
      )}
    </div>
  );
}

function StimulusView({
  stimulus,
  caption,
  display,
  onPoint,
  point,
}: {
  stimulus: ParticipantStimulus;
  caption?: string;
  display: ParticipantTrial["display"];
  onPoint?: (p: { x: number; y: number; time: number }) => void;
  point: { x: number; y: number } | null;
}) {
  const video = useRef<HTMLVideoElement>(null);
  const [volume, setVolume] = useState<HeatVolume | null>(null);
  const [time, setTime] = useState(0);
  const rule = parseNormalization(display.normalization);
  const settings = useMemo<OverlaySettings>(
    () => ({ ...OVERLAY_LOOK, threshold: display.threshold }),
    [display.threshold],
  );
  const width = stimulus.width ?? 320;
  const height = stimulus.height ?? 240;
  const seenRect = useMemo(
    () => viewRect(stimulus.view, width, height, width, height),
    [stimulus.view, width, height],
  );

  useEffect(() => {
    let live = true;
    fetch(stimulus.map_url, { credentials: "same-origin" })
      .then((r) => (r.ok ? (r.json() as Promise<MapPayload>) : null))
      .then((payload) => {
        if (live && payload) setVolume(displayVolume(decodeMap(payload), rule));
      })
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [stimulus.map_url, rule]);

  // A whole-video explanation's map rows follow its windows: the server says which row shows
  // when (as in the review player); one-clip maps follow their timestamps.
  const schedule = stimulus.schedule;
  const scheduledRow = schedule ? (schedule.rows[mapFrameAt(schedule.times, time)] ?? 0) : undefined;

  const click = (event: React.MouseEvent<HTMLDivElement>) => {
    if (!onPoint) return;
    const box = event.currentTarget.getBoundingClientRect();
    const x = ((event.clientX - box.left) / box.width) * width;
    const y = ((event.clientY - box.top) / box.height) * height;
    onPoint({ x, y, time: video.current?.currentTime ?? 0 });
  };

  return (
    <figure
      className="stimulus"
      data-stimulus={stimulus.id}
      data-normalization={rule}
      data-timestamps={JSON.stringify(stimulus.timestamps)}
    >
      {caption && <figcaption>{caption}</figcaption>}
      <div
        className={onPoint ? "stimulus-frame pointable" : "stimulus-frame"}
        style={{ aspectRatio: `${width} / ${height}` }}
        onClick={click}
        data-testid="stimulus-frame"
      >
        <video
          ref={video}
          src={stimulus.video_url}
          muted
          loop
          autoPlay
          playsInline
          onTimeUpdate={(e) => setTime(e.currentTarget.currentTime)}
        />
        <OverlayCanvas
          volume={volume}
          timestamps={stimulus.timestamps}
          time={time}
          frame={scheduledRow}
          width={width}
          height={height}
          settings={settings}
          view={seenRect}
        />
        <UnseenBand view={stimulus.view} videoWidth={width} videoHeight={height} />
        {point && (
          <span
            className="pointer-mark"
            style={{ left: `${(point.x / width) * 100}%`, top: `${(point.y / height) * 100}%` }}
          />
        )}
      </div>
    </figure>
  );
}
