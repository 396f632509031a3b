/**
 * The annotator's workspace for one assignment: boxes on keyframes ("where"),
 * segments for the event and its sound ("when"), autosaved, then submitted.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { ApiError, errorMessage } from "../../api/errors";
import { useDocumentTitle } from "../../components/useDocumentTitle";
import {
  fetchAssignment,
  releaseAssignment,
  requestNextTask,
  resumeAssignment,
  submitAssignment,
  type AssignmentDetail,
  type GoldFeedback,
} from "./api";
import { dragBox, MIN_BOX_SIZE, type Part } from "./geometry";
import { GoldFeedbackDialog } from "./GoldFeedbackDialog";
import { formatSeconds, segmentBounds } from "./frames";
import { HelpOverlay } from "./HelpOverlay";
import { canRedo, canUndo, commit, redo, start, undo, type History } from "./history";
import {
  neighbourKeyframe,
  setKeyframe,
  holdsAt,
  shapeAt,
  toggleHold,
  toggleKeyframe,
  toggleOccluded,
  toggleOutside,
  visibleBoxes,
} from "./interpolation";
import { actionFor, isTypingTarget, type Action } from "./keymap";
import { Markdown } from "./Markdown";
import { fromApi, newTrackId, toApi, type AnnotationDoc, type Box, type SegmentKind, type Track } from "./model";
import { addSegment, removeSegment } from "./segments";
import { Stage, TRACK_COLORS } from "./Stage";
import { Timeline } from "./Timeline";
import { discardTracked, framesToSegmentEnd, mergeTracked, trackedRun, type Direction } from "./tracking";
import { useTracking, type TrackingOutcome } from "./useTracking";
import { useAutosave, type SaveStatus } from "./useAutosave";
import { usePlayer } from "./usePlayer";

type LoadState =
  | { kind: "ready"; id: number; assignment: AssignmentDetail }
  | { kind: "failed"; id: number; message: string };

/** Route /annotate/assignments/:id for annotators. */
export function WorkspacePage() {
  const { assignmentId } = useParams();
  const id = Number(assignmentId);
  const [state, setState] = useState<LoadState | null>(null);

  useEffect(() => {
    let active = true;
    (async () => {
      let assignment = await fetchAssignment(id);
      const leaseOver =
        assignment.status === "in_progress" &&
        (!assignment.lease_expires_at || new Date(assignment.lease_expires_at).getTime() <= Date.now());
      if (assignment.status === "rejected" || assignment.status === "expired" || leaseOver) {
        assignment = await resumeAssignment(id);
      }
      return assignment;
    })()
      .then((assignment) => active && setState({ kind: "ready", id, assignment }))
      .catch((error: unknown) => active && setState({ kind: "failed", id, message: errorMessage(error) }));
    return () => {
      active = false;
    };
  }, [id]);

  if (!Number.isInteger(id)) return <Failed message="There is no such task." />;
  if (state === null || state.id !== id) {
    return (
      <section className="page" role="status" data-testid="workspace-loading">
        <span className="spinner" aria-hidden="true" /> Loading the task…
      </section>
    );
  }
  if (state.kind === "failed") return <Failed message={state.message} />;
  return <Editor key={state.assignment.id} assignment={state.assignment} />;
}

function Failed({ message }: { message: string }) {
  useDocumentTitle("Task unavailable");
  return (
    <section className="page">
      <h1>Task unavailable</h1>
      <div className="notice notice--warning" role="alert" data-testid="workspace-error">
        <p>{message}</p>
      </div>
      <Link to="/annotate" className="button button--ghost">
        Back to your tasks
      </Link>
    </section>
  );
}

const ownKeyframes = (track: Track) => track.keyframes.filter((k) => !k.tracked).length;
const trackedCount = (track: Track) => track.keyframes.length - ownKeyframes(track);

const SAVE_TEXT: Record<SaveStatus, string> = {
  saved: "All changes saved",
  pending: "Unsaved changes…",
  saving: "Saving…",
  error: "Not saved",
  blocked: "Not saved",
};

