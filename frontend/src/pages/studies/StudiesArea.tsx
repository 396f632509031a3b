/**
 * The Studies area for researchers: design a study (stimuli, trial kinds, balancing, checks,
 * texts, limits, completion), preview it as a participant, and read its analysis.
 */
import { useCallback, useEffect, useState, type FormEvent } from "react";
import { Link, Route, Routes, useParams } from "react-router";
import { ApiError } from "../../api/errors";
import { useDocumentTitle } from "../../components/useDocumentTitle";
import {
  addStimuli,
  createStudy,
  exportUrl,
  getReport,
  getStudy,
  listStimuli,
  listStudies,
  previewLink,
  updateStudy,
  type Stimulus,
  type Study,
  type StudyInput,
  type StudyReport,
} from "./api";
import { layoutIntervals, type IntervalDatum } from "./chart";
import "./studies.css";

const KINDS = [
  ["rating", "Likert rating"],
  ["pairwise", "Pairwise choice"],
  ["forward", "Forward simulation"],
  ["pointing", "Pointing"],
] as const;

function message(error: unknown): string {
  return error instanceof ApiError ? error.message : "Something went wrong.";
}

export function StudiesArea() {
  return (
    <Routes>
      <Route index element={<StudyList />} />
      <Route path=":id" element={<StudyDetail />} />
    </Routes>
  );
}

