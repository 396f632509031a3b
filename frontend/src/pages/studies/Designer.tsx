/**
 * The study designer's parts: the new-study form (sections, help text, inline validation), the
 * overlay rule participants see, the stimuli with how many frames each shows, and the
 * Latin-square plan as a table before launch.
 */
import { useEffect, useId, useMemo, useState, type FormEvent, type ReactNode } from "react";
import { ApiError } from "../../api/errors";
import {
  createStudy,
  trialPreview,
  updateStudy,
  type ParticipantTrial,
  type Stimulus,
  type Study,
  type StudyInput,
} from "./api";
import { TrialScreen } from "./ParticipantPage";
import { conditionsOf, planTable } from "./plan";

export const KINDS = [
  ["rating", "Likert rating", "one explanation, rated on a scale"],
  ["pairwise", "Pairwise choice", "two explanations of the same video side by side"],
  ["forward", "Forward simulation", "predict the model's label from the explanation"],
  ["pointing", "Pointing", "click where the evidence is (needs an annotation project)"],
  [
    "distinction",
    "Distinction",
    "k explanations of one clip, each for a candidate class: which class did the model predict? (needs explanations computed for other target classes)",
  ],
] as const;

export const DISTINCTION_K = { min: 2, max: 8 } as const;

const SLUG = /^[-a-zA-Z0-9_]+$/;

type Errors = Record<string, string>;

function fieldErrors(error: unknown): { fields: Errors; general: string | null } {
  if (!(error instanceof ApiError)) return { fields: {}, general: "Something went wrong." };
  const body = error.body;
  const fields: Errors = {};
  if (body && typeof body === "object" && !Array.isArray(body)) {
    for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
      if (key === "detail" || key === "non_field_errors") continue;
      const text = Array.isArray(value) ? value.map(String).join(" ") : String(value);
      fields[key] = text;
    }
  }
  return { fields, general: Object.keys(fields).length ? null : error.message };
}

