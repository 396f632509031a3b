import { useCallback, useEffect, useRef, useState, type DragEvent } from "react";
import { Link } from "react-router";
import { errorMessage } from "../../api/errors";
import { getUploadLimits, uploadVideo, type UploadLimits, type Video } from "../../api/videos";
import { formatBytes } from "./format";

type Phase = "waiting" | "uploading" | "done" | "duplicate" | "error";

interface UploadItem {
  key: number;
  file: File;
  phase: Phase;
  progress: number;
  message?: string;
  video?: Video;
}

const ACCEPT = "video/*,.mp4,.m4v,.mov,.webm,.mkv,.avi,.mpg,.mpeg,.wmv,.flv,.3gp,.ts,.mts,.ogv";

interface UploadPanelProps {
  /** Called after each accepted upload, so the list can refresh. */
  onUploaded?: (video: Video) => void;
}

/** Drag-and-drop (or pick) video files; each uploads with its own progress bar. */
export function UploadPanel({ onUploaded }: UploadPanelProps) {
  const [items, setItems] = useState<UploadItem[]>([]);
  const [dragging, setDragging] = useState(false);
  const [label, setLabel] = useState("");
  const [split, setSplit] = useState("");
  const [limits, setLimits] = useState<UploadLimits | null>(null);
  const nextKey = useRef(1);
  const running = useRef(false);
  const itemsRef = useRef<UploadItem[]>([]);
  const fieldsRef = useRef({ label: "", split: "" });
  useEffect(() => {
    fieldsRef.current = { label, split };
  }, [label, split]);

  useEffect(() => {
    let active = true;
    getUploadLimits()
      .then((value) => active && setLimits(value))
      .catch(() => undefined); // the server checks the limit anyway
    return () => {
      active = false;
    };
  }, []);

  const update = useCallback((key: number, patch: Partial<UploadItem>) => {
    itemsRef.current = itemsRef.current.map((item) => (item.key === key ? { ...item, ...patch } : item));
    setItems(itemsRef.current);
  }, []);

  const pump = useCallback(async () => {
    if (running.current) return;
    running.current = true;
    try {
      for (;;) {
        const next = itemsRef.current.find((item) => item.phase === "waiting");
        if (!next) break;
        update(next.key, { phase: "uploading", progress: 0 });
        try {
          const result = await uploadVideo(next.file, {
            fields: fieldsRef.current,
            onProgress: (fraction) => update(next.key, { progress: fraction }),
          });
          update(next.key, {
            phase: result.created ? "done" : "duplicate",
            progress: 1,
            video: result.video,
            message: result.created ? "Uploaded; processing starts shortly." : "Already in your library.",
          });
          onUploaded?.(result.video);
        } catch (error) {
          update(next.key, { phase: "error", message: errorMessage(error) });
        }
      }
    } finally {
      running.current = false;
    }
  }, [onUploaded, update]);

  function addFiles(files: FileList | File[] | null) {
    if (!files) return;
    const added: UploadItem[] = Array.from(files).map((file) => {
      const key = nextKey.current++;
      if (file.size === 0) return { key, file, phase: "error", progress: 0, message: "The file is empty (0 bytes)." };
      if (limits && file.size > limits.max_upload_bytes) {
        return {
          key,
          file,
          phase: "error",
          progress: 0,
          message: `The file is larger than the upload limit of ${formatBytes(limits.max_upload_bytes)}.`,
        };
      }
      return { key, file, phase: "waiting", progress: 0 };
    });
    itemsRef.current = [...itemsRef.current, ...added];
    setItems(itemsRef.current);
    void pump();
  }

  function onDrop(event: DragEvent<HTMLDivElement>) {
    event.preventDefault();
    setDragging(false);
    addFiles(event.dataTransfer?.files ?? null);
  }

  function clearFinished() {
    itemsRef.current = itemsRef.current.filter((item) => item.phase === "waiting" || item.phase === "uploading");
    setItems(itemsRef.current);
  }

  const finished = items.some((item) => item.phase !== "waiting" && item.phase !== "uploading");

  return (
    <section className="card upload-panel" aria-labelledby="upload-title" data-testid="upload-panel">
      <div className="card__header">
        <h2 id="upload-title">Upload videos</h2>
        {finished && (
          <button type="button" className="button button--ghost" onClick={clearFinished}>
            Clear finished
          </button>
        )}
      </div>
      <div
        className={`dropzone${dragging ? " dropzone--active" : ""}`}
        data-testid="dropzone"
        onDragEnter={(event) => {
          event.preventDefault();
          setDragging(true);
        }}
        onDragOver={(event) => event.preventDefault()}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        <p>Drop video files here, or</p>
        <label className="button button--primary dropzone__pick">
          Choose video files
          <input
            type="file"
            multiple
            accept={ACCEPT}
            className="visually-hidden"
            data-testid="upload-input"
            onChange={(event) => {
              addFiles(event.target.files);
              event.target.value = "";
            }}
          />
        </label>
        <p className="muted small">
          MP4, MOV, WebM, AVI, MKV and more
          {limits ? `, up to ${formatBytes(limits.max_upload_bytes)} each` : ""}. The same file twice is kept once.
        </p>
      </div>
      <div className="upload-fields">
        <div className="field">
          <label htmlFor="upload-label">Label for new uploads</label>
          <input id="upload-label" value={label} onChange={(e) => setLabel(e.target.value)} placeholder="optional" />
        </div>
        <div className="field">
          <label htmlFor="upload-split">Split</label>
          <select id="upload-split" value={split} onChange={(e) => setSplit(e.target.value)}>
            <option value="">none</option>
            <option value="train">train</option>
            <option value="val">val</option>
            <option value="test">test</option>
          </select>
        </div>
      </div>
      {items.length > 0 && (
        <ul className="upload-list" aria-label="Uploads">
          {items.map((item) => (
            <li key={item.key} className={`upload-item upload-item--${item.phase}`} data-testid="upload-item" data-phase={item.phase}>
              <div className="upload-item__head">
                <span className="upload-item__name" title={item.file.name}>
                  {item.file.name}
                </span>
                <span className="muted small">{formatBytes(item.file.size)}</span>
              </div>
              {(item.phase === "uploading" || item.phase === "waiting") && (
                <progress
                  className="upload-item__bar"
                  max={1}
                  value={item.progress}
                  aria-label={`Uploading ${item.file.name}`}
                  data-testid="upload-progress"
                />
              )}
              <div className="upload-item__status small" role={item.phase === "error" ? "alert" : "status"}>
                {item.phase === "waiting" && "Waiting…"}
                {item.phase === "uploading" && `Uploading… ${Math.round(item.progress * 100)}%`}
                {item.phase !== "waiting" && item.phase !== "uploading" && item.message}
                {item.video && (
                  <>
                    {" "}
                    <Link to={`/library/${item.video.id}`}>Open</Link>
                  </>
                )}
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
