import { useCallback, useEffect, useState } from "react";
import { fetchHealth, type HealthCheck, type HealthReport } from "../api/health";
import { errorMessage } from "../api/errors";

type PanelState =
  | { kind: "loading" }
  | { kind: "loaded"; report: HealthReport; checkedAt: Date }
  | { kind: "failed"; message: string; checkedAt: Date };

const QUEUE_DESCRIPTIONS: Record<string, string> = {
  default: "bookkeeping and scoring",
  media: "video probing, transcoding and thumbnails",
  gpu: "model inference and explanations",
};

function StatusBadge({ ok, okText = "OK", failText = "Down" }: { ok: boolean; okText?: string; failText?: string }) {
  return <span className={`status-badge ${ok ? "status-badge--ok" : "status-badge--fail"}`}>{ok ? okText : failText}</span>;
}

function CheckRow({ id, label, check }: { id: string; label: string; check: HealthCheck }) {
  return (
    <tr data-testid={`health-check-${id}`} data-ok={String(check.ok)}>
      <th scope="row">{label}</th>
      <td>
        <StatusBadge ok={check.ok} />
      </td>
      <td className="muted">{check.detail || "—"}</td>
    </tr>
  );
}

/** Platform status from GET /healthz: database, broker and workers per queue. */
export function HealthPanel() {
  const [state, setState] = useState<PanelState>({ kind: "loading" });
  const [refreshing, setRefreshing] = useState(false);

  const load = useCallback(async () => {
    try {
      const report = await fetchHealth();
      return { kind: "loaded", report, checkedAt: new Date() } as const;
    } catch (error) {
      return { kind: "failed", message: errorMessage(error), checkedAt: new Date() } as const;
    }
  }, []);

  useEffect(() => {
    let active = true;
    load().then((next) => {
      if (active) setState(next);
    });
    return () => {
      active = false;
    };
  }, [load]);

  async function refresh() {
    setRefreshing(true);
    const next = await load();
    setState(next);
    setRefreshing(false);
  }

  const overall =
    state.kind === "loaded" ? state.report.status : state.kind === "failed" ? "unavailable" : "loading";
  const overallText = {
    ok: "All systems operational",
    degraded: "Degraded: some services need attention",
    unavailable: "Status unavailable",
    loading: "Checking…",
  }[overall];

  return (
    <section className="card health" aria-labelledby="health-title" data-testid="health-panel" aria-busy={state.kind === "loading" || refreshing}>
      <div className="card__header">
        <h2 id="health-title">Platform status</h2>
        <button type="button" className="button button--ghost" onClick={refresh} disabled={refreshing || state.kind === "loading"}>
          Refresh status
        </button>
      </div>
      <p className={`health__overall health__overall--${overall}`} data-testid="health-overall" data-status={overall} role="status">
        {overallText}
      </p>

      {state.kind === "failed" && (
        <p className="muted" data-testid="health-error">
          {state.message}
        </p>
      )}

      {state.kind === "loaded" && (
        <>
          <table className="table">
            <caption className="visually-hidden">Service checks</caption>
            <thead>
              <tr>
                <th scope="col">Service</th>
                <th scope="col">Status</th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody>
              <CheckRow id="database" label="Database" check={state.report.checks.database} />
              <CheckRow id="broker" label="Broker" check={state.report.checks.broker} />
              <CheckRow id="workers" label="Workers" check={state.report.checks.workers} />
            </tbody>
          </table>

          <h3 className="health__subtitle">Workers per queue</h3>
          <table className="table">
            <caption className="visually-hidden">Workers consuming each queue</caption>
            <thead>
              <tr>
                <th scope="col">Queue</th>
                <th scope="col">Workers</th>
                <th scope="col">Hosts</th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(state.report.checks.workers.queues).map(([queue, hosts]) => (
                <tr key={queue} data-testid={`health-queue-${queue}`} data-workers={hosts.length}>
                  <th scope="row">
                    <code>{queue}</code>
                    {QUEUE_DESCRIPTIONS[queue] && <span className="muted small"> — {QUEUE_DESCRIPTIONS[queue]}</span>}
                  </th>
                  <td>
                    <StatusBadge ok={hosts.length > 0} okText={String(hosts.length)} failText="None" />
                  </td>
                  <td className="muted">{hosts.length ? hosts.join(", ") : "No worker is consuming this queue"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}

      {state.kind !== "loading" && (
        <p className="muted small">
          Checked at <time dateTime={state.checkedAt.toISOString()}>{state.checkedAt.toLocaleTimeString()}</time>
        </p>
      )}
    </section>
  );
}