export function Field({
  label,
  help,
  error,
  children,
  id,
}: {
  label: string;
  help?: string;
  error?: string;
  children: (props: { id: string; "aria-describedby"?: string; "aria-invalid"?: boolean }) => ReactNode;
  id?: string;
}) {
  const auto = useId();
  const fieldId = id ?? auto;
  const describedBy = [help ? `${fieldId}-help` : "", error ? `${fieldId}-error` : ""].filter(Boolean).join(" ");
  return (
    <div className="designer-field">
      <label htmlFor={fieldId}>{label}</label>
      {children({ id: fieldId, "aria-describedby": describedBy || undefined, "aria-invalid": error ? true : undefined })}
      {help && (
        <p id={`${fieldId}-help`} className="designer-field__help">
          {help}
        </p>
      )}
      {error && (
        <p id={`${fieldId}-error`} className="designer-field__error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

/** The new-study form, in sections; checks what it can before sending, shows field errors. */
export function StudyForm({ onCreated, onCancel }: { onCreated: (study: Study) => void; onCancel: () => void }) {
  const [errors, setErrors] = useState<Errors>({});
  const [general, setGeneral] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const text = (k: string) => String(form.get(k) ?? "").trim();
    const num = (k: string) => Number(form.get(k) ?? 0);
    const prompt = text("check_prompt");
    const choices = text("check_choices")
      .split(",")
      .map((c) => c.trim())
      .filter(Boolean);
    const kinds = KINDS.map(([k]) => k).filter((k) => form.get(`kind_${k}`) === "on");
    const local: Errors = {};
    if (!text("title")) local.title = "Give the study a title.";
    if (!SLUG.test(text("slug"))) local.slug = "Letters, digits, dashes and underscores only.";
    if (!kinds.length) local.trial_kinds = "Choose at least one kind of trial.";
    if (prompt && !choices.includes(text("check_answer")))
      local.attention_checks = "The correct answer must be one of the choices.";
    const distinctionK = num("distinction_k");
    if (
      kinds.includes("distinction") &&
      !(Number.isInteger(distinctionK) && distinctionK >= DISTINCTION_K.min && distinctionK <= DISTINCTION_K.max)
    )
      local.distinction_k = `From ${DISTINCTION_K.min} to ${DISTINCTION_K.max} candidate classes.`;
    const screenOut = text("screen_out_code");
    if (screenOut && !/^[-A-Za-z0-9_]{1,64}$/.test(screenOut))
      local.screen_out_code = "Letters, digits, dashes and underscores (at most 64).";
    const threshold = num("overlay_threshold") / 100;
    if (!(threshold >= 0.01 && threshold <= 0.95)) local.overlay_threshold = "From 1% to 95%.";
    setErrors(local);
    setGeneral(null);
    if (Object.keys(local).length) return;
    const body = {
      title: text("title"),
      slug: text("slug"),
      blinded: form.get("blinded") === "on",
      trial_kinds: kinds,
      trials_per_participant: num("trials_per_participant"),
      practice_trials: num("practice_trials"),
      time_limit_seconds: num("time_limit_seconds"),
      attention_every: num("attention_every"),
      min_response_ms: num("min_response_ms"),
      max_failed_checks: num("max_failed_checks"),
      screen_out_failed_checks: form.get("screen_out_failed_checks") === "on",
      ask_confidence: form.get("ask_confidence") === "on",
      ...(kinds.includes("distinction") ? { distinction_k: distinctionK } : {}),
      ...(screenOut ? { screen_out_code: screenOut } : {}),
      consent_text: text("consent_text"),
      instructions_text: text("instructions_text"),
      redirect_url: text("redirect_url"),
      overlay_normalization: text("overlay_normalization"),
      overlay_threshold: threshold,
      attention_checks: prompt ? [{ prompt, choices, answer: text("check_answer") }] : [],
    } as StudyInput;
    setBusy(true);
    createStudy(body)
      .then(onCreated)
      .catch((e: unknown) => {
        const { fields, general: g } = fieldErrors(e);
        setErrors(fields);
        setGeneral(g);
      })
      .finally(() => setBusy(false));
  };

  return (
    <form className="card designer" onSubmit={submit} aria-label="New study" noValidate>
      <h2>New study</h2>
      {general && (
        <p className="form-error" role="alert">
          {general}
        </p>
      )}
      <fieldset className="designer__section">
        <legend>Basics</legend>
        <div className="designer__grid">
          <Field label="Title" error={errors.title} help="Participants see it at the top of every page.">
            {(p) => <input {...p} name="title" />}
          </Field>
          <Field label="Link name" error={errors.slug} help="The participant link ends with it: /p/<link name>.">
            {(p) => <input {...p} name="slug" />}
          </Field>
        </div>
        <label className="designer-check">
          <input type="checkbox" name="blinded" defaultChecked />
          <span>
            Blinded <span className="designer-field__help">participants never see method names</span>
          </span>
        </label>
      </fieldset>

      <fieldset className="designer__section" aria-describedby="kinds-help">
        <legend>Trials</legend>
        <div className="designer__kinds">
          {KINDS.map(([k, label, help]) => (
            <label key={k} className="designer-choice">
              <input type="checkbox" name={`kind_${k}`} defaultChecked={k === "rating"} />
              <span>
                <strong>{label}</strong>
                <span className="designer-field__help">{help}</span>
              </span>
            </label>
          ))}
        </div>
        {errors.trial_kinds && (
          <p className="designer-field__error" role="alert">
            {errors.trial_kinds}
          </p>
        )}
        <p id="kinds-help" className="designer-field__help">
          Each kind gives one condition per method (per pair of methods for pairwise trials);
          participants are balanced over them with a Latin square.
        </p>
        <div className="designer__grid designer__grid--numbers">
          <Field label="Trials per participant" error={errors.trials_per_participant}>
            {(p) => <input {...p} name="trials_per_participant" type="number" min={1} defaultValue={8} />}
          </Field>
          <Field label="Practice trials" error={errors.practice_trials} help="Answers get feedback; not analysed.">
            {(p) => <input {...p} name="practice_trials" type="number" min={0} defaultValue={1} />}
          </Field>
          <Field label="Time limit per trial (s)" error={errors.time_limit_seconds} help="0: no limit.">
            {(p) => <input {...p} name="time_limit_seconds" type="number" min={0} defaultValue={0} />}
          </Field>
          <Field
            label="Distinction: candidate classes (k)"
            error={errors.distinction_k}
            help={`${DISTINCTION_K.min}–${DISTINCTION_K.max}; chance is 1/k. Each clip needs explanations for k classes, the predicted one among them.`}
          >
            {(p) => (
              <input
                {...p}
                name="distinction_k"
                type="number"
                min={DISTINCTION_K.min}
                max={DISTINCTION_K.max}
                defaultValue={4}
              />
            )}
          </Field>
        </div>
        <label className="designer-check">
          <input type="checkbox" name="ask_confidence" />
          <span>
            Ask for confidence{" "}
            <span className="designer-field__help">
              a 1–5 rating after every trial, analysed as accuracy by confidence level
            </span>
          </span>
        </label>
      </fieldset>

      <fieldset className="designer__section">
        <legend>What participants see</legend>
        <div className="designer__grid">
          <Field
            label="Scale of the highlight"
            error={errors.overlay_normalization}
            help="Per frame: every frame shows its own hottest region (as the review player). Per clip: quiet frames stay quiet and may show nothing."
          >
            {(p) => (
              <select {...p} name="overlay_normalization" defaultValue="frame" className="designer-select">
                <option value="frame">Each frame on its own</option>
                <option value="clip">The whole clip at once</option>
              </select>
            )}
          </Field>
          <Field
            label="Threshold (%)"
            error={errors.overlay_threshold}
            help="Cells below this share of the scaled range are not drawn."
          >
            {(p) => <input {...p} name="overlay_threshold" type="number" min={1} max={95} defaultValue={20} />}
          </Field>
        </div>
      </fieldset>

      <fieldset className="designer__section">
        <legend>Quality checks</legend>
        <div className="designer__grid designer__grid--numbers">
          <Field label="Attention check after every N trials" error={errors.attention_every} help="0: none.">
            {(p) => <input {...p} name="attention_every" type="number" min={0} defaultValue={4} />}
          </Field>
          <Field label="Exclude answers faster than (ms)" error={errors.min_response_ms}>
            {(p) => <input {...p} name="min_response_ms" type="number" min={0} defaultValue={500} />}
          </Field>
          <Field label="Failed checks allowed" error={errors.max_failed_checks}>
            {(p) => <input {...p} name="max_failed_checks" type="number" min={0} defaultValue={0} />}
          </Field>
        </div>
        <div className="designer__grid">
          <Field label="Attention check question" help="For example: Pick 'blue' to show you are reading.">
            {(p) => <input {...p} name="check_prompt" />}
          </Field>
          <Field label="Its choices" help="Comma separated.">
            {(p) => <input {...p} name="check_choices" />}
          </Field>
          <Field label="Its correct answer" error={errors.attention_checks}>
            {(p) => <input {...p} name="check_answer" />}
          </Field>
        </div>
        <label className="designer-check">
          <input type="checkbox" name="screen_out_failed_checks" defaultChecked />
          <span>
            End the session when too many checks fail{" "}
            <span className="designer-field__help">
              the participant is thanked and shown the screen-out code, never the completion code
            </span>
          </span>
        </label>
        <Field
          label="Screen-out code (optional)"
          error={errors.screen_out_code}
          help="Made up for you if empty; it must differ from the completion code."
        >
          {(p) => <input {...p} name="screen_out_code" />}
        </Field>
      </fieldset>

      <fieldset className="designer__section">
        <legend>Texts and completion</legend>
        <Field label="Consent text" error={errors.consent_text}>
          {(p) => <textarea {...p} name="consent_text" defaultValue="I agree to take part in this study." />}
        </Field>
        <Field label="Instructions" error={errors.instructions_text} help="Shown once, before the first trial.">
          {(p) => <textarea {...p} name="instructions_text" />}
        </Field>
        <Field
          label="Redirect after completion (optional)"
          error={errors.redirect_url}
          help="Your recruitment platform's completion URL."
        >
          {(p) => <input {...p} name="redirect_url" type="url" />}
        </Field>
      </fieldset>

      <div className="designer__actions">
        <button type="submit" className="button button--primary" disabled={busy}>
          Create study
        </button>
        <button type="button" className="button button--ghost" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** The overlay rule participants see, editable while the study is a draft. */
export function OverlayRuleCard({ study, onSaved, onError }: { study: Study; onSaved: () => void; onError: (e: unknown) => void }) {
  const [normalization, setNormalization] = useState(study.overlay_normalization ?? "frame");
  const [threshold, setThreshold] = useState(Math.round((study.overlay_threshold ?? 0.2) * 100));
  const invalid = !(threshold >= 1 && threshold <= 95);
  const changed =
    normalization !== (study.overlay_normalization ?? "frame") ||
    threshold !== Math.round((study.overlay_threshold ?? 0.2) * 100);
  return (
    <section className="card designer" aria-labelledby="overlay-rule-title">
      <h2 id="overlay-rule-title">What participants see</h2>
      <div className="designer__grid">
        <Field
          label="Scale of the highlight"
          help="Per frame: every frame shows its own hottest region (as the review player)."
        >
          {(p) => (
            <select
              {...p}
              className="designer-select"
              data-testid="overlay-normalization"
              value={normalization}
              onChange={(e) => setNormalization(e.target.value as typeof normalization)}
            >
              <option value="frame">Each frame on its own</option>
              <option value="clip">The whole clip at once</option>
            </select>
          )}
        </Field>
        <Field label="Threshold (%)" error={invalid ? "From 1% to 95%." : undefined}>
          {(p) => (
            <input
              {...p}
              type="number"
              min={1}
              max={95}
              value={threshold}
              onChange={(e) => setThreshold(Number(e.target.value))}
            />
          )}
        </Field>
      </div>
      <button
        type="button"
        className="button button--ghost"
        disabled={!changed || invalid}
        onClick={() =>
          updateStudy(study.id, { overlay_normalization: normalization, overlay_threshold: threshold / 100 })
            .then(onSaved)
            .catch(onError)
        }
      >
        Save display rule
      </button>
    </section>
  );
}

export function coverageText(s: Stimulus): string {
  const c = s.coverage;
  if (!c) return "map unavailable";
  const frames = `${c.shown} of ${c.frames} frames`;
  return c.mostly_blank && s.allow_sparse ? `${frames} · accepted` : frames;
}

/** The badge class of a stimulus's coverage: fine, accepted as sparse, or refused. */
export function coverageBadge(s: Stimulus): string {
  if (!s.coverage?.mostly_blank) return "status-badge status-badge--ok";
  return s.allow_sparse ? "status-badge status-badge--warn" : "status-badge status-badge--fail";
}

/** The Latin-square plan: which condition each participant group gets at each position. */
export function PlanTable({ study, stimuli }: { study: Study; stimuli: Stimulus[] }) {
  const conditions = useMemo(
    () => conditionsOf(study.trial_kinds, stimuli.map((s) => s.method)),
    [study.trial_kinds, stimuli],
  );
  const table = useMemo(
    () => planTable(conditions, study.trials_per_participant ?? 8),
    [conditions, study.trials_per_participant],
  );
  const practice = study.practice_trials ?? 0;
  const every = study.attention_every ?? 0;
  const checks = Array.isArray(study.attention_checks) ? study.attention_checks.length : 0;
  return (
    <section className="card designer" aria-labelledby="plan-title" data-testid="plan">
      <h2 id="plan-title">Trial plan (Latin square)</h2>
      {table.length === 0 ? (
        <p className="muted">
          Add stimuli to see the plan{study.trial_kinds.includes("pairwise") ? " (pairwise trials need two methods)" : ""}.
        </p>
      ) : (
        <>
          <p className="designer-field__help">
            Participant number <em>n</em> joins group <em>n</em> mod {table.length}; each group sees
            every condition once per round of {conditions.length}, each at a different position.
            {practice > 0 && ` ${practice} practice trial(s) come first.`}
            {every > 0 && checks > 0 && ` An attention check follows every ${every} trials.`}
          </p>
          <div className="designer__table-wrap" tabIndex={0} role="region" aria-label="Trial plan (scrolls sideways)">
            <table className="table designer__plan" data-testid="plan-table">
              <thead>
                <tr>
                  <th scope="col">Group</th>
                  {table[0]!.map((_, i) => (
                    <th key={i} scope="col">
                      Trial {i + 1}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {table.map((row, r) => (
                  <tr key={r} data-testid="plan-row">
                    <th scope="row">{r + 1}</th>
                    {row.map((c, i) => (
                      <td key={i} className={`designer__cond designer__cond--${c.kind}`}>
                        {c.label}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}

/** A live preview of a trial as a participant sees it (the study's questions, stimuli and
 * display rule; answers are not sent anywhere). */
export function TrialPreviewCard({ study }: { study: Study }) {
  const kinds = useMemo(() => {
    const out: string[] = [...study.trial_kinds];
    if (Array.isArray(study.attention_checks) && study.attention_checks.length) out.push("attention");
    return out;
  }, [study.trial_kinds, study.attention_checks]);
  const [kind, setKind] = useState<string>(kinds[0] ?? "rating");
  const [trial, setTrial] = useState<ParticipantTrial | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [answered, setAnswered] = useState<string | null>(null);
  const rule = `${study.overlay_normalization}-${study.overlay_threshold}-${study.distinction_k}-${String(study.ask_confidence)}`;
  useEffect(() => {
    let live = true;
    trialPreview(study.id, kind)
      .then((t) => {
        if (!live) return;
        setTrial(t);
        setProblem(null);
        setAnswered(null); // a new trial: nothing answered yet
      })
      .catch((e: unknown) => {
        if (!live) return;
        setTrial(null);
        setAnswered(null);
        setProblem(e instanceof ApiError ? e.message : "The preview could not be loaded.");
      });
    return () => {
      live = false;
    };
  }, [study.id, kind, rule]);
  return (
    <section className="card designer" aria-labelledby="trial-preview-title" data-testid="trial-preview">
      <h2 id="trial-preview-title">What a participant sees</h2>
      <div className="designer__grid">
        <Field label="Trial kind" help="The study's own questions, stimuli and display rule; nothing is recorded.">
          {(p) => (
            <select {...p} className="designer-select" value={kind} onChange={(e) => setKind(e.target.value)}>
              {kinds.map((k) => (
                <option key={k} value={k}>
                  {KINDS.find(([name]) => name === k)?.[1] ?? "Attention check"}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      {problem && (
        <p className="notice notice--warning" role="status">
          {problem}
        </p>
      )}
      {trial && (
        <div className="designer__preview participant">
          <TrialScreen
            trial={trial}
            preview
            onAnswer={(a) => setAnswered(JSON.stringify(a))}
            feedback={answered ? `Preview: this answer would be sent: ${answered}` : null}
          />
        </div>
      )}
    </section>
  );
}
