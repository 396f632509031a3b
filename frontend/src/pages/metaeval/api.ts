/** The meta-evaluation API (/api/v1/meta-evaluation/...), typed from the generated schema. */
import { api } from "../../api/client";
import { unwrap } from "../../api/errors";
import type { paths } from "../../api/schema";

type Json<T> = T extends { content: { "application/json": infer B } } ? B : never;

export type MetaEvaluation = Json<paths["/api/v1/meta-evaluation/"]["get"]["responses"][200]>;
export type MeasurePair = MetaEvaluation["pairs"][number];
export type StimulusPoint = MetaEvaluation["stimulus_points"][number];
export type MethodPoint = MetaEvaluation["method_points"][number];
export type StudySummary = Json<paths["/api/v1/studies/"]["get"]["responses"][200]>[number];
export type ProjectSummary = Json<
  paths["/api/v1/annotation/projects/"]["get"]["responses"][200]
>[number];

export interface MetaQuery {
  study: number;
  project: number;
  model?: number;
}

export function listStudies(): Promise<StudySummary[]> {
  return unwrap(() => api.GET("/api/v1/studies/"));
}

export function listProjects(): Promise<ProjectSummary[]> {
  return unwrap(() => api.GET("/api/v1/annotation/projects/"));
}

export function getMetaEvaluation(query: MetaQuery): Promise<MetaEvaluation> {
  return unwrap(() => api.GET("/api/v1/meta-evaluation/", { params: { query } }));
}

/** Where the browser downloads the numbers (the same query as the page). */
export function exportUrl(query: MetaQuery, kind: "csv" | "json"): string {
  const params = new URLSearchParams({ study: String(query.study), project: String(query.project) });
  if (query.model) params.set("model", String(query.model));
  return `/api/v1/meta-evaluation/export.${kind}?${params.toString()}`;
}

export type DryRun = Json<paths["/api/v1/studies/{id}/dry-runs/"]["post"]["responses"][201]>;

/** Simulated participants answer a copy of the study (the study itself is left alone). */
export function startDryRun(study: number, project: number): Promise<DryRun> {
  return unwrap(() =>
    api.POST("/api/v1/studies/{id}/dry-runs/", {
      params: { path: { id: study } },
      body: { participants: { metric: 12, random: 2, careless: 1 }, project, seed: 0 },
    }),
  );
}
