import { useCallback, useEffect, useRef, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { useCurrentUser } from "../../auth/AuthContext";
import { errorMessage } from "../../api/errors";
import {
  isBusy,
  listLabels,
  listVideos,
  STATUS_LABELS,
  VIDEO_STATUSES,
  type LabelCount,
  type VideoList,
  type VideoStatus,
} from "../../api/videos";
import { useDocumentTitle } from "../../components/useDocumentTitle";
import { formatBytes, formatDuration } from "./format";
import { VideoStatusBadge } from "./StatusBadge";
import { UploadPanel } from "./UploadPanel";

export const PAGE_SIZE = 12;
export const POLL_MS = 2000;

type ListState =
  | { kind: "loading" }
  | { kind: "loaded"; data: VideoList }
  | { kind: "failed"; message: string };

/** The library: upload, search, filter and page through videos; live status while processing. */
export function LibraryListPage() {
  useDocumentTitle("Library");
  const user = useCurrentUser();
  const canUpload = user.role === "researcher";
  const [params, setParams] = useSearchParams();
  const search = params.get("search") ?? "";
  const label = params.get("label") ?? "";
  const status = params.get("status") ?? "";
  const page = Math.max(1, Number(params.get("page") ?? "1") || 1);
  const [searchText, setSearchText] = useState(search);
  const [state, setState] = useState<ListState>({ kind: "loading" });
  const [labels, setLabels] = useState<LabelCount[]>([]);
  const [reloads, setReloads] = useState(0);
  const latest = useRef(0);

  const fetchPage = useCallback(async (): Promise<ListState> => {
    try {
      const data = await listVideos({
        search,
        label,
        status: (status || undefined) as VideoStatus | undefined,
        page,
        page_size: PAGE_SIZE,
      });
      return { kind: "loaded", data };
    } catch (error) {
      return { kind: "failed", message: errorMessage(error) };
    }
  }, [search, label, status, page]);

  // Load on every change of filters, page or uploads; the newest answer wins.
  const load = useCallback(() => {
    const ticket = ++latest.current;
    void fetchPage().then((next) => {
      if (ticket === latest.current) setState(next);
    });
  }, [fetchPage]);

  useEffect(() => {
    const ticket = ++latest.current;
    fetchPage().then((next) => {
      if (ticket === latest.current) setState(next);
    });
  }, [fetchPage, reloads]);

  useEffect(() => {
    listLabels()
      .then(setLabels)
      .catch(() => setLabels([]));
  }, [reloads]);

  // Poll while anything shown is still being processed.
  const busy = state.kind === "loaded" && state.data.results.some(isBusy);
  useEffect(() => {
    if (!busy) return undefined;
    const timer = window.setInterval(load, POLL_MS);
    return () => window.clearInterval(timer);
  }, [busy, load]);

  function setFilter(name: string, value: string) {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    next.delete("page");
    setParams(next);
  }

  function goToPage(number: number) {
    const next = new URLSearchParams(params);
    if (number > 1) next.set("page", String(number));
    else next.delete("page");
    setParams(next);
  }

  const onUploaded = useCallback(() => setReloads((n) => n + 1), []);
  const filtered = Boolean(search || label || status);
  const total = state.kind === "loaded" ? state.data.count : 0;
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));

  return (
    <section className="page library">
      <h1>Library</h1>
      {canUpload && <UploadPanel onUploaded={onUploaded} />}

      <form
        className="library-filters"
        role="search"
        onSubmit={(event) => {
          event.preventDefault();
          setFilter("search", searchText.trim());
        }}
      >
        <div className="field">
          <label htmlFor="library-search">Search</label>
          <input
            id="library-search"
            type="search"
            value={searchText}
            placeholder="Title, file name or label"
            onChange={(event) => setSearchText(event.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor="library-label">Label</label>
          <select id="library-label" value={label} onChange={(event) => setFilter("label", event.target.value)}>
            <option value="">All labels</option>
            {labels.map((item) => (
              <option key={item.label} value={item.label}>
                {item.label} ({item.count})
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="library-status">Status</label>
          <select id="library-status" value={status} onChange={(event) => setFilter("status", event.target.value)}>
            <option value="">Any status</option>
            {VIDEO_STATUSES.map((value) => (
              <option key={value} value={value}>
                {STATUS_LABELS[value]}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" className="button">
          Search
        </button>
      </form>

      {state.kind === "loading" && (
        <p className="muted" role="status">
          Loading videos…
        </p>
      )}
      {state.kind === "failed" && (
        <div className="banner banner--error" role="alert" data-testid="library-error">
          {state.message}
        </div>
      )}
      {state.kind === "loaded" && state.data.results.length === 0 && (
        <div className="empty-state" data-testid="empty-state">
          <p className="empty-state__message">
            {filtered ? "No videos match these filters." : "Library — videos will appear here once uploaded."}
          </p>
          {!filtered && <p className="muted">Drop video files above, or import a folder with manage.py import_videos.</p>}
        </div>
      )}
      {state.kind === "loaded" && state.data.results.length > 0 && (
        <>
          <p className="muted small" data-testid="library-count">
            {total} video{total === 1 ? "" : "s"}
          </p>
          <ul className="video-grid" aria-label="Videos">
            {state.data.results.map((video) => (
              <li key={video.id} className="video-card" data-testid="video-card" data-video-id={video.id}>
                <Link to={`/library/${video.id}`} className="video-card__link">
                  <span className="video-card__thumb">
                    {video.poster_url ? (
                      <img src={video.poster_url} alt="" loading="lazy" />
                    ) : (
                      <span className="video-card__placeholder" aria-hidden="true">
                        ▶
                      </span>
                    )}
                  </span>
                  <span className="video-card__title">{video.title}</span>
                </Link>
                <span className="video-card__meta small">
                  <VideoStatusBadge video={video} />
                  <span className="muted">
                    {video.status === "ready" ? formatDuration(video.duration) : formatBytes(video.size_bytes)}
                  </span>
                  {video.label && <span className="badge">{video.label}</span>}
                </span>
                {video.status === "failed" && <span className="video-card__error small">{video.error}</span>}
              </li>
            ))}
          </ul>
          {pages > 1 && (
            <nav className="pagination" aria-label="Pages">
              <button type="button" className="button" disabled={page <= 1} onClick={() => goToPage(page - 1)}>
                Previous
              </button>
              <span data-testid="page-indicator">
                Page {page} of {pages}
              </span>
              <button type="button" className="button" disabled={page >= pages} onClick={() => goToPage(page + 1)}>
                Next
              </button>
            </nav>
          )}
        </>
      )}
    </section>
  );
}
