/**
 * The explanations API: typed calls through the generated client (paths from schema.d.ts),
 * and the .npz import through a multipart POST.
 */
import { api, CSRF_HEADER_NAME, ensureCsrfToken } from "../../api/client";
import { ApiError, NETWORK_ERROR_MESSAGE, unwrap } from "../../api/errors";
import type { paths } from "../../api/schema";
import type { Video } from "../../api/videos";
import { isWaveform, type AudioImportance, type Waveform } from "./audio";
import type { MapPayload } from "./heatmap";

type Json<T> = T extends { content: { "application/json": infer B } } ? B : never;

export type Explanation = Json<paths["/api/v1/explanations/{id}/"]["get"]["responses"][200]>;
export type ExplanationList = Json<paths["/api/v1/explanations/"]["get"]["responses"][200]>;
export type ExplanationQuery = NonNullable<paths["/api/v1/explanations/"]["get"]["parameters"]["query"]>;
export type ExplanationStatus = Json<
  paths["/api/v1/explanations/{id}/status/"]["get"]["responses"][200]
>;
export type Accepted = Json<paths["/api/v1/explanations/"]["post"]["responses"][202]>;
export type RequestBody = NonNullable<
  paths["/api/v1/explanations/"]["post"]["requestBody"]
>["content"]["application/json"];
export type RegisteredModel = Json<paths["/api/v1/models/{id}/"]["get"]["responses"][200]>;
export type ModelList = Json<paths["/api/v1/models/"]["get"]["responses"][200]>;
export type RegisterBody = NonNullable<
  paths["/api/v1/models/"]["post"]["requestBody"]
>["content"]["application/json"];
export type Method = Json<paths["/api/v1/explanation-methods/"]["get"]["responses"][200]>[number];
export type Flag = Json<paths["/api/v1/explanations/{id}/flags/"]["get"]["responses"][200]>[number];
export type FlagBody = NonNullable<
  paths["/api/v1/explanations/{id}/flags/"]["post"]["requestBody"]
>["content"]["application/json"];
export type Export = Json<paths["/api/v1/explanation-exports/{id}/"]["get"]["responses"][200]>;
export type ExportBody = NonNullable<
  paths["/api/v1/explanations/{id}/exports/"]["post"]["requestBody"]
>["content"]["application/json"];
/**
 * The ground truth an explanation is scored against: `label` is the annotation label whose
 * evidence is scored, `class_name` the class explained, `temporal_peak` the map frame the
 * temporal pointing game takes; when `available` is false, `reason` says why.
 */
export type GroundTruth = Json<
  paths["/api/v1/explanations/{id}/ground-truth/"]["get"]["responses"][200]
>;
/**
 * One map frame's ground truth and the server's verdict: `point` is where the map points (the
 * centre of its maximal cell, taken on the float map), `frame` the annotated source frame it was
 * matched to (null: no ground truth for it), `counted` whether the pointing game counts it.
 */
export type GroundTruthFrame = GroundTruth["frames"][number];
export type BulkRun = Json<paths["/api/v1/bulk-runs/{id}/"]["get"]["responses"][200]>;
export type BulkRunList = Json<paths["/api/v1/bulk-runs/"]["get"]["responses"][200]>;
export type BulkRunBody = NonNullable<
  paths["/api/v1/bulk-runs/"]["post"]["requestBody"]
>["content"]["application/json"];

export type Status = Explanation["status"];

/** The sound part of an audio-visual explanation (null for video-only models). */
export function explanationAudio(e: Explanation): AudioImportance | null {
  const audio = e.audio;
  if (!audio || !Array.isArray(audio.importance) || !Array.isArray(audio.times)) return null;
  return audio.importance.length > 0 ? audio : null;
}

/** Whether a model hears sound as well as sees frames (it needs videos with sound). */
export function isAudioVisual(model: Pick<RegisteredModel, "modalities">): boolean {
  return (model.modalities ?? []).includes("audio");
}

/** Where a video's waveform is served (null when it has no sound or none was made). */
export function waveformUrl(video: Pick<Video, "has_audio" | "waveform_url">): string | null {
  return video.has_audio && video.waveform_url ? video.waveform_url : null;
}

const waveformCache = new Map<string, Promise<Waveform>>();

/** The waveform JSON of a video (fetched once per page load). */
export function getWaveform(url: string): Promise<Waveform> {
  const hit = waveformCache.get(url);
  if (hit) return hit;
  const pending = (async () => {
    let response: Response;
    try {
      response = await globalThis.fetch(
        new Request(new URL(url, window.location.origin), {
          credentials: "same-origin",
          headers: { Accept: "application/json" },
        }),
      );
    } catch (cause) {
      throw new ApiError(0, null, NETWORK_ERROR_MESSAGE, { cause });
    }
    const body: unknown = await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, body);
    if (!isWaveform(body)) throw new ApiError(response.status, null, "The waveform could not be read.");
    return body;
  })();
  waveformCache.set(url, pending);
  pending.catch(() => waveformCache.delete(url));
  return pending;
}

/** True while a worker still has to do something (the page should poll). */
export function isPending(status: Status | undefined): boolean {
  return status === "queued" || status === "running";
}


export function listExplanations(query: ExplanationQuery = {}): Promise<ExplanationList> {
  return unwrap(() => api.GET("/api/v1/explanations/", { params: { query } }));
}

