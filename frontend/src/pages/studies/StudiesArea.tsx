/**
 * The Studies area for researchers: design a study (stimuli, trial kinds, balancing, checks,
 * texts, limits, completion), preview it as a participant, and read its analysis.
 */
import { useCallback, useEffect, useState } from "react";
import { Link, Route, Routes, useNavigate, useParams } from "react-router";
import { ApiError } from "../../api/errors";
import { useDocumentTitle } from "../../components/useDocumentTitle";
import {
  addStimuli,
  exportUrl,
  getReport,
  getStudy,
  listStimuli,
  listStudies,
  previewLink,
  updateStudy,
  type Stimulus,
  type Study,
  type StudyReport,
} from "./api";
import { layoutIntervals, type IntervalDatum } from "./chart";
import { coverageBadge, coverageText, OverlayRuleCard, PlanTable, StudyForm, TrialPreviewCard } from "./Designer";
import "./studies.css";

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
  const navigate = useNavigate();
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
    <section className="page studies">
      <div className="page-header">
        <h1>Studies</h1>
        {!creating && (
          <button type="button" className="button button--primary" onClick={() => setCreating(true)}>
            New study
          </button>
        )}
      </div>
      <p className="muted">
        Blinded human evaluations of explanations: ratings, pairwise choices, forward simulation
        and pointing, balanced over participants.
      </p>
      {error && (
        <p className="notice notice--warning" role="alert">
          {error}
        </p>
      )}
      {creating && (
        <StudyForm onCreated={(study) => navigate(`/studies/${study.id}`)} onCancel={() => setCreating(false)} />
      )}
      {studies && studies.length === 0 && !creating && (
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
        <div className="card designer__list">
          <table className="table" data-testid="study-list">
            <thead>
              <tr>
                <th scope="col">Title</th>
                <th scope="col">Status</th>
                <th scope="col">Trial kinds</th>
                <th scope="col">Stimuli</th>
                <th scope="col">Participants</th>
              </tr>
            </thead>
            <tbody>
              {studies.map((s) => (
                <tr key={s.id}>
                  <td>
                    <Link to={`/studies/${s.id}`}>{s.title}</Link>
                  </td>
                  <td>
                    <span className={`badge designer-status designer-status--${s.status}`}>{s.status}</span>
                  </td>
                  <td>{s.trial_kinds.join(", ")}</td>
                  <td>{s.n_stimuli}</td>
                  <td>{s.n_sessions}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function StudyDetail() {
  const id = Number(useParams().id);
  const [study, setStudy] = useState<Study | null>(null);
  const [stimuli, setStimuli] = useState<Stimulus[]>([]);
  const [report, setReport] = useState<StudyReport | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [ids, setIds] = useState("");
  const [allowSparse, setAllowSparse] = useState(false);
  const [idsError, setIdsError] = useState<string | null>(null);
  const [preview, setPreview] = useState<string | null>(null);
  useDocumentTitle(study ? `Study: ${study.title}` : "Study");

  const load = useCallback(() => {
    getStudy(id).then(setStudy).catch((e: unknown) => setError(message(e)));
    listStimuli(id).then(setStimuli).catch((e: unknown) => setError(message(e)));
    getReport(id).then(setReport).catch((e: unknown) => setError(message(e)));
  }, [id]);
  useEffect(load, [load]);

  if (!study)
    return (
      <section className="page">
        {error ? (
          <p className="notice notice--warning" role="alert">
            {error}
          </p>
        ) : (
          <p className="muted">Loading…</p>
        )}
      </section>
    );
  const act = (p: Promise<unknown>) => {
    setError(null);
    p.then(load).catch((e: unknown) => setError(message(e)));
  };
  const link = `${window.location.origin}${study.participant_link}?PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}`;
  const blank = stimuli.filter((s) => s.coverage?.mostly_blank && !s.allow_sparse);

  return (
    <section className="page studies">
      <p className="designer__back">
        <Link to="/studies">← All studies</Link>
      </p>
      <div className="page-header">
        <h1>{study.title}</h1>
        <span className={`badge designer-status designer-status--${study.status}`} data-testid="study-status">
          {study.status}
        </span>
      </div>
      {error && (
        <p className="notice notice--warning" role="alert">
          {error}
        </p>
      )}

      <section className="card designer" aria-labelledby="launch-title">
        <h2 id="launch-title">Launch</h2>
        <p className="muted">
          {study.trial_kinds.join(", ")} · {study.trials_per_participant} trials per participant ·{" "}
          {study.blinded ? "blinded" : "not blinded"} · completion code <code>{study.completion_code}</code>{" "}
          · screen-out code <code data-testid="study-screen-out-code">{study.screen_out_code}</code>
          {study.ask_confidence ? " · asks confidence (1–5)" : ""}
          {study.trial_kinds.includes("distinction") ? ` · distinction among ${study.distinction_k} classes` : ""}
        </p>
        <div className="designer-field">
          <span className="designer-field__label">Participant link (for your recruitment platform)</span>
          <code className="designer__link" data-testid="participant-link">
            {link}
          </code>
        </div>
        <div className="designer__actions">
          {study.status !== "open" ? (
            <button type="button" className="button button--primary" onClick={() => act(updateStudy(id, { status: "open" }))}>
              Open study
            </button>
          ) : (
            <button type="button" className="button button--ghost" onClick={() => act(updateStudy(id, { status: "closed" }))}>
              Close study
            </button>
          )}
          <button
            type="button"
            className="button button--ghost"
            onClick={() =>
              previewLink(id)
                .then((r) => setPreview(r.link))
                .catch((e: unknown) => setError(message(e)))
            }
          >
            Preview as a participant
          </button>
          {preview && (
            <a className="button button--ghost" href={preview} target="_blank" rel="noreferrer" data-testid="preview-link">
              Open the preview
            </a>
          )}
        </div>
      </section>

      <section className="card designer" aria-labelledby="stimuli-title">
        <h2 id="stimuli-title">Stimuli</h2>
        <p className="designer-field__help">
          Done explanations (their ids are in the review player). Each is shown to participants only
          by an opaque id; a map that would show nothing on most frames is refused unless you say
          that its method lights only a few key frames (STAA+ does).
        </p>
        <form
          className="designer__inline"
          onSubmit={(e) => {
            e.preventDefault();
            const list = ids
              .split(/[\s,]+/)
              .filter(Boolean)
              .map(Number);
            if (!list.length || list.some((n) => !Number.isInteger(n) || n <= 0)) {
              setIdsError("Enter explanation ids: whole numbers separated by commas or spaces.");
              return;
            }
            setIdsError(null);
            act(addStimuli(id, list, allowSparse).then(() => setIds("")));
          }}
        >
          <div className="designer-field">
            <label htmlFor="stimuli-ids">Add explanations (ids)</label>
            <input
              id="stimuli-ids"
              value={ids}
              placeholder="e.g. 12, 13"
              aria-invalid={idsError ? true : undefined}
              aria-describedby={idsError ? "stimuli-ids-error" : undefined}
              onChange={(e) => setIds(e.target.value)}
            />
            {idsError && (
              <p id="stimuli-ids-error" className="designer-field__error" role="alert">
                {idsError}
              </p>
            )}
          </div>
          <label className="designer-check">
            <input
              type="checkbox"
              checked={allowSparse}
              onChange={(e) => setAllowSparse(e.target.checked)}
              data-testid="allow-sparse"
            />
            <span>
              Also maps lit on only a few frames{" "}
              <span className="designer-field__help">methods that keep key frames, such as STAA+</span>
            </span>
          </label>
          <button type="submit" className="button button--primary">
            Add
          </button>
        </form>
        {blank.length > 0 && (
          <p className="notice notice--warning" data-testid="blank-warning">
            {blank.length} stimul{blank.length === 1 ? "us" : "i"} would show nothing on most frames
            with this display rule: scale each frame on its own or lower the threshold.
          </p>
        )}
        {stimuli.length > 0 && (
          <div className="designer__table-wrap">
            <table className="table" data-testid="stimuli">
              <thead>
                <tr>
                  <th scope="col">Opaque id</th>
                  <th scope="col">Method</th>
                  <th scope="col">Model</th>
                  <th scope="col">Video</th>
                  <th scope="col" title="frames that draw a highlight under the display rule">
                    Frames shown
                  </th>
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
                    <td data-testid="stimulus-coverage">
                      <span className={coverageBadge(s)}>
                        {coverageText(s)}
                      </span>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <OverlayRuleCard key={`${study.overlay_normalization}-${study.overlay_threshold}`} study={study} onSaved={load} onError={(e) => setError(message(e))} />
      <PlanTable study={study} stimuli={stimuli} />

      <TrialPreviewCard study={study} />

      {report && (
        <ReportView report={report} exportHref={exportUrl(id)} calibrationHref={exportUrl(id, "calibration")} />
      )}
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

type AccuracyRow = {
  method: string;
  n: number;
  accuracy: number;
  ci_low?: number | null;
  ci_high?: number | null;
  chance: number;
  p_value: number;
};

/** Accuracy per method against chance (forward simulation, distinction). */
function AccuracyTable({ rows, testId }: { rows: readonly AccuracyRow[]; testId?: string }) {
  return (
    <div className="designer__table-wrap">
      <table className="table" data-testid={testId}>
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
          {rows.map((r) => (
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
    </div>
  );
}
const fmt = (v: number | null | undefined) => (v == null ? "—" : v.toFixed(2));

/** Where the numbers come from: code version, the checkpoints shown, answers now stale. */
function ProvenanceLine({ provenance }: { provenance: NonNullable<StudyReport["provenance"]> }) {
  const checkpoints = new Set(provenance.stimuli.map((s) => s.checkpoint_hash).filter(Boolean));
  const explanations = new Set(provenance.stimuli.map((s) => s.explanation));
  return (
    <>
      <p className="designer-field__help" data-testid="report-provenance">
        Computed by {provenance.code_version} from {explanations.size} explanation
        {explanations.size === 1 ? "" : "s"} of {checkpoints.size} model checkpoint
        {checkpoints.size === 1 ? "" : "s"}; every row of the CSV names its explanation, checkpoint,
        map and video hashes.
      </p>
      {provenance.stale_answers > 0 && (
        <div className="notice notice--warning" role="alert" data-testid="report-stale">
          {provenance.stale_answers} answer{provenance.stale_answers === 1 ? " was" : "s were"} given
          on a map that has been computed again since: the participant saw another map than the
          one stored now (the CSV&apos;s <code>stale_reason</code> column says which).
        </div>
      )}
    </>
  );
}

function ReportView({
  report,
  exportHref,
  calibrationHref,
}: {
  report: StudyReport;
  exportHref: string;
  calibrationHref: string;
}) {
  const cal = report.calibration.overall;
  return (
    <section className="card designer" aria-label="Analysis" data-testid="study-report">
      <h2>Analysis</h2>
      <p>
        {report.participants.started} participants started, {report.participants.completed}{" "}
        completed, {report.participants.screened_out} screened out, {report.participants.returned}{" "}
        returned, {report.participants.excluded_for_checks} excluded for failed attention checks ·{" "}
        {report.responses.kept} of {report.responses.total} responses kept (
        {Object.entries(report.responses.excluded)
          .map(([k, v]) => `${k}: ${v}`)
          .join(", ") || "none excluded"}
        ) · <a href={exportHref}>Download CSV (long format)</a>
      </p>
      {report.provenance && <ProvenanceLine provenance={report.provenance} />}
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
          <div className="designer__table-wrap">
            <table className="table">
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
          </div>
        </>
      )}
      {report.forward.length > 0 && (
        <>
          <h3>Forward simulation accuracy (binomial test against chance)</h3>
          <AccuracyTable rows={report.forward} />
        </>
      )}
      {report.distinction.methods.length > 0 && (
        <>
          <h3>Distinction accuracy (chance 1/{report.distinction.k} = {pct(report.distinction.chance)})</h3>
          <p className="designer-field__help">{report.distinction.chance_rule}.</p>
          <AccuracyTable rows={report.distinction.methods} testId="distinction-table" />
        </>
      )}
      {cal.n > 0 && (
        <>
          <h3>Calibration: accuracy by confidence</h3>
          <p className="designer-field__help">
            {cal.n} answers that can be right or wrong, with a confidence rating · mean confidence{" "}
            {fmt(cal.mean_confidence)} · Spearman ρ of confidence and correctness {fmt(cal.spearman_rho)}
            {cal.p_value != null ? ` (p = ${cal.p_value.toPrecision(2)})` : ""} ·{" "}
            <a href={calibrationHref}>Download calibration CSV</a>
          </p>
          <div className="designer__table-wrap">
            <table className="table" data-testid="calibration-table">
              <thead>
                <tr>
                  <th>Confidence</th>
                  <th>n</th>
                  <th>Accuracy (95% Wilson)</th>
                </tr>
              </thead>
              <tbody>
                {cal.levels.map((l) => (
                  <tr key={l.confidence}>
                    <td>{l.confidence}</td>
                    <td>{l.n}</td>
                    <td>
                      {l.accuracy == null
                        ? "—"
                        : `${pct(l.accuracy)} [${pct(l.ci_low ?? 0)}, ${pct(l.ci_high ?? 0)}]`}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
      <p className="designer-field__help" data-testid="speeders">
        Speeders: {report.speeders.flagged} response(s) flagged
        {report.speeders.participants.length > 0
          ? ` (participants ${report.speeders.participants.join(", ")})`
          : ""}{" "}
        — {report.speeders.rule}.
      </p>
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
