import { useCallback, useEffect, useState } from "react";
import { Link } from "react-router";
import { useCurrentUser } from "../../auth/AuthContext";
import { listVideos, type Video } from "../../api/videos";
import { useDocumentTitle } from "../../components/useDocumentTitle";
import {
  isPending,
  listExplanations,
  listMethods,
  listModels,
  type Explanation,
  type Method,
  type RegisteredModel,
} from "./api";
import { BulkRunsPanel } from "./BulkRunsPanel";
import { formatPercent, methodLabel, STATUS_WORDS } from "./format";
import { ImportPanel } from "./ImportPanel";
import { ModelsPanel } from "./ModelsPanel";
import { useRefreshWhenChanged } from "./usePoll";

/** The Explanations area's start page: videos to review, recent explanations, models, runs. */
export function ExplanationsHome() {
  useDocumentTitle("Explanations");
  const user = useCurrentUser();
  const researcher = user.role === "researcher";
  const [videos, setVideos] = useState<Video[]>([]);
  const [recent, setRecent] = useState<Explanation[]>([]);
  const [models, setModels] = useState<RegisteredModel[]>([]);
  const [methods, setMethods] = useState<Method[]>([]);

  const loadRecent = useCallback(async () => {
    try {
      setRecent((await listExplanations({ page: 1 })).results);
    } catch {
      /* retried on the next poll */
    }
  }, []);
  const loadModels = useCallback(async () => {
    try {
      setModels((await listModels()).results);
    } catch {
      /* shown as empty */
    }
  }, []);

  useEffect(() => {
    let active = true;
    listExplanations({ page: 1 })
      .then((page) => active && setRecent(page.results))
      .catch(() => undefined);
    listModels()
      .then((page) => active && setModels(page.results))
      .catch(() => undefined);
    listVideos({ status: "ready" })
      .then((page) => active && setVideos(page.results))
      .catch(() => undefined);
    listMethods()
      .then((got) => active && setMethods(got))
      .catch(() => undefined);
    return () => {
      active = false;
    };
  }, []);

  useRefreshWhenChanged(
    recent.filter((e) => isPending(e.status)),
    2000,
    loadRecent,
  );

  return (
    <section className="page explanations-home">
      <h1>Explanations</h1>
      <section className="card" aria-labelledby="review-heading">
        <h2 id="review-heading">Review a video</h2>
        {videos.length === 0 ? (
          <p className="muted" data-testid="empty-state">
            No ready video yet. Videos appear here once the library has processed them.
          </p>
        ) : (
          <ul className="video-links" data-testid="review-videos">
            {videos.map((v) => (
              <li key={v.id}>
                <Link to={`/explanations/review/${v.id}`} data-testid={`review-video-${v.id}`}>
                  {v.title}
                </Link>
              </li>
            ))}
          </ul>
        )}
      </section>

      <section className="card" aria-labelledby="recent-heading">
        <h2 id="recent-heading">Recent explanations</h2>
        {recent.length === 0 ? (
          <p className="muted">None yet: open a video above and request one.</p>
        ) : (
          <table className="table" data-testid="recent-explanations">
            <thead>
              <tr>
                <th scope="col">Video</th>
                <th scope="col">Method</th>
                <th scope="col">Model</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {recent.map((e) => (
                <tr key={e.id}>
                  <td>
                    <Link to={`/explanations/review/${e.video.id}?ids=${e.id}`}>{e.video.title}</Link>
                  </td>
                  <td>{methodLabel(e.method)}</td>
                  <td>{e.model?.name ?? e.label}</td>
                  <td>
                    <span className={`expl-status expl-status--${e.status}`}>
                      {STATUS_WORDS[e.status] ?? e.status}
                    </span>
                    {e.status === "running" && <> {formatPercent(e.progress)}</>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <ModelsPanel models={models} canRegister={researcher} onChange={() => void loadModels()} />
      {researcher && <BulkRunsPanel models={models} methods={methods} />}
      {researcher && <ImportPanel videos={videos} />}
    </section>
  );
}
