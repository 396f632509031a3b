import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { csrfEndpoint, json, mockFetch, noContent } from "../../test/fetchMock";
import { renderApp, signedIn } from "../../test/render";
import { makeVideo, page } from "../../test/videoFixtures";

const OWNER = signedIn("researcher", { username: "researcher1" });

describe("Video page", () => {
  it("plays a ready video and shows what probing found", async () => {
    mockFetch({
      "GET /api/v1/videos/4/": () =>
        json(200, makeVideo({ id: 4, title: "Waves", variable_frame_rate: true, rotation: 90, label: "sea", split: "val" })),
    });
    renderApp("/library/4", OWNER);
    expect(await screen.findByRole("heading", { name: "Waves" })).toBeInTheDocument();
    const player = screen.getByTestId("player");
    expect(player).toHaveAttribute("src", "/api/v1/videos/4/stream/");
    expect(player).toHaveAttribute("poster", "/api/v1/videos/4/poster/");
    expect(screen.getByTestId("meta-frames")).toHaveTextContent("20 at 10 fps variable frame rate");
    expect(screen.getByTestId("meta-size")).toHaveTextContent("160 × 120 px (rotated 90°)");
    expect(screen.getByTestId("meta-codecs")).toHaveTextContent("h264 + aac");
    expect(screen.getByTestId("meta-label")).toHaveTextContent("sea · val");
    expect(screen.getByTestId("scrubber")).toBeInTheDocument();
    expect(screen.getByTestId("review-explanations")).toHaveAttribute("href", "/explanations/review/4");
  });

  it("deletes only after confirmation, then returns to the library", async () => {
    const server = mockFetch({
      "GET /api/v1/auth/csrf/": csrfEndpoint(),
      "GET /api/v1/videos/4/": () => json(200, makeVideo({ id: 4, title: "Waves" })),
      "DELETE /api/v1/videos/4/": () => noContent(),
      "GET /api/v1/videos/": () => json(200, page([])),
      "GET /api/v1/videos/labels/": () => json(200, []),
      "GET /api/v1/videos/limits/": () => json(200, { max_upload_bytes: 1, max_dimension: 1 }),
    });
    renderApp("/library/4", OWNER);
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Delete video" }));
    expect(screen.getByTestId("confirm-delete")).toHaveTextContent("Delete “Waves” and all of its files?");
    await user.click(screen.getByRole("button", { name: "Cancel" }));
    expect(server.requestsTo("DELETE", "/api/v1/videos/4/")).toHaveLength(0);
    await user.click(screen.getByRole("button", { name: "Delete video" }));
    await user.click(screen.getByRole("button", { name: "Delete permanently" }));
    await waitFor(() => expect(screen.getByTestId("test-location")).toHaveTextContent(/^\/library$/));
    expect(server.requestsTo("DELETE", "/api/v1/videos/4/")).toHaveLength(1);
    expect(server.requestsTo("DELETE", "/api/v1/videos/4/")[0]!.headers.get("X-CSRFToken")).toBe("test-csrf-token");
  });

  it("explains a failure and offers to try again", async () => {
    const server = mockFetch({
      "GET /api/v1/auth/csrf/": csrfEndpoint(),
      "GET /api/v1/videos/4/": () =>
        json(200, makeVideo({ id: 4, status: "failed", error: "The video file is truncated.", stream_url: null })),
      "POST /api/v1/videos/4/reprocess/": () => json(202, makeVideo({ id: 4, status: "uploaded", progress: 0, stream_url: null })),
    });
    renderApp("/library/4", OWNER);
    expect(await screen.findByTestId("video-error")).toHaveTextContent("Processing failed. The video file is truncated.");
    expect(screen.queryByTestId("player")).not.toBeInTheDocument();
    expect(screen.queryByTestId("review-explanations")).not.toBeInTheDocument();
    await userEvent.setup().click(screen.getByRole("button", { name: "Try again" }));
    expect(await screen.findByText("Waiting for a media worker…")).toBeInTheDocument();
    expect(server.requestsTo("POST", "/api/v1/videos/4/reprocess/")).toHaveLength(1);
  });

  it("gives reviewers no delete button, and says when a video is not there", async () => {
    mockFetch({
      "GET /api/v1/videos/4/": () => json(200, makeVideo({ id: 4, owner: "someone" })),
      "GET /api/v1/videos/5/": () => json(404, { detail: "No video with this id is visible to you." }),
    });
    renderApp("/library/4", signedIn("reviewer"));
    expect(await screen.findByTestId("player")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Delete video" })).not.toBeInTheDocument();
  });

  it("shows a missing video plainly", async () => {
    mockFetch({ "GET /api/v1/videos/5/": () => json(404, { detail: "No video with this id is visible to you." }) });
    renderApp("/library/5", OWNER);
    expect(await screen.findByTestId("video-missing")).toHaveTextContent("There is no video here");
  });
});
