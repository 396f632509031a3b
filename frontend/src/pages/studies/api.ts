/**
 * The studies API, typed from the generated schema: the designer side (researchers, session
 * auth) and the participant side (anonymous; the opaque session token in X-Study-Session).
 */
import { api } from "../../api/client";
import { unwrap } from "../../api/errors";
import type { paths } from "../../api/schema";

type Json<T> = T extends { content: { "application/json": infer B } } ? B : never;

export type Stage = Json<paths["/api/v1/participate/state/"]["get"]["responses"][200]>;
export type ParticipantTrial = Json<paths["/api/v1/participate/trial/"]["get"]["responses"][200]>;
export type ParticipantStimulus = ParticipantTrial["stimuli"][number];
export type AnswerBody = NonNullable<
  paths["/api/v1/participate/answer/"]["post"]["requestBody"]
>["content"]["application/json"];
export type AnswerResult = Json<paths["/api/v1/participate/answer/"]["post"]["responses"][200]>;
export type Study = Json<paths["/api/v1/studies/{id}/"]["get"]["responses"][200]>;
export type StudyInput = NonNullable<
  paths["/api/v1/studies/"]["post"]["requestBody"]
>["content"]["application/json"];
export type Stimulus = Json<paths["/api/v1/studies/{id}/stimuli/"]["get"]["responses"][200]>[number];

export const SESSION_HEADER = "X-Study-Session";


// --- Participant ---------------------------------------------------------------------------

export function startSession(
  slug: string,
  params: Record<string, string>,
): Promise<Stage & { session?: string }> {
  const viewport = { width: window.innerWidth, height: window.innerHeight };
  return unwrap(() =>
    api.POST("/api/v1/participate/start/{slug}/", {
      params: { path: { slug } },
      body: { params, viewport },
    }),
  );
}

const auth = (token: string) => ({ headers: { [SESSION_HEADER]: token } });

export function getState(token: string): Promise<Stage> {
  return unwrap(() => api.GET("/api/v1/participate/state/", auth(token)));
}

export function giveConsent(token: string, agree: boolean): Promise<Stage> {
  return unwrap(() =>
    api.POST("/api/v1/participate/consent/", { body: { agree }, ...auth(token) }),
  );
}

export function finishInstructions(token: string): Promise<Stage> {
  return unwrap(() => api.POST("/api/v1/participate/instructions/", auth(token)));
}

export function getTrial(token: string): Promise<ParticipantTrial> {
  return unwrap(() => api.GET("/api/v1/participate/trial/", auth(token)));
}

export function returnStudy(token: string): Promise<Stage> {
  return unwrap(() => api.POST("/api/v1/participate/return/", auth(token)));
}

export function sendAnswer(token: string, body: AnswerBody): Promise<AnswerResult> {
  return unwrap(() => api.POST("/api/v1/participate/answer/", { body, ...auth(token) }));
}

// --- Designer -------------------------------------------------------------------------------

export function listStudies(): Promise<Study[]> {
  return unwrap(() => api.GET("/api/v1/studies/"));
}

export function getStudy(id: number): Promise<Study> {
  return unwrap(() => api.GET("/api/v1/studies/{id}/", { params: { path: { id } } }));
}

export function createStudy(body: StudyInput): Promise<Study> {
  return unwrap(() => api.POST("/api/v1/studies/", { body }));
}

export function updateStudy(id: number, body: Partial<StudyInput>): Promise<Study> {
  return unwrap(() =>
    api.PATCH("/api/v1/studies/{id}/", { params: { path: { id } }, body }),
  );
}

export function listStimuli(id: number): Promise<Stimulus[]> {
  return unwrap(() => api.GET("/api/v1/studies/{id}/stimuli/", { params: { path: { id } } }));
}

/** Add explanations as stimuli; ``allowSparse`` also takes maps lit on only a few frames. */
export function addStimuli(id: number, explanations: number[], allowSparse = false): Promise<Stimulus[]> {
  return unwrap(() =>
    api.POST("/api/v1/studies/{id}/stimuli/", {
      params: { path: { id } },
      body: { explanations, allow_sparse: allowSparse },
    }),
  );
}

export function previewLink(id: number): Promise<{ link: string }> {
  return unwrap(() => api.POST("/api/v1/studies/{id}/preview/", { params: { path: { id } } }));
}

export function trialPreview(id: number, kind: string): Promise<ParticipantTrial> {
  return unwrap(() =>
    api.GET("/api/v1/studies/{id}/trial-preview/", {
      params: { path: { id }, query: { kind: kind as ParticipantTrial["kind"] } },
    }),
  );
}

export interface Interval {
  method: string;
  n: number;
  ci_low: number | null;
  ci_high: number | null;
}

export interface StudyReport {
  participants: {
    started: number;
    completed: number;
    screened_out: number;
    returned: number;
    excluded_for_checks: number;
  };
  responses: { total: number; kept: number; excluded: Record<string, number> };
  ratings: (Interval & { mean: number | null })[];
  rating_alpha: number | null;
  pairwise: {
    methods: string[];
    scores: { method: string; score: number; ci_low: number; ci_high: number }[];
    pairs: { a: string; b: string; n: number; a_wins: number; win_rate_a: number }[];
  };
  forward: (Interval & { accuracy: number; chance: number; p_value: number })[];
  pointing: (Interval & { accuracy: number; hits: number })[];
  distinction: {
    k: number;
    chance: number;
    chance_rule: string;
    methods: (Interval & { accuracy: number; correct: number; chance: number; p_value: number })[];
  };
  calibration: {
    asked: boolean;
    overall: Calibration;
    by_kind: Record<string, Calibration>;
  };
  speeders: {
    rule: string;
    bounds_ms: Record<string, number>;
    flagged: number;
    flagged_kept: number;
    participants: string[];
  };
  /** What the analysis was computed from (absent from reports of older servers). */
  provenance?: {
    code_version: string;
    stimuli: {
      stimulus: string;
      method: string;
      explanation: number;
      model: string;
      checkpoint_hash: string;
      explanation_hash: string;
      video_hash: string;
    }[];
    stale_answers: number;
  };
}

export interface Calibration {
  n: number;
  accuracy: number | null;
  mean_confidence: number | null;
  levels: {
    confidence: number;
    n: number;
    correct: number;
    accuracy: number | null;
    ci_low: number | null;
    ci_high: number | null;
  }[];
  spearman_rho: number | null;
  p_value: number | null;
}

export async function getReport(id: number): Promise<StudyReport> {
  const data = await unwrap(() =>
    api.GET("/api/v1/studies/{id}/analysis/", { params: { path: { id } } }),
  );
  return data as unknown as StudyReport;
}

export function exportUrl(id: number, table: "responses" | "calibration" = "responses"): string {
  return table === "responses"
    ? `/api/v1/studies/${id}/export/`
    : `/api/v1/studies/${id}/export/?table=${table}`;
}
