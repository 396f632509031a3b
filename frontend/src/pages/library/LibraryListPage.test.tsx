import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { json, mockFetch } from "../../test/fetchMock";
import { renderApp, signedIn } from "../../test/render";
import { makeVideo, page } from "../../test/videoFixtures";

const LIMITS = { max_upload_bytes: 2 * 1024 ** 3, max_dimension: 8192 };

function routes(list: (request: Request) => Response) {
  return mockFetch({
    "GET /api/v1/videos/": list,
    "GET /api/v1/videos/labels/": () => json(200, [{ label: "jump", count: 2 }]),
    "GET /api/v1/videos/limits/": () => json(200, LIMITS),
  });
}

afterEach(() => {
  vi.useRealTimers();
});

describe("Library list", () => {
  it("shows videos with their status, label and poster", async () => {
    routes(() =>
      json(200, page([
        makeVideo({ id: 1, title: "Dog jumps", label: "jump" }),
        makeVideo({ id: 2, title: "Broken", status: "failed", error: "The file is truncated.", poster_url: null }),
      ])),
    );
    renderApp("/library", signedIn("researcher"));
    const cards = await screen.findAllByTestId("video-card");
    expect(cards).toHaveLength(2);
    expect(within(cards[0]!).getByRole("link", { name: /Dog jumps/ })).toHaveAttribute("href", "/library/1");
    expect(within(cards[0]!).getByTestId("video-status")).toHaveAttribute("data-status", "ready");
    expect(within(cards[0]!).getByText("jump")).toBeInTheDocument();
    expect(cards[0]!.querySelector("img")).toHaveAttribute("src", "/api/v1/videos/1/poster/");
    expect(within(cards[1]!).getByText("The file is truncated.")).toBeInTheDocument();
    expect(screen.getByTestId("library-count")).toHaveTextContent("2 videos");
  });

  it("searches and filters through the API", async () => {
    const server = routes(() => json(200, page([makeVideo()])));
    renderApp("/library", signedIn("researcher"));
    await screen.findAllByTestId("video-card");
    const user = userEvent.setup();
    await user.type(screen.getByLabelText("Search"), "dog");
    await user.click(screen.getByRole("button", { name: "Search" }));
    await user.selectOptions(screen.getByLabelText("Status"), "failed");
    await user.selectOptions(await screen.findByLabelText("Label"), "jump");
    const last = server.requestsTo("GET", "/api/v1/videos/").at(-1)!;
    const query = new URL(last.url).searchParams;
    expect(query.get("search")).toBe("dog");
    expect(query.get("status")).toBe("failed");
    expect(query.get("label")).toBe("jump");
    expect(query.get("page")).toBe("1");
  });

  it("pages through results", async () => {
    const server = routes((request) => {
      const number = Number(new URL(request.url).searchParams.get("page") ?? "1");
      return json(200, page([makeVideo({ id: number, title: `page ${number}` })], 30));
    });
    renderApp("/library", signedIn("researcher"));
    expect(await screen.findByTestId("page-indicator")).toHaveTextContent("Page 1 of 3");
    expect(screen.getByRole("button", { name: "Previous" })).toBeDisabled();
    await userEvent.setup().click(screen.getByRole("button", { name: "Next" }));
    expect(await screen.findByText("page 2")).toBeInTheDocument();
    expect(screen.getByTestId("page-indicator")).toHaveTextContent("Page 2 of 3");
    expect(new URL(server.requestsTo("GET", "/api/v1/videos/").at(-1)!.url).searchParams.get("page")).toBe("2");
  });

  it("says so when the library is empty, and hides upload from reviewers", async () => {
    routes(() => json(200, page([])));
    renderApp("/library", signedIn("reviewer"));
    expect(await screen.findByTestId("empty-state")).toHaveTextContent("Library — videos will appear here once uploaded.");
    expect(screen.queryByTestId("upload-panel")).not.toBeInTheDocument();
  });

  it("polls while a video is processing, and stops once it is ready", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    let calls = 0;
    const server = routes(() => {
      calls += 1;
      const status = calls < 3 ? "processing" : "ready";
      return json(200, page([makeVideo({ status, progress: calls < 3 ? 0.4 : 1 })]));
    });
    renderApp("/library", signedIn("researcher"));
    expect(await screen.findByTestId("video-status")).toHaveTextContent("Processing 40%");
    await vi.advanceTimersByTimeAsync(4200);
    await waitFor(() => expect(screen.getByTestId("video-status")).toHaveAttribute("data-status", "ready"));
    const count = server.requestsTo("GET", "/api/v1/videos/").length;
    await vi.advanceTimersByTimeAsync(4200);
    expect(server.requestsTo("GET", "/api/v1/videos/")).toHaveLength(count);
  });

  it("shows the server's message when the list cannot load", async () => {
    routes(() => json(403, { detail: "Only reviewers and researchers can do this." }));
    renderApp("/library", signedIn("researcher"));
    expect(await screen.findByTestId("library-error")).toHaveTextContent("Only reviewers and researchers can do this.");
  });
});
