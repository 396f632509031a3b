import { useCallback, useEffect, useMemo, useState } from "react";
import { useSearchParams } from "react-router";
import { errorMessage } from "../../api/errors";
import { useDocumentTitle } from "../../components/useDocumentTitle";
import { methodLabel } from "../explanations/format";
import {
  exportUrl,
  getLeaderboard,
  listProjects,
  type BoardQuery,
  type Estimate,
  type Leaderboard,
  type LeaderboardRow,
  type ProjectSummary,
} from "./api";
import { BarChart } from "./BarChart";
import { formatEstimate, formatP, type BarDatum } from "./chart";
import { ClipsPanel } from "./ClipsPanel";
import { ColumnChooser, formatColumns, parseColumns } from "./columns";

const METRICS = [
  { key: "spatial", label: "Spatial pointing" },
  { key: "small", label: "Small objects" },
  { key: "temporal", label: "Temporal pointing" },
  { key: "spacetime", label: "Space-time pointing" },
  { key: "sound", label: "Sound temporal pointing" },
  { key: "energy", label: "Energy pointing" },
  { key: "iou", label: "IoU (thresholded map)" },
] as const;
type MetricKey = (typeof METRICS)[number]["key"];

const SOUND_NOTE =
  "Sound temporal pointing: does the audio importance peak inside a \u201cwhen it is heard\u201d " +
  "segment. Blank (–) where a row has no sound data: video-only models, or videos without " +
  "sound segments in the ground truth.";

const STALE_POLL_MS = 2000;

