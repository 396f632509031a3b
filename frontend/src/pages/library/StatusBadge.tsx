import { STATUS_LABELS, type Video } from "../../api/videos";

/** Status of a video, with its progress while processing. */
export function VideoStatusBadge({ video }: { video: Pick<Video, "status" | "progress"> }) {
  const percent = Math.round((video.progress ?? 0) * 100);
  return (
    <span
      className={`video-status video-status--${video.status}`}
      data-testid="video-status"
      data-status={video.status}
    >
      {STATUS_LABELS[video.status]}
      {video.status === "processing" && <span className="video-status__progress"> {percent}%</span>}
    </span>
  );
}
