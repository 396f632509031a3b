import { useCallback, useEffect, useRef, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { useCurrentUser } from "../../auth/AuthContext";
import { ApiError, errorMessage } from "../../api/errors";
import { deleteVideo, getVideo, isBusy, reprocessVideo, type Video } from "../../api/videos";
import { useDocumentTitle } from "../../components/useDocumentTitle";
import { formatBytes, formatDuration, formatRate } from "./format";
import { POLL_MS } from "./LibraryListPage";
import { SpriteScrubber } from "./SpriteScrubber";
import { VideoStatusBadge } from "./StatusBadge";

type PageState =
  | { kind: "loading" }
  | { kind: "loaded"; video: Video }
  | { kind: "missing" }
  | { kind: "failed"; message: string };

function Row({ label, children, id }: { label: string; children: React.ReactNode; id: string }) {
  return (
    <tr data-testid={`meta-${id}`}>
      <th scope="row">{label}</th>
      <td>{children}</td>
    </tr>
  );
}

/** One video: the player with a scrubbing timeline, what probing found, and its actions. */
export function VideoPage() {
  const { videoId } = useParams();
  const id = Number(videoId);
  const user = useCurrentUser();
  const navigate = useNavigate();
  const [state, setState] = useState<PageState>({ kind: "loading" });
  const [confirming, setConfirming] = useState(false);
  const [working, setWorking] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);
  const player = useRef<HTMLVideoElement>(null);
  useDocumentTitle(state.kind === "loaded" ? (state.video.title ?? "Video") : "Video");

  const fetchVideo = useCallback(async (): Promise<PageState> => {
    if (!Number.isInteger(id) || id < 1) return { kind: "missing" };
    try {
      return { kind: "loaded", video: await getVideo(id) };
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return { kind: "missing" };
      return { kind: "failed", message: errorMessage(error) };
    }
  }, [id]);

  const load = useCallback(() => {
    void fetchVideo().then(setState);
  }, [fetchVideo]);

  useEffect(() => {
    let active = true;
    fetchVideo().then((next) => {
      if (active) setState(next);
    });
    return () => {
      active = false;
    };
  }, [fetchVideo]);

  const busy = state.kind === "loaded" && isBusy(state.video);
  useEffect(() => {
    if (!busy) return undefined;
    const timer = window.setInterval(load, POLL_MS);
    return () => window.clearInterval(timer);
  }, [busy, load]);

  if (state.kind === "loading") {
    return (
      <section className="page">
        <p className="muted" role="status">
          Loading video…
        </p>
      </section>
    );
  }
  if (state.kind === "missing" || state.kind === "failed") {
    return (
      <section className="page">
        <h1>Video</h1>
        <div className="notice notice--warning" role="alert" data-testid="video-missing">
          <p>{state.kind === "missing" ? "There is no video here, or it is not visible to you." : state.message}</p>
        </div>
        <Link to="/library">Back to the library</Link>
      </section>
    );
  }

  const video = state.video;
  const owner = video.owner === user.username;

  async function remove() {
    setWorking(true);
    setActionError(null);
    try {
      await deleteVideo(video.id);
      navigate("/library", { replace: true });
    } catch (error) {
      setActionError(`Could not delete the video. ${errorMessage(error)}`);
      setWorking(false);
    }
  }

  async function retry() {
    setWorking(true);
    setActionError(null);
    try {
      setState({ kind: "loaded", video: await reprocessVideo(video.id) });
    } catch (error) {
      setActionError(errorMessage(error));
    } finally {
      setWorking(false);
    }
  }

  return (
    <section className="page video-page" data-testid="video-page" data-video-id={video.id}>
      <p className="small">
        <Link to="/library">← Library</Link>
      </p>
      <div className="video-page__header">
        <h1>{video.title}</h1>
        <VideoStatusBadge video={video} />
      </div>

      {video.status === "ready" && video.stream_url ? (
        <div className="player">
          <video
            ref={player}
            controls
            preload="metadata"
            src={video.stream_url}
            poster={video.poster_url ?? undefined}
            data-testid="player"
            width={video.width ?? undefined}
            height={video.height ?? undefined}
          />
          <SpriteScrubber
            video={video}
            onSeek={(seconds) => {
              if (player.current) player.current.currentTime = seconds;
            }}
          />
        </div>
      ) : (
        <div className={`notice${video.status === "failed" ? " notice--warning" : ""}`} data-testid="video-processing">
          {video.status === "failed" ? (
            <p role="alert" data-testid="video-error">
              <strong>Processing failed.</strong> {video.error}
            </p>
          ) : (
            <>
              <p role="status">
                {video.status === "uploaded" ? "Waiting for a media worker…" : "Preparing the video for playback…"}
                {video.error && <span className="muted"> {video.error}</span>}
              </p>
              <progress max={1} value={video.progress} aria-label="Processing progress" />
            </>
          )}
        </div>
      )}

      {actionError && (
        <div className="banner banner--error" role="alert">
          {actionError}
        </div>
      )}

      <div className="video-page__body">
        <table className="table video-meta">
          <caption className="visually-hidden">Video details</caption>
          <tbody>
            <Row id="file" label="File">
              {video.original_name} ({formatBytes(video.size_bytes)})
            </Row>
            <Row id="duration" label="Duration">
              {formatDuration(video.duration)}
            </Row>
            <Row id="frames" label="Frames">
              {video.frame_count ?? "—"} at {formatRate(video.fps)}
              {video.variable_frame_rate && <span className="badge"> variable frame rate</span>}
            </Row>
            <Row id="size" label="Size">
              {video.width && video.height ? `${video.width} × ${video.height} px` : "—"}
              {video.rotation ? ` (rotated ${video.rotation}°)` : ""}
            </Row>
            <Row id="codecs" label="Codecs">
              {video.video_codec || "—"}
              {video.has_audio ? ` + ${video.audio_codec || "audio"}` : " (no audio)"}
            </Row>
            <Row id="label" label="Label">
              {video.label || "—"}
              {video.split && <span className="muted"> · {video.split}</span>}
            </Row>
            {video.datasets.length > 0 && (
              <Row id="datasets" label="Datasets">
                {video.datasets.join(", ")}
              </Row>
            )}
            <Row id="owner" label="Owner">
              {video.owner}
            </Row>
            <Row id="uploaded" label="Uploaded">
              <time dateTime={video.created_at}>{new Date(video.created_at).toLocaleString()}</time>
            </Row>
            <Row id="hash" label="SHA-256">
              <code className="small">{video.content_hash}</code>
            </Row>
          </tbody>
        </table>

        {video.status === "ready" && (
          <p>
            <Link className="button" to={`/explanations/review/${video.id}`} data-testid="review-explanations">
              Review explanations
            </Link>
          </p>
        )}

        {owner && (
          <div className="video-actions">
            {video.status === "failed" && (
              <button type="button" className="button" onClick={retry} disabled={working}>
                Try again
              </button>
            )}
            <a className="button button--ghost" href={video.original_url} download>
              Download original
            </a>
            {!confirming ? (
              <button type="button" className="button button--danger" onClick={() => setConfirming(true)} disabled={working}>
                Delete video
              </button>
            ) : (
              <div className="confirm" role="alertdialog" aria-labelledby="confirm-delete-text" data-testid="confirm-delete">
                <p id="confirm-delete-text">
                  Delete “{video.title}” and all of its files? This cannot be undone.
                </p>
                <button type="button" className="button button--danger" onClick={remove} disabled={working}>
                  Delete permanently
                </button>
                <button type="button" className="button button--ghost" onClick={() => setConfirming(false)} disabled={working}>
                  Cancel
                </button>
              </div>
            )}
          </div>
        )}
      </div>
    </section>
  );
}
