/** A researcher's annotation projects, and a form to start one. */
import { useEffect, useState, type FormEvent } from "react";
import { Link, useNavigate } from "react-router";
import { errorMessage } from "../../api/errors";
import { useCurrentUser } from "../../auth/AuthContext";
import { useDocumentTitle } from "../../components/useDocumentTitle";
import { createProject, fetchProjects, type Project } from "./api";

export function ProjectsPage() {
  useDocumentTitle("Annotation projects");
  const user = useCurrentUser();
  const [projects, setProjects] = useState<Project[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);

  useEffect(() => {
    let active = true;
    fetchProjects()
      .then((p) => active && setProjects(p))
      .catch((e: unknown) => active && setError(errorMessage(e)));
    return () => {
      active = false;
    };
  }, []);

  const researcher = user.role === "researcher";
  return (
    <section className="page">
      <div className="page-header">
        <h1>Annotation projects</h1>
        <div className="page-header__actions">
          <Link to="/annotate/review" className="button button--ghost" data-testid="open-review">
            Review queue
          </Link>
          {researcher && !creating && (
            <button type="button" className="button button--primary" onClick={() => setCreating(true)} data-testid="new-project">
              New project
            </button>
          )}
        </div>
      </div>
      {creating && <NewProjectForm onCancel={() => setCreating(false)} />}
      {error && (
        <div className="notice notice--warning" role="alert">
          <p>{error}</p>
        </div>
      )}
      {projects === null && !error && <p className="muted">Loading…</p>}
      {projects && projects.length === 0 && !creating && (
        <div className="empty-state" data-testid="empty-state">
          <p className="empty-state__message">No annotation projects yet.</p>
          <p className="muted">A project collects ground-truth boxes and "when" segments for a set of videos from several annotators.</p>
        </div>
      )}
      {projects && projects.length > 0 && (
        <table className="table" data-testid="project-list">
          <thead>
            <tr>
              <th>Project</th>
              <th>Videos</th>
              <th>Done</th>
              <th>To review</th>
              <th>Flagged</th>
              <th>k</th>
            </tr>
          </thead>
          <tbody>
            {projects.map((p) => (
              <tr key={p.id}>
                <th scope="row">
                  <Link to={`/annotate/projects/${p.id}`}>{p.name}</Link>
                  {!p.active && <span className="muted small"> (paused)</span>}
                </th>
                <td>{p.progress.videos}</td>
                <td>{p.progress.videos_done}</td>
                <td>{p.progress.submitted}</td>
                <td>{p.progress.flagged}</td>
                <td>{p.overlap}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function NewProjectForm({ onCancel }: { onCancel: () => void }) {
  const navigate = useNavigate();
  const [name, setName] = useState("");
  const [labels, setLabels] = useState("");
  const [instructions, setInstructions] = useState("");
  const [overlap, setOverlap] = useState(3);
  const [showPredictions, setShowPredictions] = useState(false);
  const [excludeExposed, setExcludeExposed] = useState(true);
  const [autoAccept, setAutoAccept] = useState(false);
  const [snapSegments, setSnapSegments] = useState(false);
  const [qualification, setQualification] = useState(0);
  /** Hours rejected work waits for its annotator before another may take it (10 min to 30 days). */
  const [reworkHours, setReworkHours] = useState(48);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const project = await createProject({
        name,
        instructions,
        labels: labels
          .split(",")
          .map((l) => l.trim())
          .filter(Boolean),
        overlap,
        lease_minutes: 30,
        rework_minutes: Math.round(reworkHours * 60),
        gold_every: 5,
        agreement_threshold: 0.5,
        show_predictions: showPredictions,
        exclude_exposed: excludeExposed,
        auto_accept: autoAccept,
        snap_segments: snapSegments,
        gold_feedback: true,
        gold_pass_iou: 0.5,
        qualification_gold: qualification,
      });
      navigate(`/annotate/projects/${project.id}`);
    } catch (e) {
      setError(errorMessage(e));
      setBusy(false);
    }
  }

  return (
    <form className="card form-grid" onSubmit={(e) => void submit(e)} data-testid="new-project-form">
      <h2>New project</h2>
      <div className="field">
        <label htmlFor="project-name">Name</label>
        <input id="project-name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} />
      </div>
      <div className="field">
        <label htmlFor="project-labels">Labels (comma-separated)</label>
        <input id="project-labels" value={labels} onChange={(e) => setLabels(e.target.value)} placeholder="jump, wave" />
      </div>
      <div className="field">
        <label htmlFor="project-overlap">Annotators per video (k)</label>
        <input
          id="project-overlap"
          type="number"
          min={1}
          max={50}
          value={overlap}
          onChange={(e) => setOverlap(Number(e.target.value))}
        />
      </div>
      <div className="field">
        <label htmlFor="project-qualification">Check items to pass before real work</label>
        <input
          id="project-qualification"
          type="number"
          min={0}
          max={100}
          value={qualification}
          onChange={(e) => setQualification(Number(e.target.value))}
        />
      </div>
      <div className="field">
        <label htmlFor="project-rework">Hours rejected work waits for its annotator</label>
        <input
          id="project-rework"
          type="number"
          min={1 / 6}
          max={720}
          step="any"
          value={reworkHours}
          onChange={(e) => setReworkHours(Number(e.target.value))}
          aria-describedby="project-rework-help"
        />
        <p id="project-rework-help" className="small muted">
          After this, a task sent back and not reopened goes to another annotator.
        </p>
      </div>
      <div className="field">
        <label htmlFor="project-instructions">Instructions (Markdown)</label>
        <textarea id="project-instructions" rows={5} value={instructions} onChange={(e) => setInstructions(e.target.value)} />
      </div>
      <label className="checkbox">
        <input type="checkbox" checked={showPredictions} onChange={(e) => setShowPredictions(e.target.checked)} /> Show model
        predictions to annotators
      </label>
      <label className="checkbox">
        <input type="checkbox" checked={excludeExposed} onChange={(e) => setExcludeExposed(e.target.checked)} /> Leave out of
        the ground truth annotators who had seen an explanation of the video
      </label>
      <label className="checkbox">
        <input type="checkbox" checked={autoAccept} onChange={(e) => setAutoAccept(e.target.checked)} /> Accept submissions
        without review
      </label>
      <label className="checkbox">
        <input type="checkbox" checked={snapSegments} onChange={(e) => setSnapSegments(e.target.checked)} /> Snap "when"
        segments to frame boundaries
      </label>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <div className="ws-actions__row">
        <button type="submit" className="button button--primary" disabled={busy}>
          Create project
        </button>
        <button type="button" className="button button--ghost" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
