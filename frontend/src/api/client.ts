/**
 * The typed API client. Paths, parameters and bodies come from schema.d.ts,
 * which `npm run gen:api` generates from openapi.json.
 *
 * Django session auth: the browser sends the session cookie on same-origin
 * requests, and every unsafe request carries `X-CSRFToken` copied from the
 * `csrftoken` cookie (fetched from /api/v1/auth/csrf/ when it is missing).
 */
import createClient, { type Middleware } from "openapi-fetch";
import type { paths } from "./schema";

export const CSRF_COOKIE_NAME = "csrftoken";
export const CSRF_HEADER_NAME = "X-CSRFToken";
const CSRF_PATH = "/api/v1/auth/csrf/";
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);

export function readCookie(name: string): string | null {
  if (typeof document === "undefined" || !document.cookie) return null;
  for (const part of document.cookie.split(";")) {
    const eq = part.indexOf("=");
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) {
      return decodeURIComponent(part.slice(eq + 1).trim());
    }
  }
  return null;
}

function origin(): string {
  return typeof window !== "undefined" ? window.location.origin : "http://localhost";
}

let pendingCsrf: Promise<unknown> | null = null;

/**
 * The CSRF token, asking the server to set the cookie first when there is
 * none (or when `force` is set, e.g. after the server rejected a stale one).
 */
export async function ensureCsrfToken(force = false): Promise<string | null> {
  const existing = readCookie(CSRF_COOKIE_NAME);
  if (existing && !force) return existing;
  if (!pendingCsrf) {
    const request = new Request(new URL(CSRF_PATH, origin()), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    pendingCsrf = globalThis.fetch(request).finally(() => {
        pendingCsrf = null;
      });
  }
  await pendingCsrf;
  return readCookie(CSRF_COOKIE_NAME);
}

const csrfMiddleware: Middleware = {
  async onRequest({ request }) {
    if (SAFE_METHODS.has(request.method.toUpperCase())) return undefined;
    const token = await ensureCsrfToken();
    if (token) request.headers.set(CSRF_HEADER_NAME, token);
    return request;
  },
};

export const api = createClient<paths>({
  baseUrl: origin(),
  credentials: "same-origin",
  headers: { Accept: "application/json" },
  // Looked up on each call so tests can stub the global fetch.
  fetch: (request) => globalThis.fetch(request),
});
api.use(csrfMiddleware);