function positiveInt(text: string | null): number | undefined {
  const n = Number(text);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

function rowTitle(row: LeaderboardRow): string {
  const name = methodLabel(row.method);
  return row.variant ? `${name} (${row.variant})` : name;
}

function EstimateCell({ estimate, testId }: { estimate: Estimate; testId?: string }) {
  const text = formatEstimate(estimate.value, estimate.low, estimate.high);
  const [value, interval] = text.split(" ", 2);
  return (
    <td
      data-testid={testId}
      data-value={estimate.value ?? ""}
      aria-label={text}
      title={`${text}, n = ${estimate.n}`}
    >
      {value}
      {interval && <span className="leaderboard__ci">{interval}</span>}
    </td>
  );
}

function hasEstimate(estimate: Estimate | null | undefined): boolean {
  return Boolean(estimate && estimate.value != null && estimate.n > 0);
}

/** The sound game's cell: blank with a reason when the row has no sound data. */
function SoundCell({ estimate }: { estimate: Estimate | null | undefined }) {
  if (!estimate || !hasEstimate(estimate)) {
    return (
      <td
        className="muted"
        data-testid="cell-sound"
        data-value=""
        title="no sound data for this row (a video-only model, or no sound segments)"
      >
        –
      </td>
    );
  }
  return <EstimateCell estimate={estimate} testId="cell-sound" />;
}

/**
 * What the scores were computed from: how many are stale (an input changed since) and why, and
 * the ground truth behind them, with the annotations left out because their annotator had seen
 * an explanation of the video.
 */
function ProvenanceBar({ board }: { board: Leaderboard }) {
  const gt = board.ground_truth;
  if (!gt && board.stale_scores === 0) return null;
  const reasons = Object.entries(board.stale_reasons)
    .map(([why, n]) => `${why} (${n})`)
    .join("; ");
  return (
    <p className="leaderboard__provenance small" data-testid="leaderboard-provenance">
      {board.stale_scores > 0 && (
        <span className="badge leaderboard__stale" data-testid="leaderboard-outdated" title={reasons}>
          {`${board.stale_scores} stale score${board.stale_scores === 1 ? "" : "s"}`}
        </span>
      )}
      {board.stale_scores > 0 && <span className="muted">{reasons}</span>}
      {gt && (
        <span
          className="badge leaderboard__gt"
          data-testid="leaderboard-excluded"
          title={
            gt.exclude_exposed
              ? "annotations by annotators who had seen an explanation of the video are left out of the ground truth"
              : "annotations by exposed annotators are kept (the project's setting)"
          }
        >
          {`Ground truth: ${gt.annotations_used} annotation${gt.annotations_used === 1 ? "" : "s"}`}
          {gt.exclude_exposed
            ? ` · ${gt.excluded_annotations} excluded (exposed annotators)`
            : " · exposed annotators kept"}
        </span>
      )}
      <span className="muted" title="the code that computed the numbers">
        {board.code_version}
      </span>
    </p>
  );
}

function number(value: number | null | undefined, digits = 2): string {
  return value == null ? "–" : value.toFixed(digits);
}

/** The Leaderboard area: methods compared on a project's ground truth. */
export function LeaderboardPage() {
  useDocumentTitle("Leaderboard");
  const [params, setParams] = useSearchParams();
  const project = positiveInt(params.get("project"));
  const dataset = positiveInt(params.get("dataset"));
  const model = positiveInt(params.get("model"));
  const metric = (METRICS.find((m) => m.key === params.get("metric"))?.key ?? "spatial") as MetricKey;
  const query = useMemo<BoardQuery | null>(
    () => (project ? { project, dataset, model } : null),
    [project, dataset, model],
  );

  const queryKey = query ? JSON.stringify(query) : "";
  const shown = useMemo(() => parseColumns(params.get("cols")), [params]);

  const [projects, setProjects] = useState<ProjectSummary[] | null>(null);
  // Results and the open drill-down belong to the query they were made for.
  const [loaded, setLoaded] = useState<{ key: string; board: Leaderboard } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<{ key: string; row: string } | null>(null);
  const board = loaded && loaded.key === queryKey ? loaded.board : null;
  const soundless = (board?.rows ?? []).some((row) => !hasEstimate(row.sound));
  const openRow = open && open.key === queryKey ? open.row : null;
  const setOpenRow = (row: string | null) => setOpen(row ? { key: queryKey, row } : null);

  const setParam = useCallback(
    (name: string, value: string | undefined) => {
      const next = new URLSearchParams(params);
      if (value) next.set(name, value);
      else next.delete(name);
      if (name === "project") {
        next.delete("dataset");
        next.delete("model");
      }
      setParams(next, { replace: true });
    },
    [params, setParams],
  );

  useEffect(() => {
    let active = true;
    listProjects()
      .then((list) => active && setProjects(list))
      .catch((e: unknown) => active && setError(errorMessage(e)));
    return () => {
      active = false;
    };
  }, []);

  // Open the first project when none is chosen.
  const firstProject = projects?.[0]?.id;
  useEffect(() => {
    if (!project && firstProject) setParam("project", String(firstProject));
  }, [project, firstProject, setParam]);

  const load = useCallback(
    (isActive: () => boolean = () => true) => {
      if (!query) return;
      const key = JSON.stringify(query);
      getLeaderboard(query)
        .then((result) => {
          if (!isActive()) return;
          setLoaded({ key, board: result });
          setError(null);
        })
        .catch((e: unknown) => isActive() && setError(errorMessage(e)));
    },
    [query],
  );

  useEffect(() => {
    let active = true;
    load(() => active);
    return () => {
      active = false;
    };
  }, [load]);

  // While scores are being recomputed, follow them.
  useEffect(() => {
    if (!board?.stale) return undefined;
    const timer = window.setInterval(() => load(), STALE_POLL_MS);
    return () => window.clearInterval(timer);
  }, [board?.stale, load]);

  const chartData: BarDatum[] = useMemo(() => {
    if (!board) return [];
    const data: BarDatum[] = board.rows.map((row) => ({
      key: row.key,
      label: rowTitle(row),
      value: row[metric].value,
      low: row[metric].low,
      high: row[metric].high,
    }));
    if (metric === "spatial" && board.human) {
      const s = board.human.spatial;
      data.push({ key: "human", label: "Human baseline", value: s.value, low: s.low, high: s.high, human: true });
    }
    return data;
  }, [board, metric]);

  const titles = useMemo(
    () => new Map((board?.rows ?? []).map((row) => [row.key, rowTitle(row)])),
    [board],
  );
  const metricLabel = METRICS.find((m) => m.key === metric)?.label ?? metric;

  return (
    <section className="page leaderboard" data-testid="leaderboard-page">
      <h1>Leaderboard</h1>
      <div className="leaderboard__controls">
        <label className="field">
          <span>Project</span>
          <select
            data-testid="leaderboard-project"
            value={project ?? ""}
            onChange={(e) => setParam("project", e.target.value || undefined)}
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
          <span>Dataset</span>
          <select
            data-testid="leaderboard-dataset"
            value={dataset ?? ""}
            onChange={(e) => setParam("dataset", e.target.value || undefined)}
          >
            <option value="">All videos of the project</option>
            {(board?.options.datasets ?? []).map((d) => (
              <option key={d.id} value={d.id}>
                {d.name}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Model</span>
          <select
            data-testid="leaderboard-model"
            value={model ?? ""}
            onChange={(e) => setParam("model", e.target.value || undefined)}
          >
            <option value="">Every model</option>
            {(board?.options.models ?? []).map((m) => (
              <option key={m.id} value={m.id}>
                {m.name}
              </option>
            ))}
          </select>
        </label>
        {query && (
          <div className="leaderboard__exports">
            <a className="button button--ghost" data-testid="export-csv" href={exportUrl(query, "csv")}>
              CSV
            </a>
            <a className="button button--ghost" data-testid="export-json" href={exportUrl(query, "json")}>
              JSON
            </a>
            <a
              className="button button--ghost"
              data-testid="export-scores"
              href={exportUrl(query, "csv", "scores")}
              title="every score with its provenance: checkpoint, method and parameters, video and ground-truth versions, code version, stale or not"
            >
              Scores CSV
            </a>
          </div>
        )}
      </div>

      {error && (
        <p className="notice notice--warning" role="alert">
          {error}
        </p>
      )}
      {projects && projects.length === 0 && (
        <div className="empty-state" data-testid="empty-state">
          <p className="empty-state__message">
            Leaderboard — scores will appear here once explanations have been evaluated against
            an annotation project's ground truth.
          </p>
          <p className="muted">
            Create an annotation project with your videos; methods are compared on pointing
            games, faithfulness and cost.
          </p>
        </div>
      )}
      {query && !board && !error && <p className="muted">Loading the leaderboard…</p>}

      {board && (
        <>
          <p className="muted leaderboard__summary">
            {board.videos} video{board.videos === 1 ? "" : "s"} · tolerance {board.tolerance} px ·{" "}
            {Math.round(board.confidence * 100)}% intervals from {board.resamples} bootstrap
            resamples of videos
            {board.stale && (
              <span className="badge leaderboard__stale" data-testid="leaderboard-stale">
                Updating scores ({board.pending} pending)
              </span>
            )}
          </p>
          <ProvenanceBar board={board} />
          {board.reason && (
            <div className="empty-state" data-testid="leaderboard-reason">
              <p className="empty-state__message">{board.reason}</p>
            </div>
          )}
          {board.rows.length > 0 && (
            <>
              <div className="card leaderboard__chart">
                <div className="card__header">
                  <h2>{metricLabel}</h2>
                  <select
                    className="select"
                    aria-label="Score shown in the chart"
                    data-testid="leaderboard-metric"
                    value={metric}
                    onChange={(e) => setParam("metric", e.target.value)}
                  >
                    {METRICS.map((m) => (
                      <option key={m.key} value={m.key}>
                        {m.label}
                      </option>
                    ))}
                  </select>
                </div>
                <BarChart data={chartData} title={`${metricLabel} with 95% intervals`} />
              </div>

              <section className="card leaderboard__table-card" aria-labelledby="leaderboard-table-title">
                <div className="card__header">
                  <h2 id="leaderboard-table-title">Scores by method</h2>
                  <ColumnChooser shown={shown} onChange={(next) => setParam("cols", formatColumns(next))} />
                </div>
                <div
                  className="leaderboard__table-wrap"
                  data-testid="leaderboard-table-wrap"
                  tabIndex={0}
                  role="region"
                  aria-label="Leaderboard table (scrolls sideways)"
                >
                  <table className="table leaderboard__table" data-testid="leaderboard-table">
                    <thead>
                      <tr>
                        <th scope="col" className="leaderboard__sticky">
                          Method
                        </th>
                        <th scope="col">Spatial</th>
                        <th scope="col">Temporal</th>
                        <th scope="col">Space-time</th>
                        {shown.has("small") && <th scope="col">Small objects</th>}
                        {shown.has("sound") && (
                          <th scope="col" title="sound temporal pointing game" data-testid="col-sound">
                            Sound temporal
                          </th>
                        )}
                        {shown.has("energy") && <th scope="col">Energy</th>}
                        {shown.has("iou") && <th scope="col">IoU</th>}
                        {shown.has("sparsity") && <th scope="col">Sparsity</th>}
                        {shown.has("faithfulness") && (
                          <th scope="col" title="deletion AUC (lower is better) / insertion AUC">
                            Faithfulness
                          </th>
                        )}
                        {shown.has("cost") && <th scope="col">Cost</th>}
                        {shown.has("model") && <th scope="col">Model</th>}
                        {shown.has("clips") && <th scope="col">Clips</th>}
                        {shown.has("frames") && <th scope="col">Frames</th>}
                        <th scope="col">
                          <span className="visually-hidden">Clips</span>
                        </th>
                      </tr>
                    </thead>
                    <tbody>
                      {board.rows.map((row) => (
                        <tr key={row.key} data-testid="leaderboard-row" data-key={row.key} data-method={row.method}>
                          <th scope="row" className="leaderboard__sticky" title={rowTitle(row)}>
                            <span className="leaderboard__method">{rowTitle(row)}</span>
                            {row.stale > 0 && (
                              <span
                                className="badge leaderboard__stale leaderboard__row-stale"
                                data-testid="row-stale"
                                title="scores computed from inputs that have changed since"
                              >
                                {row.stale} stale
                              </span>
                            )}
                          </th>
                          <EstimateCell estimate={row.spatial} testId="cell-spatial" />
                          <EstimateCell estimate={row.temporal} />
                          <EstimateCell estimate={row.spacetime} />
                          {shown.has("small") && <EstimateCell estimate={row.small} />}
                          {shown.has("sound") && <SoundCell estimate={row.sound} />}
                          {shown.has("energy") && <EstimateCell estimate={row.energy} />}
                          {shown.has("iou") && <EstimateCell estimate={row.iou} />}
                          {shown.has("sparsity") && <td>{number(row.sparsity)}</td>}
                          {shown.has("faithfulness") && (
                            <td>
                              {row.deletion_auc == null && row.insertion_auc == null ? (
                                "–"
                              ) : (
                                <>
                                  {`del ${number(row.deletion_auc, 3)}`}
                                  <span className="leaderboard__ci">{`ins ${number(row.insertion_auc, 3)}`}</span>
                                </>
                              )}
                            </td>
                          )}
                          {shown.has("cost") && (
                            <td title="mean wall time; forward + backward passes per clip">
                              {row.cost.wall_seconds == null ? "–" : `${number(row.cost.wall_seconds)} s`}
                              {row.cost.forward_passes != null && (
                                <span className="leaderboard__ci">
                                  {`${Math.round(row.cost.forward_passes)} + ${Math.round(row.cost.backward_passes ?? 0)} passes`}
                                </span>
                              )}
                            </td>
                          )}
                          {shown.has("model") && <td>{row.model?.name ?? "–"}</td>}
                          {shown.has("clips") && (
                            <td title={row.labels.length ? `scored against: ${row.labels.join(", ")}` : undefined}>
                              {`${row.clips} clip${row.clips === 1 ? "" : "s"}`}
                              <span className="leaderboard__ci">
                                {`from ${row.videos} video${row.videos === 1 ? "" : "s"}`}
                              </span>
                              {row.not_scored > 0 && (
                                <span className="leaderboard__ci" data-testid="row-not-scored">
                                  {row.not_scored} not scored
                                </span>
                              )}
                            </td>
                          )}
                          {shown.has("frames") && <td>{row.frames}</td>}
                          <td>
                            <button
                              type="button"
                              className="button button--ghost"
                              data-testid="row-clips"
                              aria-expanded={openRow === row.key}
                              aria-label={`Clips of ${rowTitle(row)}`}
                              onClick={() => setOpenRow(openRow === row.key ? null : row.key)}
                            >
                              Clips
                            </button>
                          </td>
                        </tr>
                      ))}
                      {board.human && (
                        <tr data-testid="leaderboard-human" className="leaderboard__human">
                          <th scope="row" className="leaderboard__sticky">
                            Human baseline
                          </th>
                          <EstimateCell estimate={board.human.spatial} />
                          <td colSpan={shown.size} className="muted small">
                            {`an annotator's box centre against the consensus of the others · ${board.human.annotations} annotations, ${board.human.frames} frames of ${board.human.videos} video${board.human.videos === 1 ? "" : "s"}`}
                          </td>
                        </tr>
                      )}
                    </tbody>
                  </table>
                </div>
              </section>

              {soundless && (
                <p className="muted small" data-testid="sound-note">
                  {SOUND_NOTE}
                </p>
              )}
              {board.notes.map((note) => (
                <p key={note} className="muted small">
                  {note}
                </p>
              ))}

              {openRow && query && (
                <ClipsPanel
                  query={query}
                  row={openRow}
                  title={titles.get(openRow) ?? openRow}
                  onClose={() => setOpenRow(null)}
                />
              )}

              {board.comparisons.length > 0 && (
                <section className="card">
                  <h2>Paired tests (spatial pointing, same frames)</h2>
                  <table className="table" data-testid="comparisons-table">
                    <thead>
                      <tr>
                        <th scope="col">A</th>
                        <th scope="col">B</th>
                        <th scope="col">Frames</th>
                        <th scope="col">Videos</th>
                        <th scope="col">A − B</th>
                        <th scope="col">Only A hits / only B hits</th>
                        <th scope="col">p</th>
                      </tr>
                    </thead>
                    <tbody>
                      {board.comparisons.map((c) => (
                        <tr key={`${c.a}|${c.b}`} data-testid="comparison-row">
                          <td>{titles.get(c.a) ?? c.a}</td>
                          <td>{titles.get(c.b) ?? c.b}</td>
                          <td>{c.frames}</td>
                          <td>{c.videos}</td>
                          <td>{c.difference == null ? "–" : `${(c.difference * 100).toFixed(1)} pts`}</td>
                          <td>
                            {c.a_only} / {c.b_only}
                          </td>
                          <td data-testid="comparison-p">{formatP(c.p_value)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                  <p className="muted small">
                    Sign-flip permutation test of the per-video differences on the frames both
                    methods score (exact up to 16 videos).
                  </p>
                </section>
              )}
            </>
          )}
        </>
      )}
    </section>
  );
}
