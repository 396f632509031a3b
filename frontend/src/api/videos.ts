/**
 * The video library API: typed calls through the generated client, and uploads through
 * XMLHttpRequest (fetch cannot report upload progress).
 */
import { api, CSRF_HEADER_NAME, ensureCsrfToken } from "./client";
import { ApiError, NETWORK_ERROR_MESSAGE, unwrap } from "./errors";
import type { paths } from "./schema";

export type Video =
  paths["/api/v1/videos/{id}/"]["get"]["responses"][200]["content"]["application/json"];
export type VideoList =
  paths["/api/v1/videos/"]["get"]["responses"][200]["content"]["application/json"];
export type VideoListQuery = NonNullable<paths["/api/v1/videos/"]["get"]["parameters"]["query"]>;
export type VideoStatus = Video["status"];
export type LabelCount =
  paths["/api/v1/videos/labels/"]["get"]["responses"][200]["content"]["application/json"][number];
export type UploadLimits =
  paths["/api/v1/videos/limits/"]["get"]["responses"][200]["content"]["application/json"];
type VideoPatch = NonNullable<
  paths["/api/v1/videos/{id}/"]["patch"]["requestBody"]
>["content"]["application/json"];

export const VIDEO_STATUSES: readonly VideoStatus[] = ["uploaded", "processing", "ready", "failed"];
export const STATUS_LABELS: Record<VideoStatus, string> = {
  uploaded: "Waiting",
  processing: "Processing",
  ready: "Ready",
  failed: "Failed",
};

/** True while the server is still working on the video (the page should poll). */
export function isBusy(video: Pick<Video, "status">): boolean {
  return video.status === "uploaded" || video.status === "processing";
}


export function listVideos(query: VideoListQuery = {}): Promise<VideoList> {
  const clean = Object.fromEntries(
    Object.entries(query).filter(([, value]) => value !== undefined && value !== ""),
  ) as VideoListQuery;
  return unwrap(() => api.GET("/api/v1/videos/", { params: { query: clean } }));
}

export function getVideo(id: number): Promise<Video> {
  return unwrap(() => api.GET("/api/v1/videos/{id}/", { params: { path: { id } } }));
}

export function updateVideo(id: number, body: VideoPatch): Promise<Video> {
  return unwrap(() => api.PATCH("/api/v1/videos/{id}/", { params: { path: { id } }, body }));
}

export async function deleteVideo(id: number): Promise<void> {
  await unwrap(() => api.DELETE("/api/v1/videos/{id}/", { params: { path: { id } } }));
}

export function reprocessVideo(id: number): Promise<Video> {
  return unwrap(() => api.POST("/api/v1/videos/{id}/reprocess/", { params: { path: { id } } }));
}

export function listLabels(): Promise<LabelCount[]> {
  return unwrap(() => api.GET("/api/v1/videos/labels/"));
}

export function getUploadLimits(): Promise<UploadLimits> {
  return unwrap(() => api.GET("/api/v1/videos/limits/"));
}

export interface UploadResult {
  video: Video;
  /** False when the same content was already in the library (the server answered 200). */
  created: boolean;
}

export interface UploadOptions {
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
  fields?: Record<string, string>;
}

export const UPLOAD_URL = "/api/v1/videos/";

function parseJson(text: string): unknown {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** Upload one file (multipart field `file`), reporting progress as bytes leave the browser. */
export async function uploadVideo(file: File, options: UploadOptions = {}): Promise<UploadResult> {
  const token = await ensureCsrfToken();
  const form = new FormData();
  form.append("file", file, file.name);
  for (const [key, value] of Object.entries(options.fields ?? {})) {
    if (value) form.append(key, value);
  }
  return new Promise<UploadResult>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", UPLOAD_URL);
    xhr.withCredentials = true;
    xhr.setRequestHeader("Accept", "application/json");
    if (token) xhr.setRequestHeader(CSRF_HEADER_NAME, token);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable && event.total > 0) options.onProgress?.(event.loaded / event.total);
    };
    xhr.onload = () => {
      const body = parseJson(xhr.responseText);
      if (xhr.status === 200 || xhr.status === 201) {
        options.onProgress?.(1);
        resolve({ video: body as Video, created: xhr.status === 201 });
      } else {
        reject(new ApiError(xhr.status, body));
      }
    };
    xhr.onerror = () => reject(new ApiError(0, null, NETWORK_ERROR_MESSAGE));
    xhr.onabort = () => reject(new ApiError(0, null, "The upload was cancelled."));
    if (options.signal) {
      if (options.signal.aborted) {
        reject(new ApiError(0, null, "The upload was cancelled."));
        return;
      }
      options.signal.addEventListener("abort", () => xhr.abort(), { once: true });
    }
    xhr.send(form);
  });
}
