/** An annotator's start page: the next task, the projects open to them, and their own work. */
import { useEffect, useState } from "react";
import { Link, useLocation, useNavigate } from "react-router";
import { errorMessage } from "../../api/errors";
import { useDocumentTitle } from "../../components/useDocumentTitle";
import { fetchAssignments, fetchQueue, requestNextTask, type AssignmentRow, type QueueProject } from "./api";
import { Markdown } from "./Markdown";
import { StatusBadge } from "./StatusBadge";

export function AnnotatorHome() {
  useDocumentTitle("Annotate");
  const navigate = useNavigate();
  const location = useLocation();
  const flash = (location.state as { message?: string } | null)?.message ?? null;
  const [projects, setProjects] = useState<QueueProject[] | null>(null);
  const [mine, setMine] = useState<AssignmentRow[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(flash);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let active = true;
    Promise.all([fetchQueue(), fetchAssignments()])
      .then(([queue, assignments]) => {
        if (!active) return;
        setProjects(queue);
        setMine(assignments);
      })
      .catch((e: unknown) => active && setError(errorMessage(e)));
    return () => {
      active = false;
    };
  }, []);

  async function next(project?: number) {
    setBusy(true);
    setError(null);
    try {
      const answer = await requestNextTask(project);
      if (answer.assignment) navigate(`/annotate/assignments/${answer.assignment.id}`);
      else setMessage(answer.message);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  }

  const returned = mine.filter((a) => a.status === "rejected");
  const nothing = projects !== null && projects.length === 0 && mine.length === 0;
  return (
    <section className="page">
      <div className="page-header">
        <h1>Annotate</h1>
        <button
          type="button"
          className="button button--primary"
          onClick={() => void next()}
          disabled={busy || nothing}
          data-testid="next-task"
          autoFocus
        >
          {busy ? "Finding a task…" : "Start next task"}
        </button>
      </div>
      {message && (
        <div className="notice" role="status" data-testid="annotate-message">
          <p>{message}</p>
        </div>
      )}
      {error && (
        <div className="notice notice--warning" role="alert">
          <p>{error}</p>
        </div>
      )}
      {projects === null && !error && (
        <p className="muted" role="status">
          Loading your tasks…
        </p>
      )}
      {nothing && (
        <div className="empty-state" data-testid="empty-state">
          <p className="empty-state__message">Annotate — your tasks will appear here once you are assigned to a project.</p>
          <p className="muted">Each task asks for evidence boxes on keyframes and the segment when the event happens.</p>
        </div>
      )}
      {returned.length > 0 && (
        <div className="notice notice--warning" data-testid="returned-work">
          <p>
            <strong>{returned.length} task{returned.length === 1 ? " was" : "s were"} sent back to you.</strong> Start next task to fix{" "}
            {returned.length === 1 ? "it" : "them"} first.
          </p>
        </div>
      )}
      {projects && projects.length > 0 && (
        <section aria-labelledby="projects-title">
          <h2 id="projects-title">Projects</h2>
          <ul className="project-cards">
            {projects.map((p) => (
              <li key={p.id} className="card project-card" data-testid="queue-project">
                <div className="card__header">
                  <h3>{p.name}</h3>
                  <button type="button" className="button button--ghost" onClick={() => void next(p.id)} disabled={busy || !p.available}>
                    {p.available ? "Work on this project" : "Nothing waiting"}
                  </button>
                </div>
                {p.instructions && (
                  <details>
                    <summary>Instructions</summary>
                    <Markdown source={p.instructions} />
                  </details>
                )}
                <p className="muted small">Labels: {p.labels.join(", ") || "any"} · your tasks here: {p.mine}</p>
              </li>
            ))}
          </ul>
        </section>
      )}
      {mine.length > 0 && (
        <section aria-labelledby="mine-title">
          <h2 id="mine-title">Your work</h2>
          <table className="table" data-testid="my-assignments">
            <thead>
              <tr>
                <th>Video</th>
                <th>Project</th>
                <th>Status</th>
                <th>Reviewer's comment</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {mine.map((a) => (
                <tr key={a.id}>
                  <td>{a.video.title}</td>
                  <td>{a.project.name}</td>
                  <td>
                    <StatusBadge status={a.status} />
                  </td>
                  <td className="small">{a.review_comment || "—"}</td>
                  <td>
                    <Link to={`/annotate/assignments/${a.id}`}>
                      {a.status === "submitted" || a.status === "accepted" ? "View" : "Continue"}
                    </Link>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </section>
  );
}
