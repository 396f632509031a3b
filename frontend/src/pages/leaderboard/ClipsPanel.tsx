import { useEffect, useState } from "react";
import { Link } from "react-router";
import { errorMessage } from "../../api/errors";
import { getClips, type BoardQuery, type Clip } from "./api";

interface ClipsPanelProps {
  query: BoardQuery;
  row: string;
  title: string;
  onClose: () => void;
}

function frameLink(clip: Clip, time: number): string {
  return `/explanations/review/${clip.video.id}?ids=${clip.explanation}&t=${time.toFixed(3)}`;
}

function sameName(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

/** What the clip was scored against: "car", or "car (class sedan)" when the class maps to it. */
function ScoredAgainst({ clip }: { clip: Clip }) {
  const label = clip.label;
  const className = clip.class_name;
  if (label === null) {
    return className ? <span className="muted small">class {className}</span> : null;
  }
  return (
    <span className="clip-item__label small" data-testid="clip-label">
      scored against <strong>{label}</strong>
      {className && !sameName(className, label) && <span className="muted"> (class {className})</span>}
    </span>
  );
}

/** The clips behind one row: hit or miss per map frame, each a link into the review player. */
export function ClipsPanel({ query, row, title, onClose }: ClipsPanelProps) {
  const [clips, setClips] = useState<Clip[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let active = true;
    getClips(query, row)
      .then((list) => active && setClips(list.clips))
      .catch((e: unknown) => active && setError(errorMessage(e)));
    return () => {
      active = false;
    };
  }, [query, row]);

  return (
    <section className="card clips-panel" data-testid="clips-panel" aria-label={`Clips of ${title}`}>
      <div className="card__header">
        <h2>Clips: {title}</h2>
        <button type="button" className="button button--ghost" onClick={onClose}>
          Close
        </button>
      </div>
      {error && <p role="alert">{error}</p>}
      {!clips && !error && <p className="muted">Loading clips…</p>}
      {clips && clips.length === 0 && <p className="muted">No clips in this row.</p>}
      {clips && clips.length > 0 && (
        <ul className="clip-list">
          {clips.map((clip) => {
            const notScored = clip.not_scored;
            return (
              <li
                key={clip.explanation}
                className={`clip-item${notScored ? " clip-item--not-scored" : ""}`}
                data-testid="clip-item"
                data-scored={String(!notScored)}
              >
                <div className="clip-item__head">
                  <strong>{clip.video.name}</strong>
                  <ScoredAgainst clip={clip} />
                  {notScored ? (
                    <span className="clip-item__reason" data-testid="clip-not-scored">
                      {notScored}
                    </span>
                  ) : (
                    <span className="muted">
                      {clip.error
                        ? clip.error
                        : `${clip.frames_hit} of ${clip.frames_counted} frames hit`}
                      {clip.temporal_hit != null && ` · when: ${clip.temporal_hit ? "hit" : "miss"}`}
                      {clip.sound_hit != null && ` · heard: ${clip.sound_hit ? "hit" : "miss"}`}
                    </span>
                  )}
                  {clip.stale && (
                    <span className="badge leaderboard__stale" data-testid="clip-stale" title={clip.stale_reason}>
                      stale
                    </span>
                  )}
                  <Link className="button button--ghost" data-testid="clip-link" to={clip.player_url}>
                    Open in the player
                  </Link>
                </div>
                <div className="clip-frames" aria-label="Map frames">
                  {clip.frames.map((f) => (
                    <Link
                      key={f.index}
                      to={frameLink(clip, f.time)}
                      className={`clip-frame clip-frame--${!f.counted ? "none" : f.hit ? "hit" : "miss"}`}
                      data-testid="clip-frame"
                      data-hit={f.counted ? String(Boolean(f.hit)) : "none"}
                      title={`frame ${f.index} at ${f.time.toFixed(2)} s: ${notScored ? "not scored" : !f.counted ? "no ground truth" : f.hit ? "hit" : "miss"}`}
                    >
                      {f.index}
                    </Link>
                  ))}
                </div>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
