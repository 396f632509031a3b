import type { Video, VideoList } from "../api/videos";

export function makeVideo(overrides: Partial<Video> = {}): Video {
  const id = overrides.id ?? 1;
  return {
    id,
    title: `clip ${id}`,
    original_name: `clip ${id}.mp4`,
    label: "",
    split: "",
    datasets: [],
    owner: "researcher1",
    status: "ready",
    error: "",
    progress: 1,
    size_bytes: 123456,
    content_hash: "ab".repeat(32),
    duration: 2,
    fps: 10,
    variable_frame_rate: false,
    frame_count: 20,
    width: 160,
    height: 120,
    rotation: 0,
    video_codec: "h264",
    audio_codec: "aac",
    has_audio: true,
    stream_url: `/api/v1/videos/${id}/stream/`,
    poster_url: `/api/v1/videos/${id}/poster/`,
    sprite_url: `/api/v1/videos/${id}/sprite/`,
    original_url: `/api/v1/videos/${id}/original/`,
    sprite: { count: 20, columns: 10, rows: 2, tile_width: 160, tile_height: 120, times: [0, 0.1, 0.2] },
    created_at: "2026-01-02T03:04:05Z",
    updated_at: "2026-01-02T03:04:05Z",
    ...overrides,
  } as Video;
}

export function page(results: Video[], count = results.length): VideoList {
  return { count, next: null, previous: null, results };
}
