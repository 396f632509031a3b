import { Link } from "react-router";
import { useCurrentUser } from "../auth/AuthContext";
import { areasForRole, roleLabel, usesWorkspace } from "../auth/roles";
import { HealthPanel } from "../components/HealthPanel";
import { useDocumentTitle } from "../components/useDocumentTitle";

const AREA_SUMMARIES: Record<string, string> = {
  library: "Videos and models available for explanation.",
  explanations: "Space-time maps computed for clips, side by side.",
  annotate: "Ground-truth boxes and segments for pointing games.",
  studies: "Human-evaluation studies and their responses.",
  leaderboard: "Methods ranked by localization, faithfulness and cost.",
};

export function DashboardPage() {
  useDocumentTitle("Dashboard");
  const user = useCurrentUser();
  const areas = areasForRole(user.role);
  const name = user.display_name || user.username;

  return (
    <section className="page">
      <h1>Dashboard</h1>
      <div className="card welcome" data-testid="dashboard-user">
        <p className="welcome__greeting">
          Signed in as <strong data-testid="dashboard-user-name">{name}</strong>
          {name !== user.username && <span className="muted"> ({user.username})</span>}
        </p>
        <p>
          Role: <span className="badge" data-testid="dashboard-user-role" data-role={user.role}>{roleLabel(user.role)}</span>
        </p>
      </div>

      {usesWorkspace(user.role) ? (
        <>
          {areas.length > 0 && (
            <section aria-labelledby="areas-title">
              <h2 id="areas-title">Your areas</h2>
              <ul className="area-grid">
                {areas.map((area) => (
                  <li key={area.id}>
                    <Link to={area.path} className="area-card">
                      <span className="area-card__title">{area.label}</span>
                      <span className="muted small">{AREA_SUMMARIES[area.id]}</span>
                    </Link>
                  </li>
                ))}
              </ul>
            </section>
          )}
          <HealthPanel />
        </>
      ) : (
        <div className="notice" data-testid="participant-notice">
          <p>
            Study participants take part through the link in their study invitation. There is nothing to do in
            this workspace.
          </p>
        </div>
      )}
    </section>
  );
}
