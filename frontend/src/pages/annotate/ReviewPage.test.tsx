import { fireEvent, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { csrfEndpoint, json, mockFetch } from "../../test/fetchMock";
import { renderApp, signedIn } from "../../test/render";

const submitted = {
  id: 8,
  task: 3,
  project: { id: 1, name: "Jumps", instructions: "", labels: ["jump"], show_predictions: false },
  video: { id: 9, title: "jumping", width: 160, height: 120, fps: 10, duration: 2, frame_count: 20, frame_timestamps: Array.from({ length: 20 }, (_, i) => i / 10), has_audio: false },
  label: "jump",
  labels: ["jump"],
  status: "submitted",
  source: "crowd",
  annotator: "alex",
  lease_expires_at: null,
  version: 2,
  draft_saved_at: null,
  submitted_at: new Date().toISOString(),
  reviewed_at: null,
  reviewer: null,
  review_comment: "",
  created_at: new Date().toISOString(),
  video_url: "/api/v1/annotation/assignments/8/video/",
  draft: { tracks: [], segments: [] },
  annotation: {
    tracks: [{ label: "jump", keyframes: [{ frame: 0, x0: 1, y0: 1, x1: 20, y1: 20, outside: false, occluded: false }] }],
    segments: [{ kind: "visual", start: 0.2, end: 0.8 }],
  },
};

const emptyPage = { count: 0, next: null, previous: null, results: [] };

describe("review", () => {
  it("sends an annotation back with the reviewer's comment", async () => {
    const server = mockFetch({
      "GET /api/v1/auth/csrf/": csrfEndpoint(),
      "GET /api/v1/annotation/assignments/8/": () => json(200, submitted),
      "POST /api/v1/annotation/assignments/8/review/": async (request) => {
        const body = await request.clone().json();
        if (!body.comment) return json(400, { comment: ["Say what to fix: a rejection needs a comment for the annotator."] });
        return json(200, { ...submitted, status: "rejected", review_comment: body.comment });
      },
      "GET /api/v1/annotation/assignments/": () => json(200, emptyPage),
    });
    renderApp("/annotate/review/8", signedIn("reviewer"));
    expect(await screen.findByTestId("review-page")).toHaveTextContent("by alex");
    expect(screen.getByText("Event “jump”: 0.20 s – 0.80 s")).toBeInTheDocument();

    fireEvent.click(screen.getByTestId("reject"));
    expect(await screen.findByRole("alert")).toHaveTextContent("a rejection needs a comment");

    fireEvent.change(screen.getByTestId("review-comment-input"), { target: { value: "The box misses the arm." } });
    fireEvent.click(screen.getByTestId("reject"));
    await waitFor(() => expect(screen.getByTestId("test-location")).toHaveTextContent("/annotate/review"));
    const sent = server.requestsTo("POST", "/api/v1/annotation/assignments/8/review/");
    expect(await sent[1]!.json()).toEqual({ decision: "reject", comment: "The box misses the arm.", notes: [] });
  });

  it("accepts", async () => {
    const server = mockFetch({
      "GET /api/v1/auth/csrf/": csrfEndpoint(),
      "GET /api/v1/annotation/assignments/8/": () => json(200, submitted),
      "POST /api/v1/annotation/assignments/8/review/": () => json(200, { ...submitted, status: "accepted" }),
      "GET /api/v1/annotation/assignments/": () => json(200, emptyPage),
    });
    renderApp("/annotate/review/8", signedIn("researcher"));
    fireEvent.click(await screen.findByTestId("accept"));
    await waitFor(() => expect(server.requestsTo("POST", "/api/v1/annotation/assignments/8/review/")).toHaveLength(1));
    expect(await server.requestsTo("POST", "/api/v1/annotation/assignments/8/review/")[0]!.json()).toEqual({
      decision: "accept",
      comment: "",
      notes: [],
    });
  });

  it("takes the next item from the review queue and pins a note to a track", async () => {
    const held = { ...submitted, review_holder: "robin", review_lease_expires_at: new Date(Date.now() + 1_800_000).toISOString() };
    const server = mockFetch({
      "GET /api/v1/auth/csrf/": csrfEndpoint(),
      "GET /api/v1/annotation/assignments/": () => json(200, emptyPage),
      "POST /api/v1/annotation/review-queue/next/": () => json(200, { assignment: held, message: "Here is the next annotation to review." }),
      "GET /api/v1/annotation/assignments/8/": () => json(200, held),
      "POST /api/v1/annotation/assignments/8/review/": () => json(200, { ...submitted, status: "rejected" }),
    });
    renderApp("/annotate/review", signedIn("reviewer", { username: "robin" }));
    fireEvent.click(await screen.findByTestId("review-next"));
    await waitFor(() => expect(screen.getByTestId("test-location")).toHaveTextContent("/annotate/review/8"));
    expect(await screen.findByTestId("review-lease")).toHaveTextContent("Reserved for you");
    fireEvent.change(screen.getByTestId("note-track"), { target: { value: "0" } });
    fireEvent.change(screen.getByTestId("review-comment-input"), { target: { value: "Too wide." } });
    fireEvent.click(screen.getByTestId("pin-note"));
    expect(screen.getByTestId("pinned-notes")).toHaveTextContent("Frame 1 · jump box 1");
    fireEvent.click(screen.getByTestId("reject"));
    await waitFor(() => expect(server.requestsTo("POST", "/api/v1/annotation/assignments/8/review/")).toHaveLength(1));
    expect(await server.requestsTo("POST", "/api/v1/annotation/assignments/8/review/")[0]!.json()).toEqual({
      decision: "reject",
      comment: "",
      notes: [{ frame: 0, track: 0, text: "Too wide." }],
    });
  });
});
