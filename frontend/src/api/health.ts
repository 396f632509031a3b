/**
 * GET /healthz: a plain Django view outside /api/v1, so it is not part of the
 * OpenAPI schema and its shape is written out here. It answers 200 when every
 * check passes and 503 (same body) when any fails.
 */
import { ApiError, NETWORK_ERROR_MESSAGE } from "./errors";

export const WORKER_QUEUES = ["default", "media", "gpu"] as const;

export interface HealthCheck {
  ok: boolean;
  detail: string;
}

export interface WorkersCheck extends HealthCheck {
  /** Queue name → hostnames of the workers consuming it. */
  queues: Record<string, string[]>;
}

export interface HealthReport {
  status: "ok" | "degraded";
  checks: {
    database: HealthCheck;
    broker: HealthCheck;
    workers: WorkersCheck;
  };
}

function asCheck(value: unknown): HealthCheck {
  const v = (value ?? {}) as Record<string, unknown>;
  return {
    ok: v.ok === true,
    detail: typeof v.detail === "string" ? v.detail : v.ok === true ? "" : "No information reported.",
  };
}

function asQueues(value: unknown): Record<string, string[]> {
  const queues: Record<string, string[]> = {};
  for (const name of WORKER_QUEUES) queues[name] = [];
  if (value && typeof value === "object") {
    for (const [name, hosts] of Object.entries(value as Record<string, unknown>)) {
      queues[name] = Array.isArray(hosts) ? hosts.filter((h): h is string => typeof h === "string") : [];
    }
  }
  return queues;
}

/** Reads a /healthz body defensively: a missing check counts as failing. */
export function parseHealthReport(body: unknown): HealthReport {
  const root = (body ?? {}) as Record<string, unknown>;
  const checks = (root.checks ?? {}) as Record<string, unknown>;
  const workers = (checks.workers ?? {}) as Record<string, unknown>;
  const report: HealthReport = {
    status: root.status === "ok" ? "ok" : "degraded",
    checks: {
      database: asCheck(checks.database),
      broker: asCheck(checks.broker),
      workers: { ...asCheck(workers), queues: asQueues(workers.queues) },
    },
  };
  const allOk = Object.values(report.checks).every((c) => c.ok);
  if (!allOk) report.status = "degraded";
  return report;
}

export async function fetchHealth(): Promise<HealthReport> {
  let response: Response;
  try {
    response = await globalThis.fetch(
      new Request(new URL("/healthz", window.location.origin), {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        cache: "no-store",
      }),
    );
  } catch (cause) {
    throw new ApiError(0, null, NETWORK_ERROR_MESSAGE, { cause });
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if ((response.ok || response.status === 503) && body && typeof body === "object" && "checks" in body) {
    return parseHealthReport(body);
  }
  throw new ApiError(
    response.status,
    body,
    `The status check did not answer as expected (error ${response.status}).`,
  );
}