function StudyList() {
  useDocumentTitle("Studies");
  const [studies, setStudies] = useState<Study[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const load = useCallback(() => {
    listStudies()
      .then(setStudies)
      .catch((e: unknown) => {
        setStudies([]);
        setError(message(e));
      });
  }, []);
  useEffect(load, [load]);

  return (
    <section className="page">
      <h1>Studies</h1>
      {error && <p role="alert">{error}</p>}
      <button type="button" onClick={() => setCreating((c) => !c)}>
        {creating ? "Cancel" : "New study"}
      </button>
      {creating && (
        <StudyForm
          onCreated={() => {
            setCreating(false);
            load();
          }}
        />
      )}
      {studies && studies.length === 0 && (
        <div className="empty-state" data-testid="empty-state">
          <p className="empty-state__message">
            Studies — human-evaluation studies will appear here once created.
          </p>
          <p className="muted">
            Studies collect ratings, pairwise choices, simulations and pointing responses from
            participants.
          </p>
        </div>
      )}
      {studies && studies.length > 0 && (
        <table className="study-table" data-testid="study-list">
          <thead>
            <tr>
              <th>Title</th>
              <th>Status</th>
              <th>Trial kinds</th>
              <th>Stimuli</th>
              <th>Participants</th>
            </tr>
          </thead>
          <tbody>
            {studies.map((s) => (
              <tr key={s.id}>
                <td>
                  <Link to={`/studies/${s.id}`}>{s.title}</Link>
                </td>
                <td>{s.status}</td>
                <td>{s.trial_kinds.join(", ")}</td>
                <td>{s.n_stimuli}</td>
                <td>{s.n_sessions}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function StudyForm({ onCreated }: { onCreated: () => void }) {
  const [error, setError] = useState<string | null>(null);
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
    const body: StudyInput = {
      title: text("title"),
      slug: text("slug"),
      blinded: form.get("blinded") === "on",
      trial_kinds: KINDS.map(([k]) => k).filter((k) => form.get(`kind_${k}`) === "on"),
      trials_per_participant: num("trials_per_participant"),
      practice_trials: num("practice_trials"),
      time_limit_seconds: num("time_limit_seconds"),
      attention_every: num("attention_every"),
      min_response_ms: num("min_response_ms"),
      max_failed_checks: num("max_failed_checks"),
      consent_text: text("consent_text"),
      instructions_text: text("instructions_text"),
      redirect_url: text("redirect_url"),
      attention_checks: prompt ? [{ prompt, choices, answer: text("check_answer") }] : [],
    } as StudyInput;
    createStudy(body)
      .then(onCreated)
      .catch((e: unknown) => setError(message(e)));
  };
  return (
    <form className="study-form" onSubmit={submit} aria-label="New study">
      {error && <p role="alert">{error}</p>}
      <label>
        Title <input name="title" required />
      </label>
      <label>
        Link name (letters, digits, dashes) <input name="slug" required pattern="[-a-zA-Z0-9_]+" />
      </label>
      <fieldset>
        <legend>Trial kinds</legend>
        {KINDS.map(([k, label]) => (
          <label key={k}>
            <input type="checkbox" name={`kind_${k}`} defaultChecked={k === "rating"} /> {label}
          </label>
        ))}
      </fieldset>
      <label>
        <input type="checkbox" name="blinded" defaultChecked /> Blinded (participants never see
        method names)
      </label>
      <label>
        Trials per participant <input name="trials_per_participant" type="number" min={1} defaultValue={8} />
      </label>
      <label>
        Practice trials <input name="practice_trials" type="number" min={0} defaultValue={1} />
      </label>
      <label>
        Time limit per trial, seconds (0: none) <input name="time_limit_seconds" type="number" min={0} defaultValue={0} />
      </label>
      <label>
        Attention check after every N trials <input name="attention_every" type="number" min={0} defaultValue={4} />
      </label>
      <label>
        Attention check question <input name="check_prompt" />
      </label>
      <label>
        Its choices (comma separated) <input name="check_choices" />
      </label>
      <label>
        Its correct answer <input name="check_answer" />
      </label>
      <label>
        Exclude answers faster than (ms) <input name="min_response_ms" type="number" min={0} defaultValue={500} />
      </label>
      <label>
        Failed checks allowed <input name="max_failed_checks" type="number" min={0} defaultValue={0} />
      </label>
      <label>
        Consent text <textarea name="consent_text" defaultValue="I agree to take part in this study." />
      </label>
      <label>
        Instructions <textarea name="instructions_text" />
      </label>
      <label>
        Redirect after completion (URL, optional) <input name="redirect_url" type="url" />
      </label>
      <button type="submit">Create study</button>
    </form>
  );
}

function StudyDetail() {
  const id = Number(useParams().id);
  const [study, setStudy] = useState<Study | null>(null);
  const [stimuli, setStimuli] = useState<Stimulus[]>([]);
  const [report, setReport] = useState<StudyReport | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [ids, setIds] = useState("");
  const [preview, setPreview] = useState<string | null>(null);
  useDocumentTitle(study ? `Study: ${study.title}` : "Study");

  const load = useCallback(() => {
    getStudy(id).then(setStudy).catch((e: unknown) => setError(message(e)));
    listStimuli(id).then(setStimuli).catch((e: unknown) => setError(message(e)));
    getReport(id).then(setReport).catch((e: unknown) => setError(message(e)));
  }, [id]);
  useEffect(load, [load]);

  if (!study) return <section className="page">{error ? <p role="alert">{error}</p> : <p>Loading…</p>}</section>;
  const act = (p: Promise<unknown>) => {
    setError(null);
    p.then(load).catch((e: unknown) => setError(message(e)));
  };
  const link = `${window.location.origin}${study.participant_link}?PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}`;

  return (
    <section className="page">
      <p>
        <Link to="/studies">All studies</Link>
      </p>
      <h1>{study.title}</h1>
      {error && <p role="alert">{error}</p>}
      <p>
        Status: <strong data-testid="study-status">{study.status}</strong> · {study.trial_kinds.join(", ")} ·{" "}
        {study.trials_per_participant} trials per participant · completion code{" "}
        <code>{study.completion_code}</code>
      </p>
      <p>
        Participant link: <code data-testid="participant-link">{link}</code>
      </p>
      <div>
        {study.status !== "open" ? (
          <button type="button" onClick={() => act(updateStudy(id, { status: "open" }))}>
            Open study
          </button>
        ) : (
          <button type="button" onClick={() => act(updateStudy(id, { status: "closed" }))}>
            Close study
          </button>
        )}{" "}
        <button
          type="button"
          onClick={() =>
            previewLink(id)
              .then((r) => setPreview(r.link))
              .catch((e: unknown) => setError(message(e)))
          }
        >
          Preview as a participant
        </button>
        {preview && (
          <a href={preview} target="_blank" rel="noreferrer" data-testid="preview-link">
            {" "}
            Open the preview
          </a>
        )}
      </div>

      <h2>Stimuli</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const list = ids
            .split(/[\s,]+/)
            .map(Number)
            .filter((n) => Number.isInteger(n) && n > 0);
          act(addStimuli(id, list).then(() => setIds("")));
        }}
      >
        <label>
          Add explanations (ids) <input value={ids} onChange={(e) => setIds(e.target.value)} />
        </label>{" "}
        <button type="submit">Add</button>
      </form>
      <table className="study-table" data-testid="stimuli">
        <thead>
          <tr>
            <th>Opaque id</th>
            <th>Method</th>
            <th>Model</th>
            <th>Video</th>
          </tr>
        </thead>
        <tbody>
          {stimuli.map((s) => (
            <tr key={s.id}>
              <td>
                <code>{(s.token ?? "").slice(0, 8)}</code>
              </td>
              <td>{s.method}</td>
              <td>{s.model ?? "—"}</td>
              <td>{s.video_title}</td>
            </tr>
          ))}
        </tbody>
      </table>

      {report && <ReportView report={report} exportHref={exportUrl(id)} />}
    </section>
  );
}

function IntervalChart({ title, data }: { title: string; data: IntervalDatum[] }) {
  const width = 420;
  const layout = layoutIntervals(data, { width });
  return (
    <svg
      className="study-bars"
      viewBox={`0 0 ${width} ${layout.height}`}
      width={width}
      role="img"
      aria-label={title}
      data-testid="interval-chart"
    >
      <title>{title}</title>
      <line x1={layout.zeroX} x2={layout.zeroX} y1={0} y2={layout.height} stroke="#999" />
      {layout.rows.map((r) => (
        <g key={r.label}>
          <text x={4} y={r.y + 12}>
            {r.label}
          </text>
          {r.x != null && (
            <rect
              x={Math.min(r.x0, r.x)}
              y={r.y + 2}
              width={Math.abs(r.x - r.x0)}
              height={14}
              fill="#5b8def"
            />
          )}
          {r.low != null && r.high != null && (
            <line x1={r.low} x2={r.high} y1={r.y + 9} y2={r.y + 9} stroke="#000" strokeWidth={2} />
          )}
        </g>
      ))}
    </svg>
  );
}

const pct = (v: number) => `${Math.round(v * 100)}%`;
const fmt = (v: number | null | undefined) => (v == null ? "—" : v.toFixed(2));

function ReportView({ report, exportHref }: { report: StudyReport; exportHref: string }) {
  return (
    <section aria-label="Analysis" data-testid="study-report">
      <h2>Analysis</h2>
      <p>
        {report.participants.started} participants started, {report.participants.completed}{" "}
        completed, {report.participants.excluded_for_checks} excluded for failed attention checks ·{" "}
        {report.responses.kept} of {report.responses.total} responses kept (
        {Object.entries(report.responses.excluded)
          .map(([k, v]) => `${k}: ${v}`)
          .join(", ") || "none excluded"}
        ) · <a href={exportHref}>Download CSV (long format)</a>
      </p>
      {report.ratings.length > 0 && (
        <>
          <h3>Mean rating per method (95% bootstrap interval)</h3>
          <IntervalChart
            title="Mean rating per method"
            data={report.ratings.map((r) => ({ label: r.method, value: r.mean, low: r.ci_low, high: r.ci_high }))}
          />
          <p>Krippendorff&apos;s alpha (ordinal): {fmt(report.rating_alpha)}</p>
        </>
      )}
      {report.pairwise.scores.length > 0 && (
        <>
          <h3>Bradley–Terry scores (95% bootstrap over participants)</h3>
          <IntervalChart
            title="Bradley–Terry scores"
            data={report.pairwise.scores.map((r) => ({ label: r.method, value: r.score, low: r.ci_low, high: r.ci_high }))}
          />
          <table className="study-table">
            <thead>
              <tr>
                <th>Pair</th>
                <th>Comparisons</th>
                <th>Win rate of the first</th>
              </tr>
            </thead>
            <tbody>
              {report.pairwise.pairs.map((p) => (
                <tr key={`${p.a}|${p.b}`}>
                  <td>
                    {p.a} vs {p.b}
                  </td>
                  <td>{p.n}</td>
                  <td>{pct(p.win_rate_a)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {report.forward.length > 0 && (
        <>
          <h3>Forward simulation accuracy (binomial test against chance)</h3>
          <table className="study-table">
            <thead>
              <tr>
                <th>Method</th>
                <th>n</th>
                <th>Accuracy</th>
                <th>Chance</th>
                <th>p</th>
              </tr>
            </thead>
            <tbody>
              {report.forward.map((r) => (
                <tr key={r.method}>
                  <td>{r.method}</td>
                  <td>{r.n}</td>
                  <td>
                    {pct(r.accuracy)} [{pct(r.ci_low ?? 0)}, {pct(r.ci_high ?? 0)}]
                  </td>
                  <td>{pct(r.chance)}</td>
                  <td>{r.p_value.toPrecision(2)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {report.pointing.length > 0 && (
        <>
          <h3>Pointing accuracy</h3>
          <IntervalChart
            title="Pointing accuracy"
            data={report.pointing.map((r) => ({ label: r.method, value: r.accuracy, low: r.ci_low, high: r.ci_high }))}
          />
        </>
      )}
    </section>
  );
}
