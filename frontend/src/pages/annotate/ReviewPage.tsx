/** A reviewer (or the project's researcher) looks at a submitted annotation and accepts or rejects it. */
import { useCallback, useEffect, useMemo, useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { errorMessage } from "../../api/errors";
import { useDocumentTitle } from "../../components/useDocumentTitle";
import { useCurrentUser } from "../../auth/AuthContext";
import { fetchAssignment, releaseReview, requestNextReview, reviewAssignment, type AssignmentDetail, type ReviewNote } from "./api";
import { formatSeconds } from "./frames";
import { visibleBoxes } from "./interpolation";
import { actionFor, isTypingTarget } from "./keymap";
import { fromApi } from "./model";
import { Stage, TRACK_COLORS } from "./Stage";
import { Timeline } from "./Timeline";
import { usePlayer } from "./usePlayer";

export function ReviewPage() {
  const { assignmentId } = useParams();
  const id = Number(assignmentId);
  const [assignment, setAssignment] = useState<AssignmentDetail | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let active = true;
    fetchAssignment(id)
      .then((a) => active && setAssignment(a))
      .catch((e: unknown) => active && setError(errorMessage(e)));
    return () => {
      active = false;
    };
  }, [id]);

  if (error) {
    return (
      <section className="page">
        <h1>Review</h1>
        <div className="notice notice--warning" role="alert">
          <p>{error}</p>
        </div>
        <Link to="/annotate/review">Back to the review queue</Link>
      </section>
    );
  }
  if (!assignment) {
    return (
      <section className="page" role="status">
        <span className="spinner" aria-hidden="true" /> Loading…
      </section>
    );
  }
  return <ReviewView key={assignment.id} assignment={assignment} onReviewed={setAssignment} />;
}

