import { api, ensureCsrfToken } from "./client";
import { ApiError, NETWORK_ERROR_MESSAGE, isCsrfFailure } from "./errors";
import type { paths } from "./schema";

/** The signed-in user, as GET /api/v1/auth/me/ returns it. */
export type CurrentUser =
  paths["/api/v1/auth/me/"]["get"]["responses"][200]["content"]["application/json"];

type LoginBody = NonNullable<
  paths["/api/v1/auth/login/"]["post"]["requestBody"]
>["content"]["application/json"];

async function call<T>(
  request: () => Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<{ data: T | undefined; response: Response }> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await request();
  } catch (cause) {
    throw new ApiError(0, null, NETWORK_ERROR_MESSAGE, { cause });
  }
  if (!result.response.ok) {
    throw new ApiError(result.response.status, result.error ?? null);
  }
  return { data: result.data, response: result.response };
}

/** The current user, or null when nobody is signed in. */
export async function fetchCurrentUser(): Promise<CurrentUser | null> {
  try {
    const { data } = await call(() => api.GET("/api/v1/auth/me/"));
    return data ?? null;
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
      return null;
    }
    throw error;
  }
}

export async function login(credentials: LoginBody): Promise<CurrentUser> {
  const attempt = () => call(() => api.POST("/api/v1/auth/login/", { body: credentials }));
  let result;
  try {
    result = await attempt();
  } catch (error) {
    // A stale CSRF cookie: fetch a fresh one and try once more.
    if (!isCsrfFailure(error)) throw error;
    await ensureCsrfToken(true);
    result = await attempt();
  }
  if (!result.data) {
    throw new ApiError(result.response.status, null, "The server sent an unexpected answer. Try again.");
  }
  return result.data;
}

export async function logout(): Promise<void> {
  await call(() => api.POST("/api/v1/auth/logout/"));
}
