/** Calls to the annotation API (/api/v1/annotation/...), typed from the generated schema. */
import { api, CSRF_HEADER_NAME, ensureCsrfToken } from "../../api/client";
import { ApiError, NETWORK_ERROR_MESSAGE, unwrap } from "../../api/errors";
import type { paths } from "../../api/schema";

type Ok<T> = T extends { responses: { 200: { content: { "application/json": infer R } } } }
  ? R
  : T extends { responses: { 201: { content: { "application/json": infer R } } } }
    ? R
    : never;
type Body<T> = T extends { requestBody?: { content: { "application/json": infer B } } } ? B : never;

export type AssignmentDetail = Ok<paths["/api/v1/annotation/assignments/{id}/"]["get"]>;
/** How a submitted gold item compared with its known answer (null unless the project shows it). */
export type GoldFeedback = NonNullable<AssignmentDetail["gold_feedback"]>;
export type AssignmentRow = Ok<paths["/api/v1/annotation/assignments/"]["get"]>["results"][number];
export type AssignmentStatus = AssignmentRow["status"];
export type QueueProject = Ok<paths["/api/v1/annotation/queue/"]["get"]>[number];
export type NextTask = Ok<paths["/api/v1/annotation/queue/next/"]["post"]>;
/** A project; `class_map` says which label each model class is scored against. */
export type Project = Ok<paths["/api/v1/annotation/projects/{id}/"]["get"]>;
/** Model class name -> annotation label (null: the class is not scored in this project). */
export type ClassMap = NonNullable<Project["class_map"]>;
/** A registered model's classes against a project's labels (a class's label null: not scored). */
export type ClassMapView = Ok<paths["/api/v1/annotation/projects/{id}/class-map/"]["get"]>;
export type ClassChoice = ClassMapView["classes"][number];
export type ProjectInput = Body<paths["/api/v1/annotation/projects/"]["post"]>;
export type TaskRow = Ok<paths["/api/v1/annotation/tasks/"]["get"]>["results"][number];
export type Quality = Ok<paths["/api/v1/annotation/projects/{id}/quality/"]["get"]>;
export type DraftBody = Body<paths["/api/v1/annotation/assignments/{id}/draft/"]["put"]>;
export type DraftSaved = Ok<paths["/api/v1/annotation/assignments/{id}/draft/"]["put"]>;
export type AddVideosBody = Body<paths["/api/v1/annotation/projects/{id}/videos/"]["post"]>;


const byId = (id: number) => ({ params: { path: { id } } });

/**
 * A JSON PATCH by plain fetch (with the CSRF header): the generated request type of a partial
 * update marks fields with defaults as required, so a body of one field does not fit it.
 */
async function patchJson<T>(url: string, body: unknown): Promise<T> {
  const token = await ensureCsrfToken();
  let response: Response;
  try {
    response = await globalThis.fetch(new URL(url, window.location.origin), {
      method: "PATCH",
      credentials: "same-origin",
      headers: {
        Accept: "application/json",
        "Content-Type": "application/json",
        ...(token ? { [CSRF_HEADER_NAME]: token } : {}),
      },
      body: JSON.stringify(body),
    });
  } catch (cause) {
    throw new ApiError(0, null, NETWORK_ERROR_MESSAGE, { cause });
  }
  const data: unknown = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data as T;
}

// --- annotators --------------------------------------------------------------------------

export function fetchQueue() {
  return unwrap(api.GET("/api/v1/annotation/queue/"));
}

export function requestNextTask(project?: number | null) {
  return unwrap(api.POST("/api/v1/annotation/queue/next/", { body: { project: project ?? null } }));
}

export async function fetchAssignments(query: { status?: AssignmentStatus; project?: number } = {}) {
  const page = await unwrap(api.GET("/api/v1/annotation/assignments/", { params: { query } }));
  return page.results;
}

export function fetchAssignment(id: number) {
  return unwrap(api.GET("/api/v1/annotation/assignments/{id}/", byId(id)));
}

export function resumeAssignment(id: number) {
  return unwrap(api.POST("/api/v1/annotation/assignments/{id}/resume/", byId(id)));
}

export function releaseAssignment(id: number) {
  return unwrap(api.POST("/api/v1/annotation/assignments/{id}/release/", byId(id)));
}

export function saveDraft(id: number, body: DraftBody) {
  return unwrap(api.PUT("/api/v1/annotation/assignments/{id}/draft/", { ...byId(id), body }));
}

export function submitAssignment(id: number, body: DraftBody) {
  return unwrap(api.POST("/api/v1/annotation/assignments/{id}/submit/", { ...byId(id), body }));
}