function ReviewView({ assignment, onReviewed }: { assignment: AssignmentDetail; onReviewed: (a: AssignmentDetail) => void }) {
  useDocumentTitle(`Review: ${assignment.video.title}`);
  const navigate = useNavigate();
  const video = assignment.video;
  const timestamps = video.frame_timestamps;
  const player = usePlayer(timestamps, video.duration ?? 0);
  const { frame, nFrames, step, goTo, togglePlay } = player;
  const doc = useMemo(() => fromApi(assignment.annotation ?? assignment.draft, assignment.label), [assignment]);
  const boxes = useMemo(() => visibleBoxes(doc, frame, nFrames), [doc, frame, nFrames]);
  const colorOf = useCallback(
    (trackId: string) => TRACK_COLORS[Math.max(doc.tracks.findIndex((t) => t.id === trackId), 0) % TRACK_COLORS.length]!,
    [doc],
  );
  const [comment, setComment] = useState("");
  const [notes, setNotes] = useState<ReviewNote[]>([]);
  /** The track a note will be pinned to (its index), or null for the whole frame. */
  const [trackIndex, setTrackIndex] = useState<number | null>(null);
  const selectedId = trackIndex === null ? null : (doc.tracks[trackIndex]?.id ?? null);
  const trackName = (index: number) => `${doc.tracks[index]?.label ?? "track"} box ${index + 1}`;
  const me = useCurrentUser();
  const holder = assignment.review_holder ?? null;
  const heldByMe = holder !== null && holder === me.username;

  function pinNote() {
    const text = comment.trim();
    if (!text) return;
    setNotes((list) => [...list, { frame, track: trackIndex, text }]);
    setComment("");
  }

  function selectTrack(trackId: string | null) {
    const index = doc.tracks.findIndex((t) => t.id === trackId);
    setTrackIndex(index < 0 ? null : index);
  }
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    function onKey(event: KeyboardEvent) {
      if (isTypingTarget(event.target)) return;
      const action = actionFor(event);
      const moves: Partial<Record<string, () => void>> = {
        prevFrame: () => step(-1),
        nextFrame: () => step(1),
        back10: () => step(-10),
        forward10: () => step(10),
        firstFrame: () => goTo(0),
        lastFrame: () => goTo(nFrames - 1),
        playPause: togglePlay,
      };
      const run = action ? moves[action] : undefined;
      if (!run || (event.key === " " && (event.target as HTMLElement | null)?.closest?.("button"))) return;
      event.preventDefault();
      run();
    }
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [step, goTo, togglePlay, nFrames]);

  async function decide(decision: "accept" | "reject", event?: FormEvent) {
    event?.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await reviewAssignment(assignment.id, decision, comment, decision === "reject" ? notes : []);
      const fresh = await fetchAssignment(assignment.id);
      onReviewed(fresh);
      navigate("/annotate/review", { state: { message: `${decision === "accept" ? "Accepted" : "Sent back"}: ${video.title}` } });
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  }

  /** Give this one back to the review queue and open the next (someone else's turn for it). */
  async function skip() {
    setBusy(true);
    setError(null);
    try {
      await releaseReview(assignment.id);
      const next = await requestNextReview(assignment.project.id);
      const other = next.assignment && next.assignment.id !== assignment.id ? next.assignment : null;
      if (other) navigate(`/annotate/review/${other.id}`);
      else navigate("/annotate/review", { state: { message: `Skipped: ${video.title}. Nothing else is waiting in this project.` } });
    } catch (e) {
      setError(errorMessage(e));
      setBusy(false);
    }
  }

  const canReview = assignment.status === "submitted";
  return (
    <section className="page annotate-wide" data-testid="review-page">
      <div className="ws-header">
        <div>
          <h1 className="ws-title">
            Review <span className="badge badge--label">{assignment.label}</span>
          </h1>
          <p className="muted small">
            {assignment.project.name} · {video.title} · by {assignment.annotator ?? "import"} · {assignment.status}
          </p>
        </div>
        <div className="ws-header__actions">
          {heldByMe && canReview && (
            <button type="button" className="button button--ghost" onClick={() => void skip()} disabled={busy} data-testid="review-skip">
              Skip
            </button>
          )}
          <Link to="/annotate/review" className="button button--ghost">
            Review queue
          </Link>
        </div>
      </div>
      {canReview && holder !== null && (
        <p className={`review-lease small${heldByMe ? "" : " review-lease--other"}`} data-testid="review-lease" role="status">
          {heldByMe
            ? `Reserved for you until ${new Date(assignment.review_lease_expires_at!).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}: nobody else gets it from the queue meanwhile.`
            : `${holder} took this one from the review queue and is reviewing it now; their decision comes first.`}
        </p>
      )}
      <div className="ws">
        <div className="ws__main">
          <Stage
            videoUrl={assignment.video_url}
            width={video.width ?? 1}
            height={video.height ?? 1}
            boxes={boxes}
            selectedId={selectedId}
            colorOf={colorOf}
            videoRef={player.videoRef}
            onVideoEvent={player.onVideoEvent}
            onSelect={selectTrack}
          />
          <div className="transport">
            <button type="button" className="icon-button" onClick={() => step(-1)} aria-label="Previous frame">
              ‹
            </button>
            <button type="button" className="icon-button" onClick={togglePlay} aria-label={player.playing ? "Pause" : "Play"}>
              {player.playing ? "❚❚" : "▶"}
            </button>
            <button type="button" className="icon-button" onClick={() => step(1)} aria-label="Next frame">
              ›
            </button>
            <span className="transport__frame" data-testid="frame-indicator" data-frame={frame}>
              Frame <strong>{frame + 1}</strong> / {nFrames} · {formatSeconds(timestamps[frame] ?? 0)}
            </span>
          </div>
          <Timeline
            timestamps={timestamps}
            duration={video.duration ?? 0}
            frame={frame}
            keyframes={doc.tracks.flatMap((t) => t.keyframes.map((k) => k.frame))}
            segments={doc.segments}
            pending={null}
            primaryLabel={assignment.label}
            onSeek={goTo}
          />
        </div>
        <aside className="ws__side">
          <div className="ws-panel">
            <h2>Annotation</h2>
            <p className="small">
              {doc.tracks.length} track{doc.tracks.length === 1 ? "" : "s"},{" "}
              {doc.tracks.reduce((n, t) => n + t.keyframes.length, 0)} keyframes
            </p>
            <ul className="segment-list small">
              {doc.segments.map((s) => (
                <li key={`${s.kind}-${s.label}-${s.start}`} data-testid="segment-item" data-label={s.label}>
                  {s.kind === "visual" ? "Event" : "Sound"} “{s.label}”: {formatSeconds(s.start)} – {formatSeconds(s.end)}
                </li>
              ))}
              {doc.segments.length === 0 && <li className="muted">No "when" segments.</li>}
            </ul>
          </div>
          <form className="ws-panel" onSubmit={(e) => void decide("reject", e)}>
            <h2>Decision</h2>
            {!canReview && <p className="small muted">This annotation is {assignment.status}; only submitted ones can be reviewed.</p>}
            {assignment.review_comment && (
              <p className="small">
                Last comment: <em>{assignment.review_comment}</em>
              </p>
            )}
            <div className="field">
              <label htmlFor="review-comment">Comment for the annotator</label>
              <textarea
                id="review-comment"
                rows={3}
                value={comment}
                onChange={(e) => setComment(e.target.value)}
                placeholder="Needed to send it back: say what to fix."
                data-testid="review-comment-input"
              />
            </div>
            <div className="field">
              <label htmlFor="note-track">Pin to</label>
              <select
                id="note-track"
                value={trackIndex ?? ""}
                onChange={(e) => setTrackIndex(e.target.value === "" ? null : Number(e.target.value))}
                data-testid="note-track"
              >
                <option value="">the whole frame</option>
                {doc.tracks.map((t, index) => (
                  <option key={t.id} value={index}>
                    {trackName(index)}
                    {boxes.some((b) => b.trackId === t.id) ? "" : " (no box on this frame)"}
                  </option>
                ))}
              </select>
            </div>
            <p className="small muted">Click a box in the video to pick its track.</p>
            <button
              type="button"
              className="button button--ghost button--small"
              onClick={pinNote}
              disabled={!canReview || !comment.trim()}
              data-testid="pin-note"
            >
              Pin to frame {frame + 1}
              {trackIndex !== null ? ` · ${trackName(trackIndex)}` : ""}
            </button>
            {notes.length > 0 && (
              <ul className="review-notes small" data-testid="pinned-notes">
                {notes.map((note, index) => (
                  <li key={index} data-testid="pinned-note" data-frame={note.frame} data-track={note.track ?? ""}>
                    <button
                      type="button"
                      className="link-button"
                      onClick={() => {
                        goTo(note.frame);
                        setTrackIndex(note.track);
                      }}
                    >
                      Frame {note.frame + 1}
                      {note.track !== null ? ` · ${trackName(note.track)}` : ""}
                    </button>
                    : {note.text}{" "}
                    <button
                      type="button"
                      className="link-button link-button--danger"
                      onClick={() => setNotes((list) => list.filter((_, i) => i !== index))}
                    >
                      remove
                    </button>
                  </li>
                ))}
              </ul>
            )}
            {error && (
              <p className="form-error small" role="alert">
                {error}
              </p>
            )}
            <div className="ws-actions__row">
              <button
                type="button"
                className="button button--primary"
                disabled={!canReview || busy}
                onClick={() => void decide("accept")}
                data-testid="accept"
              >
                Accept
              </button>
              <button type="submit" className="button button--danger" disabled={!canReview || busy} data-testid="reject">
                Send back
              </button>
            </div>
          </form>
        </aside>
      </div>
    </section>
  );
}
