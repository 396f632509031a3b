/** The scoring API (/api/v1/scoring/...), typed from the generated schema. */
import { api } from "../../api/client";
import { unwrap } from "../../api/errors";
import type { paths } from "../../api/schema";

type Json<T> = T extends { content: { "application/json": infer B } } ? B : never;

export type Leaderboard = Json<paths["/api/v1/scoring/leaderboards/"]["get"]["responses"][200]>;
/** A row: `not_scored` counts its clips whose class has no label or no evidence; `labels` were scored. */
export type LeaderboardRow = Leaderboard["rows"][number];
export type HumanRow = NonNullable<Leaderboard["human"]>;
export type Estimate = LeaderboardRow["spatial"];

export type Comparison = Leaderboard["comparisons"][number];
export type ClipList = Json<paths["/api/v1/scoring/leaderboards/clips/"]["get"]["responses"][200]>;
/**
 * One clip of a row: `label` is the annotation label whose evidence was scored, `class_name` the
 * class explained, `not_scored` why the clip is not scored ("" when it is).
 */
export type Clip = ClipList["clips"][number];
export type ProjectSummary = Json<
  paths["/api/v1/annotation/projects/"]["get"]["responses"][200]
>[number];

export interface BoardQuery {
  project: number;
  dataset?: number;
  model?: number;
}


export function listProjects(): Promise<ProjectSummary[]> {
  return unwrap(() => api.GET("/api/v1/annotation/projects/"));
}

export function getLeaderboard(query: BoardQuery): Promise<Leaderboard> {
  return unwrap(() => api.GET("/api/v1/scoring/leaderboards/", { params: { query } }));
}

export function getClips(query: BoardQuery, row: string): Promise<ClipList> {
  return unwrap(() =>
    api.GET("/api/v1/scoring/leaderboards/clips/", { params: { query: { ...query, row } } }),
  );
}

/** Where the browser downloads the table (the same query as the page). */
export function exportUrl(query: BoardQuery, kind: "csv" | "json", what: "leaderboards" | "scores" = "leaderboards"): string {
  const params = new URLSearchParams({ project: String(query.project) });
  if (query.dataset) params.set("dataset", String(query.dataset));
  if (query.model) params.set("model", String(query.model));
  return `/api/v1/scoring/${what}/export.${kind}?${params.toString()}`;
}