function Editor({ assignment }: { assignment: AssignmentDetail }) {
  const navigate = useNavigate();
  const video = assignment.video;
  const timestamps = video.frame_timestamps;
  const duration = video.duration ?? 0;
  const width = video.width ?? 1;
  const height = video.height ?? 1;
  const editable = assignment.status === "in_progress";
  useDocumentTitle(`Annotate: ${video.title}`);

  const player = usePlayer(timestamps, duration);
  const { frame, nFrames, goTo, step, togglePlay } = player;
  const [history, setHistory] = useState<History<AnnotationDoc>>(() =>
    start(fromApi(assignment.submitted_at && !editable ? assignment.annotation : assignment.draft, assignment.label)),
  );
  const doc = history.present;
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [newLabel, setNewLabel] = useState(assignment.label);
  const [pending, setPending] = useState<{ kind: SegmentKind; frame: number; label: string } | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [helpOpen, setHelpOpen] = useState(false);
  const [submitting, setSubmitting] = useState(false);
  const [submitError, setSubmitError] = useState<string | null>(null);
  const [feedback, setFeedback] = useState<GoldFeedback | null>(null);
  const [trackSpan, setTrackSpan] = useState("segment");
  const [proposal, setProposal] = useState<{ trackId: string; frames: number[] } | null>(null);
  const docRef = useRef(doc);
  useEffect(() => {
    docRef.current = doc;
  }, [doc]);
  const autosave = useAutosave(assignment.id, assignment.version, doc, editable, assignment.lease_expires_at ?? null);

  const colors = useMemo(() => {
    const map = new Map<string, string>();
    doc.tracks.forEach((track, index) => map.set(track.id, TRACK_COLORS[index % TRACK_COLORS.length]!));
    return map;
  }, [doc.tracks]);
  const colorOf = useCallback((trackId: string) => colors.get(trackId) ?? TRACK_COLORS[0]!, [colors]);
  const boxes = useMemo(() => visibleBoxes(doc, frame, nFrames), [doc, frame, nFrames]);
  const selected = doc.tracks.find((t) => t.id === selectedId) ?? null;

  const edit = useCallback((change: (doc: AnnotationDoc) => AnnotationDoc) => {
    setHistory((h) => commit(h, change(h.present)));
  }, []);

  const editTrack = useCallback(
    (trackId: string, change: (track: Track) => Track | null) => {
      edit((d) => ({ ...d, tracks: d.tracks.flatMap((t) => (t.id === trackId ? (change(t) ?? []) : [t])) }));
    },
    [edit],
  );

  function say(text: string | null) {
    setNotice(text);
  }

  function takeProposals(outcome: TrackingOutcome) {
    const track = docRef.current.tracks.find((t) => t.id === outcome.trackId);
    if (outcome.status === "failed") return say(`Tracking failed: ${outcome.error}`);
    if (!track) return;
    const merged = mergeTracked(track, outcome.boxes, outcome.start, outcome.direction);
    if (merged.frames.length) {
      edit((d) => ({ ...d, tracks: d.tracks.map((t) => (t.id === track.id ? merged.track : t)) }));
    }
    setProposal(merged.frames.length ? { trackId: track.id, frames: merged.frames } : null);
    const lost = outcome.lostAt !== null ? ` The tracker lost the object on frame ${outcome.lostAt + 1}.` : "";
    const stopped = outcome.status === "cancelled" ? " Tracking was cancelled." : "";
    say(
      merged.frames.length
        ? `Tracked ${merged.frames.length} frame${merged.frames.length === 1 ? "" : "s"}.${lost}${stopped} Accept, correct a box (it becomes a keyframe and tracking runs again from it) or discard.`
        : `The tracker found nothing to add.${lost}${stopped}`,
    );
  }

  const tracker = useTracking(assignment.id, takeProposals);

  function trackFrom(direction: Direction) {
    if (!selected) return say("Select a box first (click it).");
    const shape = shapeAt(selected, frame, nFrames);
    if (!shape || shape.outside) return say("The selected box is not on this frame.");
    const toEnd = framesToSegmentEnd(selected, frame, direction, nFrames);
    const count = trackSpan === "segment" ? toEnd : Math.min(Number(trackSpan), direction === "forward" ? nFrames - 1 - frame : frame);
    if (count < 1) return say(direction === "forward" ? "Nothing to track after this frame." : "Nothing to track before this frame.");
    say(`Tracking ${direction} over ${count} frame${count === 1 ? "" : "s"}…`);
    void tracker.run(selected.id, frame, shape.box, direction, count);
  }

  function acceptProposal() {
    setProposal(null);
    say("Tracked boxes kept.");
  }

  function discardProposal() {
    if (!proposal) return;
    const { trackId, frames } = proposal;
    editTrack(trackId, (t) => discardTracked(t, frames));
    setProposal(null);
    say("Tracked boxes discarded.");
  }

  function handleDraw(box: Box) {
    const track: Track = {
      id: newTrackId(),
      label: newLabel,
      keyframes: [{ frame, ...box, outside: false, occluded: false }],
    };
    edit((d) => ({ ...d, tracks: [...d.tracks, track] }));
    setSelectedId(track.id);
    say(`New box on frame ${frame + 1}. Step to another frame and move it there to add a keyframe.`);
  }

  /** A keyboard-drawn box: a third of the frame each way, in its middle. */
  function drawByKeyboard() {
    const w = Math.max(MIN_BOX_SIZE, Math.round(width / 3));
    const h = Math.max(MIN_BOX_SIZE, Math.round(height / 3));
    const x0 = Math.round((width - w) / 2);
    const y0 = Math.round((height - h) / 2);
    handleDraw({ x0, y0, x1: x0 + w, y1: y0 + h });
    say(`New box in the middle of frame ${frame + 1}: W A S D move it, Shift+W A S D size it.`);
  }

  /** Move or resize the selected box from the keyboard by a 50th of the frame. */
  function nudge(action: Action) {
    if (!selected) return say("Select a box first (N selects the next one, B draws one).");
    const shape = shapeAt(selected, frame, nFrames);
    if (!shape || shape.outside) return say("The selected box is not on this frame.");
    const dx = Math.max(1, Math.round(width / 50));
    const dy = Math.max(1, Math.round(height / 50));
    const moves: Partial<Record<Action, [Part, number, number]>> = {
      moveUp: ["move", 0, -dy],
      moveDown: ["move", 0, dy],
      moveLeft: ["move", -dx, 0],
      moveRight: ["move", dx, 0],
      shorter: ["s", 0, -dy],
      taller: ["s", 0, dy],
      narrower: ["e", -dx, 0],
      wider: ["e", dx, 0],
    };
    const move = moves[action];
    if (!move) return;
    handleChange(selected.id, dragBox(shape.box, move[0], move[1], move[2], width, height));
  }

  function handleChange(trackId: string, box: Box) {
    const track = doc.tracks.find((t) => t.id === trackId);
    const shape = track ? shapeAt(track, frame, nFrames) : null;
    if (!track || !shape?.tracked || tracker.running) {
      editTrack(trackId, (t) => setKeyframe(t, frame, box, nFrames));
      return;
    }
    // A corrected tracked box becomes a keyframe and the tracked run after it is tracked again.
    let direction: Direction = "forward";
    let run = trackedRun(track, frame, "forward");
    if (!run.length) {
      direction = "backward";
      run = trackedRun(track, frame, "backward");
    }
    editTrack(trackId, (t) => discardTracked(setKeyframe(t, frame, box, nFrames), run));
    setProposal(null);
    if (run.length) {
      say(`Corrected on frame ${frame + 1}; tracking again from here…`);
      void tracker.run(trackId, frame, box, direction, run.length);
    } else {
      say(`Corrected on frame ${frame + 1}: it is a keyframe now.`);
    }
  }

  function mark(kind: SegmentKind, edge: "in" | "out") {
    const named = (label: string) => (assignment.labels.length > 1 || label !== assignment.label ? ` "${label}"` : "");
    if (edge === "in") {
      // The segment takes the label chosen now (the label picker's, else the task's).
      const what = `${kind === "visual" ? "event" : "sound"}${named(newLabel)}`;
      setPending({ kind, frame, label: newLabel });
      say(`The ${what} starts on frame ${frame + 1}. Step to its last frame and press ${kind === "visual" ? "O" : "Shift+O"}.`);
      return;
    }
    const what = kind === "visual" ? "event" : "sound";
    if (!pending || pending.kind !== kind) {
      say(`Mark where the ${what} starts first (${kind === "visual" ? "I" : "Shift+I"}).`);
      return;
    }
    const bounds = segmentBounds(timestamps, pending.frame, frame, duration);
    if ("error" in bounds) {
      say(bounds.error);
      return;
    }
    const label = pending.label;
    edit((d) => ({ ...d, segments: addSegment(d.segments, { kind, label, ...bounds }) }));
    setPending(null);
    say(`The ${what}${named(label)} happens from ${formatSeconds(bounds.start)} to ${formatSeconds(bounds.end)}.`);
  }

  async function submitAndNext() {
    if (!editable || submitting) return;
    setSubmitting(true);
    setSubmitError(null);
    let done: AssignmentDetail;
    try {
      const version = await autosave.settle();
      const body = { ...toApi(doc), version };
      done = await submitAssignment(assignment.id, body).catch(async (error: unknown) => {
        // The lease ran out while working: take the task back if it is still free, then retry.
        if (!(error instanceof ApiError && error.status === 409 && /lease/i.test(error.message))) throw error;
        await resumeAssignment(assignment.id);
        return submitAssignment(assignment.id, body);
      });
    } catch (error) {
      setSubmitError(errorMessage(error));
      setSubmitting(false);
      return;
    }
    autosave.stop();
    if (done.gold_feedback) {
      // A gold item: show how it compared before moving on.
      setFeedback(done.gold_feedback);
      setSubmitting(false);
      return;
    }
    await goToNext();
  }

  async function goToNext() {
    try {
      const next = await requestNextTask();
      if (next.assignment) {
        navigate(`/annotate/assignments/${next.assignment.id}`);
      } else {
        navigate("/annotate", { state: { message: "Submitted. No more tasks are waiting for you right now." } });
      }
    } catch {
      navigate("/annotate", { state: { message: "Submitted." } });
    }
  }

  async function giveBack() {
    await autosave.settle();
    try {
      await releaseAssignment(assignment.id);
      autosave.stop();
      navigate("/annotate", { state: { message: "The task went back to the pool. Your draft is kept." } });
    } catch (error) {
      setSubmitError(errorMessage(error));
    }
  }

  function perform(action: Action) {
    switch (action) {
      case "prevFrame":
        return step(-1);
      case "nextFrame":
        return step(1);
      case "back10":
        return step(-10);
      case "forward10":
        return step(10);
      case "firstFrame":
        return goTo(0);
      case "lastFrame":
        return goTo(nFrames - 1);
      case "prevKeyframe":
      case "nextKeyframe": {
        if (!selected) return say("Select a box first.");
        const target = neighbourKeyframe(selected, frame, action === "nextKeyframe" ? 1 : -1);
        return target === null ? say("No more keyframes that way.") : goTo(target);
      }
      case "playPause":
        return togglePlay();
      case "help":
        return setHelpOpen((open) => !open);
      case "escape":
        if (helpOpen) return setHelpOpen(false);
        setPending(null);
        setSelectedId(null);
        return say(null);
      default:
        break;
    }
    if (!editable) return;
    switch (action) {
      case "newBox":
        return drawByKeyboard();
      case "moveUp":
      case "moveDown":
      case "moveLeft":
      case "moveRight":
      case "shorter":
      case "taller":
      case "narrower":
      case "wider":
        return nudge(action);
      case "toggleKeyframe":
        if (!selected) return say("Select a box first (click it).");
        editTrack(selected.id, (t) => toggleKeyframe(t, frame, nFrames));
        return;
      case "toggleOutside":
        if (!selected) return say("Select a box first (click it).");
        editTrack(selected.id, (t) => toggleOutside(t, frame, nFrames));
        return;
      case "toggleOccluded":
        if (!selected) return say("Select a box first (click it).");
        editTrack(selected.id, (t) => toggleOccluded(t, frame, nFrames));
        return;
      case "nextTrack": {
        if (!doc.tracks.length) return;
        const index = doc.tracks.findIndex((t) => t.id === selectedId);
        setSelectedId(doc.tracks[(index + 1) % doc.tracks.length]!.id);
        return;
      }
      case "deleteTrack":
        if (!selected) return;
        edit((d) => ({ ...d, tracks: d.tracks.filter((t) => t.id !== selected.id) }));
        setSelectedId(null);
        return;
      case "markIn":
        return mark("visual", "in");
      case "markOut":
        return mark("visual", "out");
      case "markSoundIn":
        return mark("sound", "in");
      case "markSoundOut":
        return mark("sound", "out");
      case "undo":
        return setHistory(undo);
      case "redo":
        return setHistory(redo);
      case "submit":
        void submitAndNext();
        return;
      default:
        return;
    }
  }

  // Re-subscribed on every render so the handler always sees the current state.
  useEffect(() => {
    function onKey(event: KeyboardEvent) {
      if (isTypingTarget(event.target)) return;
      const target = event.target as HTMLElement | null;
      const onControl = target?.closest?.("button, a, summary");
      if (onControl && (event.key === " " || event.key === "Enter")) return;
      const action = actionFor(event);
      if (!action) return;
      event.preventDefault();
      perform(action);
    }
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  });

  const currentTime = timestamps[frame] ?? 0;
  const selectedShape = selected ? shapeAt(selected, frame, nFrames) : null;
  const labels = assignment.labels;
  // Name each segment's label once there is more than one to tell apart.
  const showSegmentLabels = labels.length > 1 || doc.segments.some((s) => s.label !== assignment.label);
  const saveStatus: SaveStatus = editable ? autosave.status : "saved";

  return (
    <section className="page annotate-wide" data-testid="workspace" data-assignment={assignment.id}>
      <div className="ws-header">
        <div>
          <h1 className="ws-title">
            Localize <span className="badge badge--label">{assignment.label}</span>
          </h1>
          <p className="muted small">
            {assignment.project.name} · {video.title} · {nFrames} frames
          </p>
        </div>
        <div className="ws-header__actions">
          <span
            className={`save-indicator save-indicator--${saveStatus}`}
            role="status"
            data-testid="autosave-status"
            data-status={saveStatus}
            title={autosave.message ?? undefined}
          >
            {editable ? SAVE_TEXT[saveStatus] : "Submitted"}
          </span>
          <button type="button" className="button button--ghost" onClick={() => setHelpOpen(true)} data-testid="help-button">
            Keys <kbd>?</kbd>
          </button>
          {editable && (
            <button
              type="button"
              className="button button--primary"
              onClick={() => void submitAndNext()}
              disabled={submitting}
              data-testid="submit-next"
              title="Submit and go to the next task (Ctrl+Enter)"
            >
              {submitting ? "Submitting…" : "Submit and next"}
            </button>
          )}
        </div>
      </div>

      {(assignment.review_comment || (assignment.review_notes ?? []).length > 0) && (
        <div className="notice notice--warning" data-testid="review-comment">
          <p>
            <strong>Returned by the reviewer:</strong> {assignment.review_comment}
          </p>
          {(assignment.review_notes ?? []).length > 0 && (
            <ul className="review-notes" data-testid="review-notes">
              {(assignment.review_notes ?? []).map((note, index) => {
                const track = note.track === null || note.track === undefined ? null : doc.tracks[note.track];
                return (
                  <li key={index} data-testid="review-note" data-frame={note.frame} data-track={note.track ?? ""}>
                    <button
                      type="button"
                      className="link-button"
                      onClick={() => {
                        goTo(note.frame);
                        if (track) setSelectedId(track.id);
                      }}
                    >
                      Frame {note.frame + 1}
                      {track ? ` · ${track.label} box ${note.track! + 1}` : ""}
                    </button>
                    : {note.text}
                  </li>
                );
              })}
            </ul>
          )}
        </div>
      )}
      {(assignment.review_notes ?? [])
        .filter((note) => note.frame === frame)
        .map((note, index) => (
          <p key={index} className="review-note-here small" role="note" data-testid="review-note-here">
            Reviewer, on this frame
            {note.track !== null && note.track !== undefined && doc.tracks[note.track]
              ? ` (${doc.tracks[note.track]!.label} box ${note.track + 1})`
              : ""}
            : {note.text}
          </p>
        ))}
      {(autosave.status === "blocked" || autosave.status === "error") && editable && (
        <div className="notice notice--warning" role="alert" data-testid="autosave-error">
          <p>
            {autosave.message}{" "}
            {autosave.status === "blocked" && (
              <button type="button" className="button button--ghost" onClick={() => window.location.reload()}>
                Reload the task
              </button>
            )}
          </p>
        </div>
      )}
      {submitError && (
        <div className="notice notice--warning" role="alert" data-testid="submit-error">
          <p>{submitError}</p>
        </div>
      )}
      {!editable && (
        <div className="notice" data-testid="read-only-notice">
          <p>This task has been submitted ({assignment.status}); you can look at it but not change it.</p>
        </div>
      )}

      <div className="ws">
        <div className="ws__main">
          <Stage
            videoUrl={assignment.video_url}
            width={width}
            height={height}
            boxes={boxes}
            selectedId={selectedId}
            colorOf={colorOf}
            videoRef={player.videoRef}
            editable={editable}
            onDraw={handleDraw}
            onChange={handleChange}
            onSelect={setSelectedId}
            onVideoEvent={player.onVideoEvent}
          />
          {player.videoError && (
            <p className="form-error small" role="alert">
              The video could not be loaded; boxes can still be drawn on the frame numbers.
            </p>
          )}
          <div className="transport" aria-label="Playback">
            <button type="button" className="icon-button" onClick={() => goTo(0)} aria-label="First frame">
              «
            </button>
            <button type="button" className="icon-button" onClick={() => step(-1)} aria-label="Previous frame">
              ‹
            </button>
            <button type="button" className="icon-button" onClick={togglePlay} aria-label={player.playing ? "Pause" : "Play"} data-testid="play-pause">
              {player.playing ? "❚❚" : "▶"}
            </button>
            <button type="button" className="icon-button" onClick={() => step(1)} aria-label="Next frame">
              ›
            </button>
            <button type="button" className="icon-button" onClick={() => goTo(nFrames - 1)} aria-label="Last frame">
              »
            </button>
            <span className="transport__frame" data-testid="frame-indicator" data-frame={frame}>
              Frame <strong>{frame + 1}</strong> / {nFrames} · {formatSeconds(currentTime)}
            </span>
            {selected && (
              <span className="transport__state muted small" data-testid="selected-state">
                {selectedShape === null
                  ? "selected box: not on this frame"
                  : selectedShape.outside
                    ? "selected box: leaves here"
                    : selectedShape.tracked
                      ? "selected box: tracked"
                      : selectedShape.keyframe
                        ? "selected box: keyframe"
                      : "selected box: interpolated"}
              </span>
            )}
          </div>
          <Timeline
            timestamps={timestamps}
            duration={duration}
            frame={frame}
            keyframes={selected ? selected.keyframes.filter((k) => !k.tracked).map((k) => k.frame) : []}
            segments={doc.segments}
            pending={pending}
            primaryLabel={assignment.label}
            onSeek={goTo}
          />
          {tracker.running && (
            <div className="tracking-bar" role="status" data-testid="tracking-progress">
              <span className="spinner" aria-hidden="true" />
              <span className="small">
                Tracking {tracker.running.direction} from frame {tracker.running.start + 1} over {tracker.running.count} frames
              </span>
              <progress className="tracking-bar__meter" max={1} value={tracker.running.progress} aria-label="Tracking progress" />
              <button type="button" className="button button--ghost button--small" onClick={() => void tracker.cancel()} data-testid="tracking-cancel">
                Cancel
              </button>
            </div>
          )}
          {proposal && !tracker.running && editable && (
            <div className="tracking-bar tracking-bar--proposal" data-testid="tracking-proposal" data-frames={proposal.frames.join(",")}>
              <span className="small">
                <strong>{proposal.frames.length}</strong> tracked box{proposal.frames.length === 1 ? "" : "es"}, frames {proposal.frames[0]! + 1}–
                {proposal.frames[proposal.frames.length - 1]! + 1}
              </span>
              <span className="tracking-bar__actions">
                <button type="button" className="button button--primary button--small" onClick={acceptProposal} data-testid="tracking-accept">
                  Accept
                </button>
                <button type="button" className="button button--ghost button--small" onClick={discardProposal} data-testid="tracking-discard">
                  Discard
                </button>
              </span>
            </div>
          )}
          <p className="ws-notice small" role="status" aria-live="polite" data-testid="workspace-notice">
            {notice ?? "Drag on the video to draw a box (or B, then W A S D). ← → step frames (Shift: 10), I / O mark when the event starts and ends, ? shows all keys."}
          </p>
        </div>

        <aside className="ws__side" aria-label="Annotation">
          {assignment.project.instructions && (
            <details className="ws-panel" open={!doc.tracks.length && !doc.segments.length}>
              <summary>Instructions</summary>
              <Markdown source={assignment.project.instructions} />
            </details>
          )}

          <div className="ws-panel">
            <div className="ws-panel__title">
              <h2>Boxes</h2>
              {labels.length > 1 && editable && (
                <label className="small">
                  New box:{" "}
                  <select className="select select--compact" value={newLabel} onChange={(e) => setNewLabel(e.target.value)} data-testid="new-box-label">
                    {labels.map((l) => (
                      <option key={l}>{l}</option>
                    ))}
                  </select>
                </label>
              )}
            </div>
            {doc.tracks.length === 0 ? (
              <p className="muted small">No boxes yet. Drag on the video around the evidence.</p>
            ) : (
              <ul className="track-list" data-testid="track-list">
                {doc.tracks.map((track) => {
                  const shape = shapeAt(track, frame, nFrames);
                  const first = track.keyframes[0]?.frame ?? 0;
                  const active = track.id === selectedId;
                  return (
                    <li key={track.id} className={`track-item${active ? " track-item--active" : ""}`} data-testid="track-item">
                      <button type="button" className="track-item__select" onClick={() => setSelectedId(track.id)} aria-pressed={active}>
                        <span className="swatch" style={{ background: colorOf(track.id) }} aria-hidden="true" />
                        <span>
                          {track.label}
                          <span className="muted small">
                            {" "}
                            · {ownKeyframes(track)} keyframe{ownKeyframes(track) === 1 ? "" : "s"}
                            {trackedCount(track) ? ` · ${trackedCount(track)} tracked` : ""} · from frame {first + 1}
                            {shape?.keyframe ? " · keyframe here" : ""}
                          </span>
                        </span>
                      </button>
                      {active && editable && (
                        <div className="track-item__tools">
                          {labels.length > 1 && (
                            <select
                              className="select select--compact"
                              value={track.label}
                              aria-label="Label"
                              onChange={(e) => editTrack(track.id, (t) => ({ ...t, label: e.target.value }))}
                            >
                              {labels.map((l) => (
                                <option key={l}>{l}</option>
                              ))}
                            </select>
                          )}
                          <button type="button" className="button button--ghost button--small" onClick={() => perform("toggleKeyframe")}>
                            Key <kbd>K</kbd>
                          </button>
                          <button type="button" className="button button--ghost button--small" onClick={() => perform("toggleOutside")}>
                            {shape === null ? "Back" : "Leaves"} <kbd>H</kbd>
                          </button>
                          <button
                            type="button"
                            className="button button--ghost button--small"
                            onClick={() => perform("toggleOccluded")}
                            aria-pressed={shape?.occluded ?? false}
                          >
                            Hidden <kbd>Q</kbd>
                          </button>
                          <button
                            type="button"
                            className="button button--ghost button--small"
                            onClick={() => editTrack(track.id, (t) => toggleHold(t, frame))}
                            aria-pressed={holdsAt(track, frame)}
                            title="Interpolate between this segment's keyframes, or hold the box until the next one"
                            data-testid="toggle-hold"
                          >
                            {holdsAt(track, frame) ? "Hold" : "Linear"}
                          </button>
                          <button type="button" className="button button--danger button--small" onClick={() => perform("deleteTrack")}>
                            Delete
                          </button>
                          <div className="track-item__track" role="group" aria-label="Track the box">
                            <button
                              type="button"
                              className="button button--ghost button--small"
                              onClick={() => trackFrom("backward")}
                              disabled={Boolean(tracker.running)}
                              data-testid="track-backward"
                            >
                              ◀ Track
                            </button>
                            <select
                              className="select select--compact"
                              value={trackSpan}
                              aria-label="How far to track"
                              onChange={(e) => setTrackSpan(e.target.value)}
                              data-testid="track-span"
                            >
                              <option value="segment">to the next keyframe</option>
                              <option value="10">10 frames</option>
                              <option value="30">30 frames</option>
                              <option value="100">100 frames</option>
                            </select>
                            <button
                              type="button"
                              className="button button--ghost button--small"
                              onClick={() => trackFrom("forward")}
                              disabled={Boolean(tracker.running)}
                              data-testid="track-forward"
                            >
                              Track ▶
                            </button>
                          </div>
                        </div>
                      )}
                    </li>
                  );
                })}
              </ul>
            )}
          </div>

          <div className="ws-panel">
            <div className="ws-panel__title">
              <h2>When</h2>
              {labels.length > 1 && editable && (
                <div className="label-chips" role="radiogroup" aria-label="Label of new segments" data-testid="segment-label">
                  {labels.map((l) => (
                    <button
                      key={l}
                      type="button"
                      role="radio"
                      aria-checked={l === newLabel}
                      className={`label-chip${l === newLabel ? " label-chip--active" : ""}`}
                      onClick={() => setNewLabel(l)}
                    >
                      {l}
                    </button>
                  ))}
                </div>
              )}
            </div>
            {(["visual", "sound"] as const).map((kind) => {
              const list = doc.segments.map((s, index) => ({ s, index })).filter(({ s }) => s.kind === kind);
              return (
                <div key={kind} className="segment-group" data-testid={`segments-${kind}`}>
                  <div className="segment-group__head">
                    <span className="small">
                      <strong>{kind === "visual" ? "Event" : "Sound"}</strong>
                    </span>
                    {editable && (
                      <span className="segment-group__buttons">
                        <button type="button" className="button button--ghost button--small" onClick={() => mark(kind, "in")}>
                          In <kbd>{kind === "visual" ? "I" : "⇧I"}</kbd>
                        </button>
                        <button type="button" className="button button--ghost button--small" onClick={() => mark(kind, "out")}>
                          Out <kbd>{kind === "visual" ? "O" : "⇧O"}</kbd>
                        </button>
                      </span>
                    )}
                  </div>
                  {pending?.kind === kind && (
                    <p className="small muted">
                      In{showSegmentLabels ? ` (${pending.label})` : ""}: frame {pending.frame + 1}, waiting for Out…
                    </p>
                  )}
                  {list.length === 0 && pending?.kind !== kind && <p className="small muted">Not marked.</p>}
                  <ul className="segment-list">
                    {list.map(({ s, index }) => (
                      <li key={`${s.label}-${s.start}-${s.end}`} data-testid="segment-item" data-label={s.label}>
                        <span className="segment-item__what">
                          {showSegmentLabels && <span className="badge badge--segment" title={s.label}>{s.label}</span>}
                          <button type="button" className="link-button" onClick={() => goTo(timestamps.findIndex((t) => t >= s.start - 1e-9))}>
                            {formatSeconds(s.start)} – {formatSeconds(s.end)}
                          </button>
                        </span>
                        {editable && (
                          <button
                            type="button"
                            className="link-button link-button--danger"
                            aria-label={`Remove ${kind} segment${showSegmentLabels ? ` "${s.label}"` : ""}`}
                            onClick={() => edit((d) => ({ ...d, segments: removeSegment(d.segments, index) }))}
                          >
                            remove
                          </button>
                        )}
                      </li>
                    ))}
                  </ul>
                </div>
              );
            })}
          </div>

          {editable && (
            <div className="ws-panel ws-panel--actions">
              <div className="ws-actions__row">
                <button type="button" className="button button--ghost button--small" onClick={() => setHistory(undo)} disabled={!canUndo(history)} data-testid="undo">
                  Undo
                </button>
                <button type="button" className="button button--ghost button--small" onClick={() => setHistory(redo)} disabled={!canRedo(history)} data-testid="redo">
                  Redo
                </button>
                <button type="button" className="button button--ghost button--small" onClick={() => void giveBack()}>
                  Give back
                </button>
              </div>
              {autosave.leaseUntil && (
                <p className="muted small" data-testid="lease">
                  Reserved for you until {new Date(autosave.leaseUntil).toLocaleTimeString()}; saving renews it.
                </p>
              )}
            </div>
          )}
        </aside>
      </div>
      {helpOpen && <HelpOverlay onClose={() => setHelpOpen(false)} />}
      {feedback && <GoldFeedbackDialog feedback={feedback} onNext={() => void goToNext()} />}
    </section>
  );
}
