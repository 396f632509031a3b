import { useState } from "react";
import { errorMessage } from "../../api/errors";
import { getExport, requestExport, type Export } from "./api";
import type { OverlaySettings } from "./OverlayCanvas";
import { usePoll } from "./usePoll";

interface Props {
  explanationId: number;
  settings: OverlaySettings;
}

/** Render the explanation as an overlay MP4 or a keyframe PNG strip (on the media workers). */
export function ExportButtons({ explanationId, settings }: Props) {
  const [exports, setExports] = useState<Export[]>([]);
  const [error, setError] = useState<string | null>(null);
  const pending = exports.some((e) => e.status === "queued" || e.status === "running");

  usePoll(pending, 1000, async () => {
    const next = await Promise.all(
      exports.map((e) => (e.status === "done" || e.status === "failed" ? e : getExport(e.id))),
    );
    setExports(next);
  });

  async function start(kind: "mp4" | "png") {
    setError(null);
    try {
      const created = await requestExport(explanationId, {
        kind,
        options: {
          colormap: settings.colormap,
          opacity: settings.opacity,
          threshold: settings.threshold,
        },
      });
      setExports((previous) => [created, ...previous.filter((e) => e.id !== created.id)]);
    } catch (err) {
      setError(errorMessage(err));
    }
  }

  return (
    <div className="export-buttons">
      <button type="button" className="button button--ghost" onClick={() => void start("mp4")}>
        Export MP4
      </button>
      <button type="button" className="button button--ghost" onClick={() => void start("png")}>
        Export PNG strip
      </button>
      {exports.map((e) => (
        <span key={e.id} className="small" data-testid="export-status" data-status={e.status}>
          {e.kind.toUpperCase()}:{" "}
          {e.download_url ? (
            <a href={e.download_url} download>
              download
            </a>
          ) : e.status === "failed" ? (
            <span className="form-error">{e.error}</span>
          ) : (
            "rendering…"
          )}
        </span>
      ))}
      {error && (
        <span className="form-error" role="alert">
          {error}
        </span>
      )}
    </div>
  );
}
