/**
 * Turning failed requests into sentences a person can act on.
 *
 * DRF answers errors as `{"detail": "..."}` or as field errors
 * `{"field": ["message", ...], "non_field_errors": [...]}`.
 */

export class ApiError extends Error {
  /** HTTP status, or 0 when the server could not be reached. */
  readonly status: number;
  readonly body: unknown;

  constructor(status: number, body: unknown, message?: string, options?: ErrorOptions) {
    super(message ?? describeErrorBody(body, status), options);
    this.name = "ApiError";
    this.status = status;
    this.body = body;
  }
}

export const NETWORK_ERROR_MESSAGE =
  "Could not reach the WhereWhen server. Check your connection and try again.";

const CSRF_ERROR_MESSAGE =
  "Your security token has expired. Reload the page and try again.";

function humanizeField(field: string): string {
  const words = field.replace(/[_-]+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function messagesOf(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(messagesOf);
  if (value && typeof value === "object") {
    return Object.entries(value as Record<string, unknown>).flatMap(([key, nested]) =>
      messagesOf(nested).map((m) => `${humanizeField(key)}: ${m}`),
    );
  }
  return [];
}

function fallbackForStatus(status: number): string {
  if (status === 0) return NETWORK_ERROR_MESSAGE;
  if (status === 401 || status === 403) return "You are not allowed to do this. Try signing in again.";
  if (status === 404) return "The requested item was not found.";
  if (status === 429) return "Too many requests. Wait a moment and try again.";
  if (status >= 500) return `The server ran into a problem (error ${status}). Try again in a moment.`;
  return `The request failed (error ${status}).`;
}

/** One readable message for a DRF error body (or anything else a server sent). */
export function describeErrorBody(body: unknown, status: number): string {
  if (body && typeof body === "object" && !Array.isArray(body)) {
    const record = body as Record<string, unknown>;
    if (typeof record.detail === "string" && record.detail.trim()) {
      if (/^CSRF Failed/i.test(record.detail)) return CSRF_ERROR_MESSAGE;
      return record.detail;
    }
    const parts: string[] = [];
    for (const [field, value] of Object.entries(record)) {
      const msgs = messagesOf(value);
      if (field === "non_field_errors" || field === "detail") parts.push(...msgs);
      else parts.push(...msgs.map((m) => `${humanizeField(field)}: ${m}`));
    }
    if (parts.length) return parts.join(" ");
  }
  if (Array.isArray(body)) {
    const msgs = messagesOf(body);
    if (msgs.length) return msgs.join(" ");
  }
  return fallbackForStatus(status);
}

/** The message to show for anything thrown by an API call. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof TypeError) return NETWORK_ERROR_MESSAGE;
  if (error instanceof Error && error.message) return error.message;
  return "Something went wrong. Try again.";
}

export function isCsrfFailure(error: unknown): boolean {
  if (!(error instanceof ApiError) || error.status !== 403) return false;
  const body = error.body as { detail?: unknown } | null;
  return typeof body?.detail === "string" && /^CSRF Failed/i.test(body.detail);
}

type ApiResult<T> = { data?: T; error?: unknown; response: Response };

/**
 * The body of a typed client call, or an ApiError: status 0 with a plain message when the
 * network failed, the server's status and error body otherwise. Takes the call's promise or a
 * function making it.
 */
export async function unwrap<T>(request: Promise<ApiResult<T>> | (() => Promise<ApiResult<T>>)): Promise<T> {
  let result: ApiResult<T>;
  try {
    result = await (typeof request === "function" ? request() : request);
  } catch (cause) {
    throw new ApiError(0, null, NETWORK_ERROR_MESSAGE, { cause });
  }
  if (!result.response.ok) throw new ApiError(result.response.status, result.error ?? null);
  return result.data as T;
}
