import { useState, type FormEvent } from "react";
import { useNavigate } from "react-router";
import { errorMessage } from "../../api/errors";
import type { Video } from "../../api/videos";
import { importExplanation } from "./api";

interface Props {
  videos: Video[];
}

/** Import an explanation made by another tool (.npz with map, timestamps, temporal). */
export function ImportPanel({ videos }: Props) {
  const navigate = useNavigate();
  const [videoId, setVideoId] = useState<number | "">("");
  const [method, setMethod] = useState("");
  const [file, setFile] = useState<File | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [sending, setSending] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const video = videoId === "" ? videos[0]?.id : videoId;
    if (video === undefined || !file) return;
    setSending(true);
    setError(null);
    try {
      const created = await importExplanation({ video, method, file });
      navigate(`/explanations/review/${video}?ids=${created.id}`);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setSending(false);
    }
  }

  return (
    <section className="card" aria-labelledby="import-heading" data-testid="import-panel">
      <h2 id="import-heading">Import an explanation</h2>
      <p className="small muted">
        An <code>.npz</code> with <code>map</code> (T × h × w), <code>timestamps</code> (T, seconds) and
        optionally <code>temporal</code> (T). It is checked, then reviewed and scored like the others.
      </p>
      <form className="inline-form" onSubmit={submit} aria-label="Import an explanation">
        <div className="field">
          <label htmlFor="import-video">Video</label>
          <select id="import-video" value={videoId} onChange={(e) => setVideoId(Number(e.target.value))}>
            {videos.map((v) => (
              <option key={v.id} value={v.id}>
                {v.title}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="import-method">Method name</label>
          <input id="import-method" value={method} onChange={(e) => setMethod(e.target.value)} required />
        </div>
        <div className="field">
          <label htmlFor="import-file">File</label>
          <input
            id="import-file"
            type="file"
            accept=".npz"
            onChange={(e) => setFile(e.target.files?.[0] ?? null)}
            required
          />
        </div>
        <button type="submit" className="button button--primary" disabled={sending || !videos.length}>
          Import
        </button>
        {error && (
          <p className="form-error" role="alert" data-testid="import-error">
            {error}
          </p>
        )}
      </form>
    </section>
  );
}
