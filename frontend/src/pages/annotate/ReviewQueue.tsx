/** Submitted annotations waiting for a decision, oldest first. */
import { useEffect, useState } from "react";
import { Link, useLocation } from "react-router";
import { errorMessage } from "../../api/errors";
import { useDocumentTitle } from "../../components/useDocumentTitle";
import { fetchAssignments, type AssignmentRow } from "./api";

export function ReviewQueue({ project }: { project?: number }) {
  useDocumentTitle("Review");
  const location = useLocation();
  const message = (location.state as { message?: string } | null)?.message ?? null;
  const [rows, setRows] = useState<AssignmentRow[] | null>(null);
  const [error, setError] = useState<string | null>(null);

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
      <h1>Review</h1>
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
