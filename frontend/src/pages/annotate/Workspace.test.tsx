import { act, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { csrfEndpoint, json, mockFetch } from "../../test/fetchMock";
import { renderApp, signedIn } from "../../test/render";

const TIMESTAMPS = Array.from({ length: 20 }, (_, i) => i / 10);

function assignment(overrides: Record<string, unknown> = {}) {
  return {
    id: 5,
    task: 3,
    project: { id: 1, name: "Jumps", instructions: "Draw a **tight** box.", labels: ["jump"], show_predictions: false },
    video: {
      id: 9,
      title: "jumping",
      width: 160,
      height: 120,
      fps: 10,
      duration: 2,
      frame_count: 20,
      frame_timestamps: TIMESTAMPS,
      has_audio: false,
    },
    label: "jump",
    labels: ["jump"],
    status: "in_progress",
    source: "crowd",
    annotator: "alex",
    lease_expires_at: new Date(Date.now() + 30 * 60_000).toISOString(),
    version: 3,
    draft_saved_at: null,
    submitted_at: null,
    reviewed_at: null,
    reviewer: null,
    review_comment: "",
    created_at: new Date().toISOString(),
    video_url: "/api/v1/annotation/assignments/5/video/",
    draft: {
      tracks: [{ label: "jump", keyframes: [{ frame: 1, x0: 10, y0: 10, x1: 50, y1: 50, outside: false, occluded: false }] }],
      segments: [],
    },
    annotation: null,
    ...overrides,
  };
}

/** Wait until the workspace has mounted and its effects (the key handler) have run. */
async function workspaceReady() {
  const workspace = await screen.findByTestId("workspace");
  await act(async () => {});
  return workspace;
}

function key(k: string, extra: Partial<KeyboardEventInit> = {}) {
  fireEvent.keyDown(window, { key: k, ...extra });
}

describe("annotation workspace", () => {
  it("steps frames, marks a segment, autosaves with the version and submits", async () => {
    const server = mockFetch({
      "GET /api/v1/auth/csrf/": csrfEndpoint(),
      "GET /api/v1/annotation/assignments/5/": () => json(200, assignment()),
      "PUT /api/v1/annotation/assignments/5/draft/": () =>
        json(200, { version: 4, draft_saved_at: new Date().toISOString(), lease_expires_at: new Date().toISOString() }),
      "POST /api/v1/annotation/assignments/5/submit/": () => json(200, assignment({ status: "submitted" })),
      "POST /api/v1/annotation/queue/next/": () => json(200, { assignment: null, message: "No tasks are waiting for you now." }),
      "GET /api/v1/annotation/queue/": () => json(200, []),
      "GET /api/v1/annotation/assignments/": () => json(200, { count: 0, next: null, previous: null, results: [] }),
    });
    renderApp("/annotate/assignments/5", signedIn("annotator"));
    await workspaceReady();
    const frame = screen.getByTestId("frame-indicator");
    expect(frame).toHaveAttribute("data-frame", "0");
    expect(screen.getByTestId("track-item")).toHaveTextContent("1 keyframe");

    key("ArrowRight");
    key("ArrowRight");
    expect(frame).toHaveAttribute("data-frame", "2");
    key("i");
    key("ArrowRight", { shiftKey: true });
    expect(frame).toHaveAttribute("data-frame", "12");
    key("ArrowLeft");
    key("o");
    expect(screen.getByTestId("segments-visual")).toHaveTextContent("0.20 s – 1.10 s");

    // Out before In is refused with a hint, and nothing is added.
    key("i");
    key("ArrowLeft");
    key("o");
    expect(screen.getByTestId("workspace-notice")).toHaveTextContent("Out is before In");

    await waitFor(() => expect(server.requestsTo("PUT", "/api/v1/annotation/assignments/5/draft/")).toHaveLength(1), {
      timeout: 3000,
    });
    const saved = await server.requestsTo("PUT", "/api/v1/annotation/assignments/5/draft/")[0]!.json();
    expect(saved.version).toBe(3);
    expect(saved.segments).toEqual([{ kind: "visual", label: "jump", start: 0.2, end: 1.1 }]);
    expect(saved.tracks[0].keyframes[0].frame).toBe(1);
    await waitFor(() => expect(screen.getByTestId("autosave-status")).toHaveAttribute("data-status", "saved"));

    // Escape drops the pending In; undo removes the segment again; redo restores it.
    key("Escape");
    fireEvent.click(screen.getByTestId("undo"));
    expect(screen.getByTestId("segments-visual")).toHaveTextContent("Not marked.");
    key("z", { ctrlKey: true, shiftKey: true });
    expect(screen.getByTestId("segments-visual")).toHaveTextContent("0.20 s – 1.10 s");

    fireEvent.click(screen.getByTestId("submit-next"));
    expect(await screen.findByTestId("annotate-message")).toHaveTextContent("No more tasks are waiting");
    const submitted = await server.requestsTo("POST", "/api/v1/annotation/assignments/5/submit/")[0]!.json();
    expect(submitted.segments).toHaveLength(1);
    expect(submitted.version).toBeGreaterThanOrEqual(3);
  });

  it("gives new segments the chosen label, shows labels in the timeline and keeps them through save", async () => {
    const server = mockFetch({
      "GET /api/v1/auth/csrf/": csrfEndpoint(),
      "GET /api/v1/annotation/assignments/5/": () =>
        json(
          200,
          assignment({
            labels: ["jump", "fall"],
            draft: {
              tracks: [],
              // A segment saved without a label is the task's; a labelled one keeps its label.
              segments: [
                { kind: "visual", start: 0.1, end: 0.3 },
                { kind: "sound", label: "fall", start: 0.5, end: 0.7 },
              ],
            },
          }),
        ),
      "PUT /api/v1/annotation/assignments/5/draft/": () =>
        json(200, { version: 4, draft_saved_at: new Date().toISOString(), lease_expires_at: new Date().toISOString() }),
    });
    renderApp("/annotate/assignments/5", signedIn("annotator"));
    await workspaceReady();
    expect(screen.getAllByTestId("segment-item").map((li) => li.dataset.label)).toEqual(["jump", "fall"]);
    expect(screen.getByTestId("timeline-segment-sound")).toHaveAttribute("data-label", "fall");
    expect(screen.getByTestId("timeline-segment-sound")).toHaveTextContent("fall");

    // The task's label is chosen to start with; pick "fall" and mark an event with the keys.
    const chips = screen.getByTestId("segment-label");
    expect(within(chips).getByRole("radio", { name: "jump" })).toHaveAttribute("aria-checked", "true");
    fireEvent.click(within(chips).getByRole("radio", { name: "fall" }));
    expect(screen.getByTestId("new-box-label")).toHaveValue("fall");
    key("ArrowRight", { shiftKey: true });
    key("i");
    key("ArrowRight");
    key("ArrowRight");
    key("o");
    expect(screen.getByTestId("workspace-notice")).toHaveTextContent('The event "fall" happens from 1.00 s to 1.20 s.');

    // The event lane splits into one lane per label, the task's first.
    const lanes = screen.getAllByTestId("timeline-lane-visual");
    expect(lanes.map((lane) => lane.dataset.label)).toEqual(["jump", "fall"]);
    expect(within(lanes[1]!).getByTestId("timeline-segment-visual")).toHaveAttribute("data-label", "fall");

    // An overlapping event of another label stays apart from it.
    fireEvent.change(screen.getByTestId("new-box-label"), { target: { value: "jump" } });
    key("i");
    key("ArrowRight");
    key("o");
    await waitFor(() => expect(server.requestsTo("PUT", "/api/v1/annotation/assignments/5/draft/").length).toBeGreaterThan(0), {
      timeout: 3000,
    });
    await waitFor(() => expect(screen.getByTestId("autosave-status")).toHaveAttribute("data-status", "saved"), { timeout: 3000 });
    const puts = server.requestsTo("PUT", "/api/v1/annotation/assignments/5/draft/");
    const saved = await puts[puts.length - 1]!.json();
    expect(saved.segments).toEqual([
      { kind: "visual", label: "jump", start: 0.1, end: 0.3 },
      { kind: "visual", label: "fall", start: 1, end: 1.2 },
      { kind: "visual", label: "jump", start: 1.2, end: 1.3 },
      { kind: "sound", label: "fall", start: 0.5, end: 0.7 },
    ]);
  });

  it("takes an expired task back before submitting, or says why it cannot", async () => {
    const server = mockFetch({
      "GET /api/v1/auth/csrf/": csrfEndpoint(),
      "GET /api/v1/annotation/assignments/5/": () => json(200, assignment()),
      "POST /api/v1/annotation/assignments/5/submit/": () =>
        json(409, { detail: "Your lease on this task expired and it went back to the pool." }),
      "POST /api/v1/annotation/assignments/5/resume/": () =>
        json(409, { detail: "Your lease expired and this video has been given to other annotators." }),
    });
    renderApp("/annotate/assignments/5", signedIn("annotator"));
    fireEvent.click(await screen.findByTestId("submit-next"));
    expect(await screen.findByTestId("submit-error")).toHaveTextContent("given to other annotators");
    expect(server.requestsTo("POST", "/api/v1/annotation/assignments/5/resume/")).toHaveLength(1);
  });

  it("shows the server's reason when a submission is invalid", async () => {
    mockFetch({
      "GET /api/v1/auth/csrf/": csrfEndpoint(),
      "GET /api/v1/annotation/assignments/5/": () => json(200, assignment()),
      "POST /api/v1/annotation/assignments/5/submit/": () =>
        json(400, { tracks: ["Track 1, frame 3: the box is outside the frame [0, 160] x [0, 120]."] }),
    });
    renderApp("/annotate/assignments/5", signedIn("annotator"));
    fireEvent.click(await screen.findByTestId("submit-next"));
    expect(await screen.findByTestId("submit-error")).toHaveTextContent("Tracks: Track 1, frame 3: the box is outside the frame");
  });

  it("opens the keyboard help with ? and closes it with Escape", async () => {
    mockFetch({ "GET /api/v1/annotation/assignments/5/": () => json(200, assignment()) });
    renderApp("/annotate/assignments/5", signedIn("annotator"));
    await workspaceReady();
    key("?", { shiftKey: true });
    expect(screen.getByTestId("help-overlay")).toHaveTextContent("10 frames forward");
    key("Escape");
    expect(screen.queryByTestId("help-overlay")).not.toBeInTheDocument();
  });

  it("shows a submitted assignment read-only", async () => {
    mockFetch({
      "GET /api/v1/annotation/assignments/5/": () =>
        json(200, assignment({ status: "submitted", submitted_at: new Date().toISOString(), annotation: assignment().draft })),
    });
    renderApp("/annotate/assignments/5", signedIn("annotator"));
    expect(await screen.findByTestId("read-only-notice")).toBeInTheDocument();
    expect(screen.queryByTestId("submit-next")).not.toBeInTheDocument();
  });
});