// --- reviewers --------------------------------------------------------------------------

/** A reviewer's note pinned to a frame (and a track, by its index, or null). */
export interface ReviewNote {
  frame: number;
  track: number | null;
  text: string;
}

/** Take the next submission to review (the one you hold first); `assignment` is null when none waits. */
export function requestNextReview(project?: number | null) {
  return unwrap(api.POST("/api/v1/annotation/review-queue/next/", { body: { project: project ?? null } }));
}

/** Give a submission you took from the review queue back to it. */
export function releaseReview(id: number) {
  return unwrap(api.POST("/api/v1/annotation/assignments/{id}/release-review/", byId(id)));
}

export function reviewAssignment(id: number, decision: "accept" | "reject", comment: string, notes: ReviewNote[] = []) {
  return unwrap(api.POST("/api/v1/annotation/assignments/{id}/review/", { ...byId(id), body: { decision, comment, notes } }));
}

// --- researchers ------------------------------------------------------------------------

export function fetchProjects() {
  return unwrap(api.GET("/api/v1/annotation/projects/"));
}

export function fetchProject(id: number) {
  return unwrap(api.GET("/api/v1/annotation/projects/{id}/", byId(id)));
}

/** How the classes of registered model `model` map to the project's labels. */
export function fetchClassMap(projectId: number, model: number): Promise<ClassMapView> {
  return unwrap(
    api.GET("/api/v1/annotation/projects/{id}/class-map/", { params: { path: { id: projectId }, query: { model } } }),
  );
}

/** Replace the project's class map (every model's entries: send the whole map). */
export function updateClassMap(projectId: number, classMap: ClassMap): Promise<Project> {
  return patchJson(`/api/v1/annotation/projects/${projectId}/`, { class_map: classMap });
}

export function createProject(body: ProjectInput) {
  return unwrap(api.POST("/api/v1/annotation/projects/", { body }));
}

export function addVideos(id: number, body: AddVideosBody) {
  return unwrap(api.POST("/api/v1/annotation/projects/{id}/videos/", { ...byId(id), body }));
}

export async function fetchTasks(project: number) {
  const page = await unwrap(api.GET("/api/v1/annotation/tasks/", { params: { query: { project } } }));
  return page.results;
}

export function fetchQuality(id: number) {
  return unwrap(api.GET("/api/v1/annotation/projects/{id}/quality/", byId(id)));
}

export function requestMoreAnnotators(taskId: number) {
  return unwrap(api.POST("/api/v1/annotation/tasks/{id}/more-annotators/", { ...byId(taskId), body: { count: 1 } }));
}

export function exportUrl(projectId: number, type: "coco" | "csv" | "cvat", source = "consensus"): string {
  return `/api/v1/annotation/projects/${projectId}/export/?type=${type}&source=${source}`;
}

export function groundTruthUrl(taskId: number): string {
  return `/api/v1/annotation/tasks/${taskId}/ground-truth/`;
}

/** Upload a CVAT for video 1.1 file (multipart, so plain fetch with the CSRF header). */
export async function importCvat(projectId: number, file: File, video: number, target: "ground_truth" | "gold") {
  const form = new FormData();
  form.append("file", file);
  form.append("video", String(video));
  form.append("target", target);
  const token = await ensureCsrfToken();
  let response: Response;
  try {
    response = await globalThis.fetch(`/api/v1/annotation/projects/${projectId}/import/`, {
      method: "POST",
      body: form,
      credentials: "same-origin",
      headers: { Accept: "application/json", ...(token ? { [CSRF_HEADER_NAME]: token } : {}) },
    });
  } catch (cause) {
    throw new ApiError(0, null, NETWORK_ERROR_MESSAGE, { cause });
  }
  const body: unknown = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

// --- assisted tracking ------------------------------------------------------------------

export type TrackingRun = Ok<paths["/api/v1/annotation/tracking/{id}/"]["get"]>;
export type TrackRequest = Body<paths["/api/v1/annotation/tracking/"]["post"]>;

/** Start a tracking run: short ones come back done, long ones queued (poll `fetchTracking`). */
export function startTracking(body: TrackRequest): Promise<TrackingRun> {
  return unwrap(api.POST("/api/v1/annotation/tracking/", { body })) as Promise<TrackingRun>;
}

export function fetchTracking(id: number) {
  return unwrap(api.GET("/api/v1/annotation/tracking/{id}/", byId(id)));
}

export function cancelTracking(id: number) {
  return unwrap(api.POST("/api/v1/annotation/tracking/{id}/cancel/", byId(id)));
}
