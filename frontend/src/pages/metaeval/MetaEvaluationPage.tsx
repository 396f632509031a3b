import { useCallback, useEffect, useMemo, useState } from "react";
import { useSearchParams } from "react-router";
import { errorMessage } from "../../api/errors";
import { useDocumentTitle } from "../../components/useDocumentTitle";
import { methodLabel } from "../explanations/format";
import {
  exportUrl,
  getMetaEvaluation,
  listProjects,
  listStudies,
  startDryRun,
  type MeasurePair,
  type MetaEvaluation,
  type MetaQuery,
  type ProjectSummary,
  type StudySummary,
} from "./api";
import {
  excludesZero,
  formatCorrelation,
  formatInterval,
  GROUP_COLOURS,
  layoutScatter,
  SCATTER_BOX,
  tauColour,
  textColour,
} from "./chart";

type Level = "stimulus" | "method";
type Statistic = "kendall" | "spearman";

function positiveInt(text: string | null): number | undefined {
  const n = Number(text);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

function valueOf(pair: MeasurePair, statistic: Statistic) {
  return statistic === "kendall"
    ? { value: pair.kendall_tau, low: pair.kendall_ci_low, high: pair.kendall_ci_high, p: pair.kendall_p }
    : { value: pair.spearman_rho, low: pair.spearman_ci_low, high: pair.spearman_ci_high, p: pair.spearman_p };
}

interface ScatterProps {
  result: MetaEvaluation;
  level: Level;
  metric: string;
  outcome: string;
  metricLabel: string;
  outcomeLabel: string;
}

/** One pair of measures: a dot per stimulus (or per method), coloured by method. */
function Scatter({ result, level, metric, outcome, metricLabel, outcomeLabel }: ScatterProps) {
  const box = SCATTER_BOX;
  const methods = result.methods;
  const colour = (m: string) => GROUP_COLOURS[methods.indexOf(m) % GROUP_COLOURS.length];
  const input =
    level === "stimulus"
      ? result.stimulus_points.map((p) => ({
          key: p.stimulus,
          x: p.metrics[metric],
          y: p.outcomes[outcome],
          group: p.method,
          label: `${p.video_name || `video ${p.video}`} · ${methodLabel(p.method)}`,
        }))
      : result.method_points.map((p) => ({
          key: p.method,
          x: p.metrics[metric],
          y: p.outcomes[outcome],
          group: p.method,
          label: methodLabel(p.method),
        }));
  const { dots, xTicks, yTicks, hidden } = layoutScatter(input, box);
  const title = `${outcomeLabel} against ${metricLabel}, one dot per ${level}`;
  return (
    <figure className="meta__scatter">
      <svg
        viewBox={`0 0 ${box.width} ${box.height}`}
        role="img"
        aria-label={title}
        data-testid="meta-scatter"
      >
        <title>{title}</title>
        {yTicks.map((t) => (
          <g key={`y${t.at}`} className="meta__tick">
            <line x1={box.left} x2={box.width - box.right} y1={t.at} y2={t.at} />
            <text x={box.left - 6} y={t.at + 4} textAnchor="end">
              {t.label}
            </text>
          </g>
        ))}
        {xTicks.map((t) => (
          <g key={`x${t.at}`} className="meta__tick">
            <line x1={t.at} x2={t.at} y1={box.top} y2={box.height - box.bottom} />
            <text x={t.at} y={box.height - box.bottom + 16} textAnchor="middle">
              {t.label}
            </text>
          </g>
        ))}
        <text className="meta__axis" x={(box.left + box.width - box.right) / 2} y={box.height - 8} textAnchor="middle">
          {metricLabel}
        </text>
        <text
          className="meta__axis"
          transform={`translate(14 ${(box.top + box.height - box.bottom) / 2}) rotate(-90)`}
          textAnchor="middle"
        >
          {outcomeLabel}
        </text>
        {dots.map((d) => (
          <circle
            key={d.key}
            data-testid="scatter-dot"
            cx={d.cx}
            cy={d.cy}
            r={level === "method" ? 7 : 5}
            fill={colour(d.group)}
            fillOpacity={0.8}
            stroke="#ffffff"
          >
            <title>{`${d.label}: ${metricLabel} ${d.x.toFixed(3)}, ${outcomeLabel} ${d.y.toFixed(3)}`}</title>
          </circle>
        ))}
      </svg>
      <figcaption className="meta__legend">
        {methods.map((m) => (
          <span key={m} className="meta__legend-item">
            <span className="meta__swatch" style={{ background: colour(m) }} />
            {methodLabel(m)}
          </span>
        ))}
        {hidden > 0 && <span className="muted small">{hidden} without both values not shown</span>}
      </figcaption>
    </figure>
  );
}

/** The meta-evaluation area: which automatic metric tracks what people found useful. */
export function MetaEvaluationPage() {
  useDocumentTitle("Meta-evaluation");
  const [params, setParams] = useSearchParams();
  const study = positiveInt(params.get("study"));
  const project = positiveInt(params.get("project"));
  const model = positiveInt(params.get("model"));
  const level: Level = params.get("level") === "method" ? "method" : "stimulus";
  const statistic: Statistic = params.get("stat") === "spearman" ? "spearman" : "kendall";
  const query = useMemo<MetaQuery | null>(
    () => (study && project ? { study, project, model } : null),
    [study, project, model],
  );
  const queryKey = query ? JSON.stringify(query) : "";

  const [studies, setStudies] = useState<StudySummary[] | null>(null);
  const [projects, setProjects] = useState<ProjectSummary[] | null>(null);
  const [loaded, setLoaded] = useState<{ key: string; result: MetaEvaluation } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const result = loaded && loaded.key === queryKey ? loaded.result : null;
  const [running, setRunning] = useState(false);
  const isCopy = Boolean(studies?.find((s) => s.id === study)?.slug.endsWith("-dry-run"));

  const dryRun = () => {
    if (!study || !project) return;
    setRunning(true);
    startDryRun(study, project)
      .then((run) =>
        listStudies().then((list) => {
          setStudies(list);
          if (run.copy) setParam({ study: String(run.copy.id), pair: undefined });
        }),
      )
      .catch((e: unknown) => setError(errorMessage(e)))
      .finally(() => setRunning(false));
  };

  const setParam = useCallback(
    (changes: Record<string, string | undefined>) => {
      const next = new URLSearchParams(params);
      for (const [name, value] of Object.entries(changes)) {
        if (value) next.set(name, value);
        else next.delete(name);
      }
      setParams(next, { replace: true });
    },
    [params, setParams],
  );

  useEffect(() => {
    let active = true;
    Promise.all([listStudies(), listProjects()])
      .then(([s, p]) => {
        if (!active) return;
        setStudies(s);
        setProjects(p);
      })
      .catch((e: unknown) => active && setError(errorMessage(e)));
    return () => {
      active = false;
    };
  }, []);

  // Open the first study, and its pointing project (else the first project), when none is chosen.
  useEffect(() => {
    if (!studies || !projects) return;
    const changes: Record<string, string | undefined> = {};
    const chosen = studies.find((s) => s.id === study) ?? (study ? undefined : studies[0]);
    if (!study && chosen) changes.study = String(chosen.id);
    if (!project && projects.length) {
      const pointing = chosen?.pointing_project;
      const first = projects[0];
      const found = projects.find((p) => p.id === pointing) ?? first;
      if (found) changes.project = String(found.id);
    }
    if (Object.keys(changes).length) setParam(changes);
  }, [studies, projects, study, project, setParam]);

  useEffect(() => {
    if (!query) return undefined;
    let active = true;
    const key = JSON.stringify(query);
    getMetaEvaluation(query)
      .then((r) => {
        if (!active) return;
        setLoaded({ key, result: r });
        setError(null);
      })
      .catch((e: unknown) => active && setError(errorMessage(e)));
    return () => {
      active = false;
    };
  }, [query]);

  const pairs = useMemo(
    () => new Map((result?.pairs ?? []).filter((p) => p.level === level).map((p) => [`${p.metric}|${p.outcome}`, p])),
    [result, level],
  );
  const metrics = result?.measures.metrics ?? [];
  const outcomes = result?.measures.outcomes ?? [];
  const metricLabel = (key: string) => metrics.find((m) => m.key === key)?.label ?? key;
  const outcomeLabel = (key: string) => outcomes.find((o) => o.key === key)?.label ?? key;

  // The pair shown in the scatter: the chosen one, else the strongest defined correlation.
  const chosenPair = useMemo(() => {
    const wanted = params.get("pair");
    if (wanted && pairs.has(wanted)) return wanted;
    let best: string | null = null;
    let bestValue = -1;
    for (const [key, p] of pairs) {
      const v = valueOf(p, statistic).value;
      if (v != null && Math.abs(v) > bestValue) {
        best = key;
        bestValue = Math.abs(v);
      }
    }
    return best;
  }, [params, pairs, statistic]);
  const [chosenMetric = "", chosenOutcome = ""] = chosenPair ? chosenPair.split("|") : [];
  const chosen = chosenPair ? pairs.get(chosenPair) : undefined;
  const statName = statistic === "kendall" ? "Kendall's τ-b" : "Spearman's ρ";

  return (
    <section className="page meta" data-testid="meta-page">
      <h1>Meta-evaluation</h1>
      <p className="muted meta__lede">
        Which automatic metric predicts what people find useful: every stored score of the
        explanations against every human outcome of a study.
      </p>
      <div className="meta__controls">
        <label className="field">
          <span>Study</span>
          <select
            data-testid="meta-study"
            value={study ?? ""}
            onChange={(e) => setParam({ study: e.target.value || undefined, model: undefined, pair: undefined })}
          >
            {!study && <option value="">Choose a study</option>}
            {(studies ?? []).map((s) => (
              <option key={s.id} value={s.id}>
                {s.title}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Scores of project</span>
          <select
            data-testid="meta-project"
            value={project ?? ""}
            onChange={(e) => setParam({ project: e.target.value || undefined, pair: undefined })}
          >
            {!project && <option value="">Choose a project</option>}
            {(projects ?? []).map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Model</span>
          <select
            data-testid="meta-model"
            value={model ?? ""}
            onChange={(e) => setParam({ model: e.target.value || undefined })}
          >
            <option value="">Every model</option>
            {(result?.options.models ?? []).map((m) => (
              <option key={m.id} value={m.id}>
                {m.name}
              </option>
            ))}
          </select>
        </label>
        <div className="meta__toggles">
          <div className="segmented" role="group" aria-label="Level">
            {(["stimulus", "method"] as const).map((l) => (
              <button
                key={l}
                type="button"
                className={l === level ? "segmented__item segmented__item--on" : "segmented__item"}
                aria-pressed={l === level}
                data-testid={`meta-level-${l}`}
                onClick={() => setParam({ level: l === "stimulus" ? undefined : l })}
              >
                {l === "stimulus" ? "Per stimulus" : "Per method"}
              </button>
            ))}
          </div>
          <div className="segmented" role="group" aria-label="Statistic">
            {(["kendall", "spearman"] as const).map((s) => (
              <button
                key={s}
                type="button"
                className={s === statistic ? "segmented__item segmented__item--on" : "segmented__item"}
                aria-pressed={s === statistic}
                onClick={() => setParam({ stat: s === "kendall" ? undefined : s })}
              >
                {s === "kendall" ? "Kendall τ-b" : "Spearman ρ"}
              </button>
            ))}
          </div>
        </div>
        {query && (
          <div className="meta__exports">
            {!isCopy && (
            <button
              type="button"
              className="button"
              data-testid="meta-dry-run"
              disabled={running}
              title="12 participants who follow the spatial pointing game, 2 random, 1 careless, on a copy of the study"
              onClick={dryRun}
            >
              {running ? "Simulating participants…" : "Dry run"}
            </button>
            )}
            <a className="button button--ghost" data-testid="meta-export-csv" href={exportUrl(query, "csv")}>
              CSV
            </a>
            <a className="button button--ghost" data-testid="meta-export-json" href={exportUrl(query, "json")}>
              JSON
            </a>
          </div>
        )}
      </div>

      {error && (
        <p className="notice notice--warning" role="alert">
          {error}
        </p>
      )}
      {studies && studies.length === 0 && (
        <div className="empty-state" data-testid="empty-state">
          <p className="empty-state__message">
            Meta-evaluation needs a study: design one over scored explanations in Studies.
          </p>
        </div>
      )}
      {query && !result && !error && <p className="muted">Computing the correlations…</p>}

      {result && (
        <>
          <p className="muted meta__summary" data-testid="meta-summary">
            {result.counts.stimuli} stimuli · {result.counts.videos} videos ·{" "}
            {result.counts.participants} participants · {Math.round(result.confidence * 100)}%
            intervals from {result.resamples} bootstrap resamples of videos and participants
            (seed {result.seed})
          </p>
          {result.reason && (
            <div className="empty-state" data-testid="meta-reason">
              <p className="empty-state__message">{result.reason}</p>
            </div>
          )}
          {!result.reason && metrics.length > 0 && outcomes.length > 0 && (
            <div className="meta__grid">
              <section className="card meta__matrix-card">
                <div className="card__header">
                  <h2>
                    {statName}, {level === "stimulus" ? "across stimuli" : "across methods"}
                  </h2>
                </div>
                <div className="meta__matrix-wrap">
                  <table className="meta__matrix" data-testid="meta-matrix">
                    <thead>
                      <tr>
                        <th scope="col">Metric \ human outcome</th>
                        {outcomes.map((o) => (
                          <th key={o.key} scope="col">
                            {o.label}
                          </th>
                        ))}
                      </tr>
                    </thead>
                    <tbody>
                      {metrics.map((m) => (
                        <tr key={m.key}>
                          <th scope="row" title={m.higher_is_better ? "higher is better" : "lower is better"}>
                            {m.label}
                            {!m.higher_is_better && <span className="meta__hint">lower is better</span>}
                          </th>
                          {outcomes.map((o) => {
                            const key = `${m.key}|${o.key}`;
                            const pair = pairs.get(key);
                            const v = pair ? valueOf(pair, statistic) : null;
                            const sure = v ? excludesZero(v.low, v.high) : false;
                            return (
                              <td key={o.key}>
                                <button
                                  type="button"
                                  className={key === chosenPair ? "meta__cell meta__cell--on" : "meta__cell"}
                                  data-testid="meta-cell"
                                  data-pair={key}
                                  data-value={v?.value ?? ""}
                                  data-excludes-zero={sure}
                                  style={{ background: tauColour(v?.value), color: textColour(v?.value) }}
                                  aria-pressed={key === chosenPair}
                                  title={
                                    pair
                                      ? `${statName} ${formatCorrelation(v?.value)} ${formatInterval(v?.low, v?.high)}, n = ${pair.n}`
                                      : "not defined"
                                  }
                                  onClick={() => setParam({ pair: key })}
                                >
                                  <strong>
                                    {formatCorrelation(v?.value)}
                                    {sure && <span aria-label="interval excludes 0"> *</span>}
                                  </strong>
                                  <span className="meta__ci">{formatInterval(v?.low, v?.high) || "no interval"}</span>
                                </button>
                              </td>
                            );
                          })}
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
                <div className="meta__scale" aria-hidden="true">
                  <span>−1</span>
                  <span className="meta__scale-bar" />
                  <span>+1</span>
                  <span className="muted small">* 95% interval excludes 0</span>
                </div>
              </section>

              {chosen && (
                <section className="card meta__scatter-card" data-testid="meta-pair">
                  <div className="card__header">
                    <h2>
                      {outcomeLabel(chosenOutcome)} vs {metricLabel(chosenMetric)}
                    </h2>
                  </div>
                  <p className="meta__pair-stats">
                    τ-b {formatCorrelation(chosen.kendall_tau)}{" "}
                    <span className="muted">{formatInterval(chosen.kendall_ci_low, chosen.kendall_ci_high)}</span>
                    {" · "}ρ {formatCorrelation(chosen.spearman_rho)}{" "}
                    <span className="muted">{formatInterval(chosen.spearman_ci_low, chosen.spearman_ci_high)}</span>
                    {" · "}n = {chosen.n}
                  </p>
                  <Scatter
                    result={result}
                    level={level}
                    metric={chosenMetric}
                    outcome={chosenOutcome}
                    metricLabel={metricLabel(chosenMetric)}
                    outcomeLabel={outcomeLabel(chosenOutcome)}
                  />
                </section>
              )}
            </div>
          )}

          {!result.reason && result.rankings.length > 0 && (
            <section className="card">
              <h2>Rankings of methods</h2>
              <div className="meta__matrix-wrap">
                <table className="table meta__rankings" data-testid="meta-rankings">
                  <thead>
                    <tr>
                      <th scope="col">Measure</th>
                      {result.methods.map((_, i) => (
                        <th key={i} scope="col">
                          #{i + 1}
                        </th>
                      ))}
                    </tr>
                  </thead>
                  <tbody>
                    {result.rankings.map((r) => (
                      <tr key={`${r.kind}-${r.measure}`} className={r.kind === "outcome" ? "meta__human-row" : undefined}>
                        <th scope="row">
                          {r.kind === "metric" ? metricLabel(r.measure) : outcomeLabel(r.measure)}
                          <span className="meta__hint">{r.kind === "metric" ? "metric" : "people"}</span>
                        </th>
                        {r.order.map((o) => (
                          <td key={o.method}>
                            {methodLabel(o.method)}
                            <span className="meta__hint">{o.value == null ? "–" : o.value.toFixed(3)}</span>
                          </td>
                        ))}
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <p className="muted small">
                Highest value first. Per-method correlations above are the agreement of these
                rankings.
              </p>
            </section>
          )}
          {result.notes.map((note) => (
            <p key={note} className="muted small">
              {note}
            </p>
          ))}
          <p className="muted small" data-testid="metaeval-provenance">
            {`Scores from ${result.provenance.methods.length} method${result.provenance.methods.length === 1 ? "" : "s"} · `}
            {result.provenance.stale_scores > 0 ? (
              <span className="badge leaderboard__stale" title={Object.keys(result.provenance.stale_reasons).join("; ")}>
                {`${result.provenance.stale_scores} stale`}
              </span>
            ) : (
              "all current"
            )}
            {` · ${result.provenance.excluded_annotations} annotation${result.provenance.excluded_annotations === 1 ? "" : "s"} excluded from the ground truth (exposed annotators) · ${result.provenance.code_version}`}
          </p>
        </>
      )}
    </section>
  );
}
