import { vi } from "vitest";

export type Handler = (request: Request) => Response | Promise<Response>;

export function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

export function noContent(): Response {
  return new Response(null, { status: 204 });
}

/** A CSRF endpoint that sets the cookie the way Django's would. */
export function csrfEndpoint(token = "test-csrf-token"): Handler {
  return () => {
    document.cookie = `csrftoken=${token}; path=/`;
    return noContent();
  };
}

/**
 * Replaces the global fetch with one that answers from `routes`, keyed
 * "METHOD /path/". Unknown routes answer 404. Every request is recorded.
 */
export function mockFetch(routes: Record<string, Handler>) {
  const requests: Request[] = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(input, init);
    requests.push(request.clone());
    const key = `${request.method} ${new URL(request.url).pathname}`;
    const handler = routes[key];
    if (!handler) return json(404, { detail: "Not found." });
    return handler(request);
  });
  vi.stubGlobal("fetch", fetchMock);
  return {
    fetchMock,
    requests,
    /** Requests made to one route, in order. */
    requestsTo(method: string, path: string) {
      return requests.filter((r) => r.method === method && new URL(r.url).pathname === path);
    },
  };
}
