/** Submitted annotations waiting for a decision, oldest first. */
import { useEffect, useState } from "react";
import { Link, useLocation, useNavigate } from "react-router";
import { errorMessage } from "../../api/errors";
import { useDocumentTitle } from "../../components/useDocumentTitle";
import { fetchAssignments, requestNextReview, type AssignmentRow } from "./api";

export function ReviewQueue({ project }: { project?: number }) {
  useDocumentTitle("Review");
  const location = useLocation();
  const navigate = useNavigate();
  const [message, setMessage] = useState<string | null>((location.state as { message?: string } | null)?.message ?? null);
  const [rows, setRows] = useState<AssignmentRow[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [taking, setTaking] = useState(false);

  /** The oldest submission nobody is reviewing, reserved for this reviewer. */
  async function reviewNext() {
    setTaking(true);
    setError(null);
    try {
      const next = await requestNextReview(project ?? null);
      if (next.assignment) {
        navigate(`/annotate/review/${next.assignment.id}`);
        return;
      }
      setMessage(next.message);
    } catch (e) {
      setError(errorMessage(e));
    }
    setTaking(false);
  }

  useEffect(() => {
    let active = true;
    fetchAssignments({ status: "submitted", ...(project ? { project } : {}) })
      .then((r) => active && setRows(r))
      .catch((e: unknown) => active && setError(errorMessage(e)));
    return () => {
      active = false;
    };
  }, [project]);

  return (
    <section className="page">
      <div className="page-header">
        <div>
          <h1>Review</h1>
          <p className="muted small">Take the oldest submission nobody is reviewing; it is reserved for you while you look at it.</p>
        </div>
        <div className="page-header__actions">
          <button type="button" className="button button--primary" onClick={() => void reviewNext()} disabled={taking} data-testid="review-next">
            {taking ? "Finding one…" : "Review next"}
          </button>
        </div>
      </div>
      {message && (
        <div className="notice" role="status">
          <p>{message}</p>
        </div>
      )}
      {error && (
        <div className="notice notice--warning" role="alert">
          <p>{error}</p>
        </div>
      )}
      {rows === null && !error && <p className="muted">Loading…</p>}
      {rows && rows.length === 0 && (
        <div className="empty-state" data-testid="empty-state">
          <p className="empty-state__message">Review — submitted annotations will appear here for review.</p>
          <p className="muted">Accept or reject boxes and segments once annotators submit them.</p>
        </div>
      )}
      {rows && rows.length > 0 && (
        <table className="table" data-testid="review-queue">
          <thead>
            <tr>
              <th>Video</th>
              <th>Project</th>
              <th>Annotator</th>
              <th>Submitted</th>
              <th>Reviewing</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((a) => (
              <tr key={a.id}>
                <td>{a.video.title}</td>
                <td>{a.project.name}</td>
                <td>{a.annotator}</td>
                <td className="small">{a.submitted_at ? new Date(a.submitted_at).toLocaleString() : "—"}</td>
                <td className="small" data-testid="review-holder">
                  {a.review_holder ? <span className="badge">{a.review_holder}</span> : <span className="muted">—</span>}
                </td>
                <td>
                  <Link to={`/annotate/review/${a.id}`} data-testid="review-link">
                    Review
                  </Link>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
