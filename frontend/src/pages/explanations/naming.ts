/**
 * What the review player's list calls an explanation: the name a person gave it, else the
 * method and the model; then the parameters that differ from the method's defaults and when it
 * was requested, so several runs of the same method on the same video can be told apart.
 */
import { methodLabel } from "./format";

export interface NamedExplanation {
  method: string;
  label?: string | null;
  name?: string | null;
  params?: Record<string, unknown> | null;
  model?: { name: string } | null;
  created_at?: string | null;
  target?: number | null;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** `key=value` for each parameter whose value is not the method's default. */
export function changedParams(
  params: Record<string, unknown> | null | undefined,
  defaults: Record<string, unknown> | null | undefined,
): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(params ?? {})) {
    if (defaults && key in defaults && same(defaults[key], value)) continue;
    out.push(`${key}=${typeof value === "object" ? JSON.stringify(value) : String(value)}`);
  }
  return out.sort();
}

/** "20:04" today, "3 Dec 20:04" on another day (the browser's time zone). */
export function requestedAt(iso: string | null | undefined, now: Date = new Date()): string {
  if (!iso) return "";
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return "";
  const time = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  if (when.toDateString() === now.toDateString()) return time;
  return `${when.toLocaleDateString([], { day: "numeric", month: "short" })} ${time}`;
}

export function explanationName(
  e: NamedExplanation,
  defaults: Record<string, unknown> | null | undefined,
  now: Date = new Date(),
): { title: string; details: string } {
  const automatic = [methodLabel(e.method), e.model?.name ?? e.label ?? "imported"].join(" · ");
  const given = (e.name ?? "").trim();
  const title = given || automatic;
  const changed = changedParams(e.params, defaults);
  const parts = [
    given ? automatic : "",
    changed.length ? changed.join(", ") : "default parameters",
    e.target != null ? `class ${e.target}` : "",
    requestedAt(e.created_at, now) ? `requested ${requestedAt(e.created_at, now)}` : "",
  ].filter(Boolean);
  return { title, details: parts.join(" · ") };
}