export function getExplanation(id: number): Promise<Explanation> {
  return unwrap(() => api.GET("/api/v1/explanations/{id}/", { params: { path: { id } } }));
}

export function getStatus(id: number): Promise<ExplanationStatus> {
  return unwrap(() => api.GET("/api/v1/explanations/{id}/status/", { params: { path: { id } } }));
}

/** Longest wait asked of the status long-poll (the server holds at most 25 s). */
export const STATUS_WAIT_SECONDS = 20;

/**
 * The status long-poll (`.../status/wait/`, not in the OpenAPI schema: an async view): the
 * status as soon as it differs from `known`, or `known`'s current state after `seconds`.
 * Resolves to null when the server offers no wait right now (too many waiting clients, an
 * error, a server without the endpoint): the caller then polls the status URL instead, which
 * reports errors in words.
 */
export async function waitStatus(
  known: Pick<ExplanationStatus, "id" | "status" | "progress">,
  seconds: number = STATUS_WAIT_SECONDS,
  signal?: AbortSignal,
): Promise<ExplanationStatus | null> {
  const query = new URLSearchParams({
    status: known.status,
    progress: String(known.progress),
    timeout: String(seconds),
  });
  let response: Response;
  try {
    const url = `${window.location.origin}/api/v1/explanations/${known.id}/status/wait/?${query}`;
    response = await fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      signal,
    });
  } catch (err) {
    if (signal?.aborted) throw err;
    return null;
  }
  if (!response.ok) return null;
  return (await response.json()) as ExplanationStatus;
}

export function requestExplanation(body: RequestBody): Promise<Accepted> {
  return unwrap(() => api.POST("/api/v1/explanations/", { body }));
}

const mapCache = new Map<number, Promise<MapPayload>>();

/** The map payload (immutable once done: fetched once per page load, cached by the browser). */
export function getMap(id: number): Promise<MapPayload> {
  const hit = mapCache.get(id);
  if (hit) return hit;
  const pending = unwrap(() =>
    api.GET("/api/v1/explanations/{id}/map/", { params: { path: { id } } }),
  ) as Promise<MapPayload>;
  mapCache.set(id, pending);
  pending.catch(() => mapCache.delete(id));
  return pending;
}

export function getGroundTruth(id: number): Promise<GroundTruth> {
  return unwrap(() =>
    api.GET("/api/v1/explanations/{id}/ground-truth/", { params: { path: { id } } }),
  );
}

export function listModels(): Promise<ModelList> {
  return unwrap(() => api.GET("/api/v1/models/", { params: { query: { page: 1 } } }));
}

export function registerModel(body: RegisterBody): Promise<RegisteredModel> {
  return unwrap(() => api.POST("/api/v1/models/", { body }));
}

export function listMethods(): Promise<Method[]> {
  return unwrap(() => api.GET("/api/v1/explanation-methods/"));
}

export function listFlags(id: number): Promise<Flag[]> {
  return unwrap(() => api.GET("/api/v1/explanations/{id}/flags/", { params: { path: { id } } }));
}

export function addFlag(id: number, body: FlagBody): Promise<Flag> {
  return unwrap(() =>
    api.POST("/api/v1/explanations/{id}/flags/", { params: { path: { id } }, body }),
  );
}

/** Give an explanation a name ("" brings back the default name). */
export function renameExplanation(id: number, name: string): Promise<Explanation> {
  return unwrap(() =>
    api.PATCH("/api/v1/explanations/{id}/", { params: { path: { id } }, body: { name } }),
  );
}

export function requestExport(id: number, body: ExportBody): Promise<Export> {
  return unwrap(() =>
    api.POST("/api/v1/explanations/{id}/exports/", { params: { path: { id } }, body }),
  ) as Promise<Export>;
}

export function getExport(id: number): Promise<Export> {
  return unwrap(() => api.GET("/api/v1/explanation-exports/{id}/", { params: { path: { id } } }));
}

export function listBulkRuns(): Promise<BulkRunList> {
  return unwrap(() => api.GET("/api/v1/bulk-runs/"));
}

export function startBulkRun(body: BulkRunBody): Promise<BulkRun> {
  return unwrap(() => api.POST("/api/v1/bulk-runs/", { body }));
}

/** Import an .npz (multipart: video, method, file; optionally model and target). */
export async function importExplanation(fields: {
  video: number;
  method: string;
  file: File;
  model?: number | null;
  target?: number | null;
}): Promise<Explanation> {
  const token = await ensureCsrfToken();
  const form = new FormData();
  form.append("video", String(fields.video));
  form.append("method", fields.method);
  if (fields.model != null) form.append("model", String(fields.model));
  if (fields.target != null) form.append("target", String(fields.target));
  form.append("file", fields.file, fields.file.name);
  let response: Response;
  try {
    response = await globalThis.fetch("/api/v1/explanations/import/", {
      method: "POST",
      body: form,
      credentials: "same-origin",
      headers: { Accept: "application/json", ...(token ? { [CSRF_HEADER_NAME]: token } : {}) },
    });
  } catch (cause) {
    throw new ApiError(0, null, NETWORK_ERROR_MESSAGE, { cause });
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body);
  return body as Explanation;
}
