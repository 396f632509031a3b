import { useState, type FormEvent } from "react";
import { errorMessage } from "../../api/errors";
import { isAudioVisual, registerModel, type RegisteredModel } from "./api";

interface Props {
  models: RegisteredModel[];
  canRegister: boolean;
  onChange: () => void;
}

/** The model registry: what is registered, and (researchers) a form to register a directory. */
export function ModelsPanel({ models, canRegister, onChange }: Props) {
  const [name, setName] = useState("");
  const [dir, setDir] = useState("");
  const [device, setDevice] = useState<"auto" | "cpu" | "cuda">("auto");
  const [isPublic, setPublic] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setSaving(true);
    setError(null);
    try {
      await registerModel({ name, checkpoint_dir: dir, description: "", device, public: isPublic });
      setName("");
      setDir("");
      onChange();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setSaving(false);
    }
  }

  return (
    <section className="card" aria-labelledby="models-heading" data-testid="models-panel">
      <h2 id="models-heading">Models</h2>
      {models.length === 0 ? (
        <p className="muted">No model is registered yet.</p>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Architecture</th>
              <th scope="col">Token grid</th>
              <th scope="col">Classes</th>
              <th scope="col">Device</th>
            </tr>
          </thead>
          <tbody>
            {models.map((m) => (
              <tr key={m.id} data-testid={`model-${m.name}`}>
                <td>
                  {m.name}
                  {m.bundled && <span className="badge">bundled</span>}
                  {m.public && !m.bundled && <span className="badge">shared</span>}
                  {isAudioVisual(m) && (
                    <span
                      className="badge badge--audio"
                      title="Hears the sound as well as sees the frames"
                      data-testid="model-audio-visual"
                    >
                      audio-visual
                    </span>
                  )}
                </td>
                <td>{m.architecture}</td>
                <td>{m.grid.join(" × ")}</td>
                <td title={m.labels.join(", ")}>{m.num_classes}</td>
                <td>{m.device}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {canRegister && (
        <form className="inline-form" onSubmit={submit} aria-label="Register a model">
          <div className="field">
            <label htmlFor="model-name">Name</label>
            <input id="model-name" value={name} onChange={(e) => setName(e.target.value)} required />
          </div>
          <div className="field field--wide">
            <label htmlFor="model-dir">Checkpoint directory (absolute path on the workers)</label>
            <input id="model-dir" value={dir} onChange={(e) => setDir(e.target.value)} required />
          </div>
          <div className="field">
            <label htmlFor="model-device">Device</label>
            <select
              id="model-device"
              value={device}
              onChange={(e) => setDevice(e.target.value as typeof device)}
            >
              <option value="auto">auto</option>
              <option value="cpu">cpu</option>
              <option value="cuda">cuda</option>
            </select>
          </div>
          <label className="checkbox">
            <input type="checkbox" checked={isPublic} onChange={(e) => setPublic(e.target.checked)} />{" "}
            Share with everyone
          </label>
          <button type="submit" className="button button--primary" disabled={saving}>
            Register
          </button>
          {error && (
            <p className="form-error" role="alert" data-testid="model-error">
              {error}
            </p>
          )}
        </form>
      )}
    </section>
  );
}
