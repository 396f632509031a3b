/** One annotation project: progress, videos, quality, export and import. */
import { useCallback, useEffect, useState, type FormEvent } from "react";
import { Link, useParams } from "react-router";
import { errorMessage } from "../../api/errors";
import { useCurrentUser } from "../../auth/AuthContext";
import { useDocumentTitle } from "../../components/useDocumentTitle";
import {
  addVideos,
  exportUrl,
  fetchProject,
  fetchQuality,
  fetchTasks,
  groundTruthUrl,
  importCvat,
  requestMoreAnnotators,
  type Project,
  type Quality,
  type TaskRow,
} from "./api";
import { ClassMapCard } from "./ClassMapCard";
import { Markdown } from "./Markdown";

function percent(value: number | null | undefined): string {
  return value === null || value === undefined ? "—" : `${Math.round(value * 100)}%`;
}

export function ProjectPage() {
  const { projectId } = useParams();
  const id = Number(projectId);
  const user = useCurrentUser();
  const [project, setProject] = useState<Project | null>(null);
  const [tasks, setTasks] = useState<TaskRow[]>([]);
  const [quality, setQuality] = useState<Quality | null>(null);
  const [error, setError] = useState<string | null>(null);
  useDocumentTitle(project ? project.name : "Project");

  const [generation, setGeneration] = useState(0);
  const reload = useCallback(async () => setGeneration((g) => g + 1), []);

  useEffect(() => {
    let active = true;
    Promise.all([fetchProject(id), fetchTasks(id), fetchQuality(id)]).then(
      ([p, t, q]) => {
        if (!active) return;
        setProject(p);
        setTasks(t);
        setQuality(q);
        setError(null);
      },
      (e: unknown) => active && setError(errorMessage(e)),
    );
    return () => {
      active = false;
    };
  }, [id, generation]);

  if (error && !project) {
    return (
      <section className="page">
        <h1>Project</h1>
        <div className="notice notice--warning" role="alert">
          <p>{error}</p>
        </div>
        <Link to="/annotate">All projects</Link>
      </section>
    );
  }
  if (!project) return <p className="muted page">Loading…</p>;
  const owner = user.role === "researcher" || user.username === project.owner;
  const p = project.progress;

  return (
    <section className="page project-page" data-testid="project-page">
      <div className="page-header">
        <h1>{project.name}</h1>
        <Link to="/annotate" className="button button--ghost">
          All projects
        </Link>
      </div>
      {error && (
        <div className="notice notice--warning" role="alert">
          <p>{error}</p>
        </div>
      )}
      <div className="stat-grid" data-testid="project-progress">
        <Stat label="Videos" value={p.videos} />
        <Stat label="Done (k accepted)" value={p.videos_done} />
        <Stat label="In progress" value={p.in_progress} />
        <Stat label="To review" value={p.submitted} />
        <Stat label="Accepted" value={p.accepted} />
        <Stat label="Sent back" value={p.rejected} />
        <Stat label="Low agreement" value={p.flagged} />
        <Stat label="Gold items" value={p.gold_items} />
      </div>
      <p className="muted small">
        k = {project.overlap} annotators per video (up to {project.max_overlap} when agreement is below{" "}
        {percent(project.agreement_threshold)}) · leases {project.lease_minutes} min · rejected work waits{" "}
        {project.rework_minutes % 60 === 0 ? `${project.rework_minutes / 60} h` : `${project.rework_minutes} min`} for its annotator · labels: {(project.labels ?? []).join(", ") || "any"} ·
        predictions {project.show_predictions ? "shown" : "hidden"} · exposed annotators{" "}
        {project.exclude_exposed ? "left out of the ground truth" : "kept"} · {project.auto_accept ? "accepted without review" : "reviewed"} ·{" "}
        <Link to="/annotate/review">review queue</Link>
      </p>
      {project.instructions && (
        <details className="card">
          <summary>Instructions</summary>
          <Markdown source={project.instructions} />
        </details>
      )}

      {owner && <AddVideosForm projectId={id} onAdded={reload} />}

      <h2>Videos</h2>
      {tasks.length === 0 ? (
        <p className="muted">No videos yet.</p>
      ) : (
        <table className="table" data-testid="task-table">
          <thead>
            <tr>
              <th>Video</th>
              <th>Class</th>
              <th>Annotators</th>
              <th>Agreement</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {tasks.map((t) => (
              <tr key={t.id} className={t.flagged ? "row--flagged" : undefined}>
                <th scope="row">
                  {t.video.title}
                  {t.is_gold && <span className="badge"> gold{t.has_gold_answer ? "" : " (no answer)"}</span>}
                </th>
                <td>{t.label}</td>
                <td>
                  {t.counts.accepted ?? 0} accepted / {t.required}
                  <span className="muted small">
                    {" "}
                    ({t.counts.submitted ?? 0} to review, {t.counts.in_progress ?? 0} working)
                  </span>
                </td>
                <td>
                  {percent(t.agreement)}
                  {t.flagged && <span className="status-pill status-pill--rejected"> low</span>}
                </td>
                <td className="table__actions">
                  <a href={groundTruthUrl(t.id)} target="_blank" rel="noreferrer">
                    Ground truth
                  </a>
                  {owner && (
                    <button
                      type="button"
                      className="link-button"
                      onClick={() => void requestMoreAnnotators(t.id).then(reload, (e: unknown) => setError(errorMessage(e)))}
                    >
                      +1 annotator
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <h2>Quality</h2>
      {quality && quality.annotators.length > 0 ? (
        <table className="table" data-testid="quality-table">
          <thead>
            <tr>
              <th>Annotator</th>
              <th>Submitted</th>
              <th>Accepted</th>
              <th>Sent back</th>
              <th>Gold items</th>
              <th>Gold box IoU</th>
              <th>Gold segment IoU</th>
            </tr>
          </thead>
          <tbody>
            {quality.annotators.map((row) => (
              <tr key={row.annotator.id}>
                <th scope="row">{row.annotator.username}</th>
                <td>{row.submitted + row.accepted + row.rejected}</td>
                <td>{row.accepted}</td>
                <td>{row.rejected}</td>
                <td>{row.gold_items}</td>
                <td>{percent(row.gold_box_iou)}</td>
                <td>{percent(row.gold_segment_iou)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="muted">No annotations yet.</p>
      )}

      <ClassMapCard project={project} editable={owner} onSaved={setProject} />

      <h2>Export</h2>
      <p className="export-links">
        <a className="button button--ghost" href={exportUrl(id, "coco")} data-testid="export-coco">
          COCO JSON (consensus)
        </a>
        <a className="button button--ghost" href={exportUrl(id, "csv", "all")} data-testid="export-csv">
          CSV (all)
        </a>
        <a className="button button--ghost" href={exportUrl(id, "cvat", "accepted")} data-testid="export-cvat">
          CVAT for video 1.1 (zip)
        </a>
      </p>
      {owner && tasks.length > 0 && <ImportForm projectId={id} tasks={tasks} onImported={reload} />}
    </section>
  );
}

function Stat({ label, value }: { label: string; value: number }) {
  return (
    <div className="stat">
      <span className="stat__value">{value}</span>
      <span className="stat__label">{label}</span>
    </div>
  );
}

function parseIds(text: string): number[] {
  return text
    .split(/[\s,]+/)
    .map((part) => part.trim())
    .filter(Boolean)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
}

function AddVideosForm({ projectId, onAdded }: { projectId: number; onAdded: () => Promise<void> }) {
  const [videos, setVideos] = useState("");
  const [dataset, setDataset] = useState("");
  const [label, setLabel] = useState("");
  const [gold, setGold] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    setMessage(null);
    try {
      const added = await addVideos(projectId, {
        videos: parseIds(videos),
        dataset: dataset.trim() ? Number(dataset) : null,
        label,
        gold,
      });
      setMessage(`${added.length} video${added.length === 1 ? "" : "s"} added.`);
      setVideos("");
      setDataset("");
      await onAdded();
    } catch (e) {
      setError(errorMessage(e));
    }
  }

  return (
    <form className="card form-inline" onSubmit={(e) => void submit(e)} data-testid="add-videos-form">
      <h2>Add videos</h2>
      <div className="field">
        <label htmlFor="add-video-ids">Video ids</label>
        <input id="add-video-ids" value={videos} onChange={(e) => setVideos(e.target.value)} placeholder="12, 13, 14" />
      </div>
      <div className="field">
        <label htmlFor="add-dataset">or dataset id</label>
        <input id="add-dataset" value={dataset} onChange={(e) => setDataset(e.target.value)} inputMode="numeric" />
      </div>
      <div className="field">
        <label htmlFor="add-label">Class to localize</label>
        <input id="add-label" value={label} onChange={(e) => setLabel(e.target.value)} placeholder="the video's label" />
      </div>
      <label className="checkbox">
        <input type="checkbox" checked={gold} onChange={(e) => setGold(e.target.checked)} /> Gold items
      </label>
      <button type="submit" className="button button--primary">
        Add
      </button>
      {message && <p className="small" role="status">{message}</p>}
      {error && (
        <p className="form-error small" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}

function ImportForm({ projectId, tasks, onImported }: { projectId: number; tasks: TaskRow[]; onImported: () => Promise<void> }) {
  const [file, setFile] = useState<File | null>(null);
  const [video, setVideo] = useState(tasks[0]?.video.id ?? 0);
  const [target, setTarget] = useState<"ground_truth" | "gold">("ground_truth");
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!file) return;
    setError(null);
    setMessage(null);
    try {
      await importCvat(projectId, file, video, target);
      setMessage(`Imported ${file.name}.`);
      await onImported();
    } catch (e) {
      setError(errorMessage(e));
    }
  }

  return (
    <form className="card form-inline" onSubmit={(e) => void submit(e)} data-testid="import-form">
      <h2>Import CVAT for video 1.1</h2>
      <div className="field">
        <label htmlFor="import-file">File</label>
        <input id="import-file" type="file" accept=".xml,text/xml,application/xml" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
      </div>
      <div className="field">
        <label htmlFor="import-video">Video</label>
        <select id="import-video" value={video} onChange={(e) => setVideo(Number(e.target.value))}>
          {tasks.map((t) => (
            <option key={t.id} value={t.video.id}>
              {t.video.title}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="import-target">As</label>
        <select id="import-target" value={target} onChange={(e) => setTarget(e.target.value as "ground_truth" | "gold")}>
          <option value="ground_truth">accepted ground truth</option>
          <option value="gold">gold answer</option>
        </select>
      </div>
      <button type="submit" className="button button--primary" disabled={!file}>
        Import
      </button>
      {message && <p className="small" role="status">{message}</p>}
      {error && (
        <p className="form-error small" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
