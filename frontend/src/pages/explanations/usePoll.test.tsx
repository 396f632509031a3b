import { renderHook, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { json, mockFetch } from "../../test/fetchMock";
import type { ExplanationStatus } from "./api";
import { useRefreshWhenChanged, useStatusFollow } from "./usePoll";

function state(status: string, progress = 0): ExplanationStatus {
  return {
    id: 7,
    status,
    progress,
    error: "",
    attempts: 1,
    queued_at: null,
    started_at: null,
    finished_at: null,
  } as unknown as ExplanationStatus;
}

const WAIT = "GET /api/v1/explanations/7/status/wait/";
const STATUS = "GET /api/v1/explanations/7/status/";

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("useStatusFollow", () => {
  it("long-polls with what it knows until done, without polling the status URL", async () => {
    const answers = [state("running", 0.5), state("done", 1)];
    const mock = mockFetch({ [WAIT]: () => json(200, answers.shift()) });
    const seen: string[] = [];
    renderHook(() =>
      useStatusFollow(state("queued"), 50, (next) => seen.push(next.status), () => undefined),
    );
    await waitFor(() => expect(seen).toEqual(["running", "done"]));
    const asked = mock.requestsTo("GET", "/api/v1/explanations/7/status/wait/");
    expect(asked).toHaveLength(2); // stops once done
    const first = new URL(asked[0]!.url).searchParams;
    expect(first.get("status")).toBe("queued");
    expect(first.get("progress")).toBe("0");
    expect(Number(first.get("timeout"))).toBeGreaterThan(0);
    expect(new URL(asked[1]!.url).searchParams.get("status")).toBe("running");
    expect(mock.requestsTo("GET", "/api/v1/explanations/7/status/")).toHaveLength(0);
  });

  it("falls back to polling the status URL when the server offers no wait", async () => {
    const polled = [state("running", 0.2), state("done", 1)];
    const mock = mockFetch({
      [WAIT]: () => json(429, { detail: "Too many clients are waiting" }),
      [STATUS]: () => json(200, polled.shift()),
    });
    const seen: string[] = [];
    renderHook(() =>
      useStatusFollow(state("queued"), 10, (next) => seen.push(next.status), () => undefined),
    );
    await waitFor(() => expect(seen).toEqual(["running", "done"]));
    // One refused wait, then polling only (no wait per tick).
    expect(mock.requestsTo("GET", "/api/v1/explanations/7/status/wait/")).toHaveLength(1);
    expect(mock.requestsTo("GET", "/api/v1/explanations/7/status/")).toHaveLength(2);
  });

  it("reports an error of the status URL and stops asking when unmounted", async () => {
    const mock = mockFetch({
      [WAIT]: () => json(500, { detail: "boom" }),
      [STATUS]: () => json(403, { detail: "You do not have permission to perform this action." }),
    });
    const errors: unknown[] = [];
    const { unmount } = renderHook(() =>
      useStatusFollow(state("queued"), 10, () => undefined, (err) => errors.push(err)),
    );
    await waitFor(() => expect(errors.length).toBeGreaterThan(0));
    unmount();
    const count = mock.fetchMock.mock.calls.length;
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(mock.fetchMock.mock.calls.length).toBe(count);
  });

  it("does nothing for a finished explanation", async () => {
    const mock = mockFetch({});
    renderHook(() => useStatusFollow(state("done", 1), 10, () => undefined, () => undefined));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(mock.fetchMock).not.toHaveBeenCalled();
  });
});

describe("useRefreshWhenChanged", () => {
  it("refreshes when the first pending explanation changes", async () => {
    mockFetch({ [WAIT]: () => json(200, state("done", 1)) });
    const refresh = vi.fn();
    renderHook(() => useRefreshWhenChanged([state("running", 0.1)], 50, refresh));
    await waitFor(() => expect(refresh).toHaveBeenCalledTimes(1));
  });
});
