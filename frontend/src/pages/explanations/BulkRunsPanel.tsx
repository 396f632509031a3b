import { useCallback, useEffect, useState, type FormEvent } from "react";
import { errorMessage } from "../../api/errors";
import { listBulkRuns, startBulkRun, type BulkRun, type Method, type RegisteredModel } from "./api";
import { formatPercent, formatSeconds, methodLabel } from "./format";
import { usePoll } from "./usePoll";

interface Props {
  models: RegisteredModel[];
  methods: Method[];
}

/** "Explain this dataset with these methods": runs with done/total and an ETA. */
export function BulkRunsPanel({ models, methods }: Props) {
  const [runs, setRuns] = useState<BulkRun[]>([]);
  const [dataset, setDataset] = useState("");
  const [modelId, setModelId] = useState<number | "">("");
  const [chosen, setChosen] = useState<string[]>(["staa", "staa_plus"]);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setRuns((await listBulkRuns()).results);
    } catch {
      /* shown as empty; the next poll tries again */
    }
  }, []);

  useEffect(() => {
    let active = true;
    listBulkRuns()
      .then((page) => active && setRuns(page.results))
      .catch(() => undefined);
    return () => {
      active = false;
    };
  }, []);
  usePoll(runs.some((r) => r.progress.state === "running"), 2000, load);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    const model = modelId === "" ? models[0]?.id : modelId;
    if (model === undefined) return;
    try {
      await startBulkRun({ dataset_name: dataset, model, methods: chosen, params: {} });
      setDataset("");
      await load();
    } catch (err) {
      setError(errorMessage(err));
    }
  }

  function toggle(name: string) {
    setChosen((previous) =>
      previous.includes(name) ? previous.filter((m) => m !== name) : [...previous, name],
    );
  }

  return (
    <section className="card" aria-labelledby="bulk-heading" data-testid="bulk-panel">
      <h2 id="bulk-heading">Bulk runs</h2>
      <form className="inline-form" onSubmit={submit} aria-label="Explain a dataset">
        <div className="field">
          <label htmlFor="bulk-dataset">Dataset</label>
          <input id="bulk-dataset" value={dataset} onChange={(e) => setDataset(e.target.value)} required />
        </div>
        <div className="field">
          <label htmlFor="bulk-model">Model</label>
          <select
            id="bulk-model"
            value={modelId === "" ? (models[0]?.id ?? "") : modelId}
            onChange={(e) => setModelId(Number(e.target.value))}
          >
            {models.map((m) => (
              <option key={m.id} value={m.id}>
                {m.name}
              </option>
            ))}
          </select>
        </div>
        <fieldset className="bulk-methods">
          <legend>Methods</legend>
          {methods.map((m) => (
            <label key={m.name} className="checkbox">
              <input type="checkbox" checked={chosen.includes(m.name)} onChange={() => toggle(m.name)} />{" "}
              {methodLabel(m.name)}
            </label>
          ))}
        </fieldset>
        <button type="submit" className="button button--primary" disabled={!chosen.length || !models.length}>
          Explain dataset
        </button>
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
      </form>
      {runs.length > 0 && (
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Dataset</th>
              <th scope="col">Model</th>
              <th scope="col">Methods</th>
              <th scope="col">Progress</th>
              <th scope="col">ETA</th>
            </tr>
          </thead>
          <tbody>
            {runs.map((r) => (
              <tr key={r.id} data-testid={`bulk-run-${r.id}`}>
                <td>{r.dataset_name}</td>
                <td>{r.model_name}</td>
                <td>{r.methods.map(methodLabel).join(", ")}</td>
                <td>
                  <progress max={1} value={r.progress.fraction} aria-label="Progress" />{" "}
                  <span data-testid="bulk-progress">
                    {r.progress.finished}/{r.progress.total}
                  </span>
                  {r.progress.failed > 0 && <span className="form-error"> ({r.progress.failed} failed)</span>}{" "}
                  <span className="muted small">{formatPercent(r.progress.fraction)}</span>
                </td>
                <td>{r.progress.state === "finished" ? "done" : formatSeconds(r.progress.eta_seconds)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
