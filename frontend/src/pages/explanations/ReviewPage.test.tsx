import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { csrfEndpoint, json, mockFetch } from "../../test/fetchMock";
import { renderApp, signedIn } from "../../test/render";
import { makeVideo } from "../../test/videoFixtures";
import type { Explanation } from "./api";
import { parseIds, parseStart } from "./ReviewPage";

const VIDEO = makeVideo({ id: 4, duration: 2, width: 160, height: 120 });
const MODEL = {
  id: 9,
  name: "tiny",
  description: "",
  architecture: "timesformer",
  checkpoint_dir: "/models/tiny",
  labels: ["red", "green"],
  num_classes: 2,
  input_spec: {},
  modalities: ["video"],
  grid: [2, 2, 2],
  device: "auto",
  public: true,
  bundled: true,
  owner: null,
  can_edit: false,
  created_at: "2026-01-01T00:00:00Z",
};
const METHODS = [
  { name: "staa", family: "fast", summary: "", class_specific: false, needs_attention: true, defaults: {}, choices: {} },
  { name: "lime", family: "slow", summary: "", class_specific: true, needs_attention: false, defaults: {}, choices: {} },
];

function explanation(id: number, overrides: Partial<Explanation> = {}): Explanation {
  return {
    id,
    status: "done",
    progress: 1,
    error: "",
    source: "computed",
    method: "staa",
    label: "",
    params: {},
    target: null,
    explained_target: 1,
    explained_label: "green",
    clip_start: null,
    clip_end: null,
    video: { id: 4, title: "clip 4", status: "ready", width: 160, height: 120, duration: 2, fps: 10, label: "", playback_url: "/api/v1/videos/4/stream/" },
    model: { id: 9, name: "tiny", architecture: "timesformer", num_classes: 2 },
    grid: [2, 2, 2],
    temporal: [0.2, 0.9],
    timestamps: [0, 1],
    value_range: [0, 1],
    topk: [{ label_index: 1, label: "green", probability: 0.8 }],
    cost: { forward_passes: 1, backward_passes: 0, wall_seconds: 0.01, peak_memory_bytes: 0 },
    attempts: 1,
    batch_size: 1,
    requested_by: "researcher1",
    created_at: "2026-01-01T00:00:00Z",
    queued_at: null,
    started_at: null,
    finished_at: null,
    status_url: `/api/v1/explanations/${id}/status/`,
    map_url: `/api/v1/explanations/${id}/map/`,
    flag_count: 0,
    ...overrides,
  } as Explanation;
}

const MAP = { shape: [2, 2, 2], dtype: "uint8", offset: 0, scale: 1 / 255, data: btoa(String.fromCharCode(0, 50, 100, 150, 200, 250, 255, 10)) };
const NO_TRUTH = { available: false, reason: "No annotation project you can see includes this video.", project: null, source_size: null, tolerance: 15, frames: [], segments: [], temporal_hit: null, sound_segments: [], sound_hit: null, spatial_accuracy: null };

function list(results: unknown[]) {
  return { count: results.length, next: null, previous: null, results };
}

describe("parseIds", () => {
  it("keeps up to four distinct positive ids", () => {
    expect(parseIds("3,x,3,5,-1,7,8,9")).toEqual([3, 5, 7, 8]);
    expect(parseIds(null)).toEqual([]);
  });
});

describe("parseStart", () => {
  it("reads ?t= seconds and ignores anything that is not a positive number", () => {
    expect(parseStart("12.5")).toBe(12.5);
    expect(parseStart(null)).toBe(0);
    expect(parseStart("-3")).toBe(0);
    expect(parseStart("soon")).toBe(0);
  });
});

describe("ReviewPage", () => {
  beforeEach(() => {
    // jsdom has no 2D canvas; the drawing itself is covered by heatmap.test.ts and the e2e test.
    vi.spyOn(HTMLCanvasElement.prototype, "getContext").mockReturnValue(null);
  });

  it("draws the chosen explanation with its temporal curve, and requests a new one with live status", async () => {
    let explanations = [explanation(11)];
    let polls = 0;
    const server = mockFetch({
      "GET /api/v1/auth/csrf/": csrfEndpoint(),
      "GET /api/v1/videos/4/": () => json(200, VIDEO),
      "GET /api/v1/explanations/": () => json(200, list(explanations)),
      "GET /api/v1/models/": () => json(200, list([MODEL])),
      "GET /api/v1/explanation-methods/": () => json(200, METHODS),
      "GET /api/v1/explanations/11/map/": () => json(200, MAP),
      "GET /api/v1/explanations/12/map/": () => json(200, MAP),
      "GET /api/v1/explanations/11/ground-truth/": () => json(200, NO_TRUTH),
      "GET /api/v1/explanations/12/ground-truth/": () => json(200, NO_TRUTH),
      "GET /api/v1/explanations/11/flags/": () => json(200, []),
      "GET /api/v1/explanations/12/flags/": () => json(200, []),
      "POST /api/v1/explanations/": () =>
        json(202, { id: 12, status: "queued", created: true, queued: true, status_url: "/s", url: "/u" }),
      "GET /api/v1/explanations/12/status/": () => {
        polls += 1;
        const done = polls > 1;
        if (done) explanations = [explanation(12, { method: "lime" }), ...explanations];
        return json(200, { id: 12, status: done ? "done" : "running", progress: done ? 1 : 0.4, error: "", attempts: 1, queued_at: null, started_at: null, finished_at: null });
      },
    });
    renderApp("/explanations/review/4?ids=11", signedIn("researcher", { username: "researcher1" }));

    const pane = await screen.findByTestId("review-pane");
    expect(pane).toHaveAttribute("data-explanation-id", "11");
    expect(within(pane).getByTestId("overlay-canvas")).toHaveAttribute("width", "160");
    expect(await screen.findByTestId("temporal-curve-path")).toHaveAttribute("d", "M0,40 L500,40 L500,0 L1000,0");
    expect(await within(pane).findByTestId("gt-unavailable")).toHaveTextContent(
      "No annotation project you can see includes this video.",
    );

    const user = userEvent.setup();
    await user.selectOptions(await screen.findByTestId("request-method"), "lime");
    await user.selectOptions(screen.getByTestId("request-target"), "1");
    await user.click(screen.getByTestId("request-submit"));
    const [post] = server.requestsTo("POST", "/api/v1/explanations/");
    expect(await post!.json()).toEqual({ video: 4, model: 9, method: "lime", params: {}, target: 1, windowed: false });
    await waitFor(() => expect(screen.getByTestId("request-status")).toHaveAttribute("data-status", "done"), { timeout: 4000 });
    await waitFor(() => expect(screen.getAllByTestId("review-pane")).toHaveLength(2), { timeout: 4000 });
    expect(screen.getAllByTestId("temporal-curve")).toHaveLength(2);
  });

  it("draws the server's verdicts: the mark at its point, the temporal peak at its frame, the scored label", async () => {
    // The quantized map's maximum on frame 0 is its bottom-right cell; the server points elsewhere.
    const truth = {
      ...NO_TRUTH,
      available: true,
      reason: "",
      project: 1,
      label: "car",
      class_name: "sedan",
      source_size: [160, 120],
      tolerance: 8,
      segments: [[0, 0.5]],
      temporal_hit: false,
      temporal_peak: 0,
      spatial_accuracy: 1,
      frames: [
        { index: 0, time: 0, frame: 0, boxes: [[0, 60, 80, 120]], hit: true, point: [20, 100], counted: true },
        { index: 1, time: 1, frame: null, boxes: [], hit: null, point: [100, 30], counted: false },
      ],
    };
    mockFetch({
      "GET /api/v1/videos/4/": () => json(200, VIDEO),
      "GET /api/v1/explanations/": () => json(200, list([explanation(11)])),
      "GET /api/v1/models/": () => json(200, list([MODEL])),
      "GET /api/v1/explanation-methods/": () => json(200, METHODS),
      "GET /api/v1/explanations/11/map/": () => json(200, MAP),
      "GET /api/v1/explanations/11/ground-truth/": () => json(200, truth),
      "GET /api/v1/explanations/11/flags/": () => json(200, []),
    });
    renderApp("/explanations/review/4?ids=11", signedIn("reviewer"));
    const pane = await screen.findByTestId("review-pane");
    const mark = await within(pane).findByTestId("pointing-mark");
    expect(mark).toHaveAttribute("data-hit", "true");
    expect(mark).toHaveAttribute("data-x", "20");
    expect(mark).toHaveAttribute("data-y", "100");
    expect(within(pane).getAllByTestId("gt-box")).toHaveLength(1);
    expect(within(pane).getByTestId("gt-label")).toHaveTextContent("scored against: car (class sedan)");
    expect(within(pane).getByTestId("pointing-summary")).toHaveTextContent("pointing game 1/1 frames");
    expect(within(pane).getByTestId("temporal-summary")).toHaveTextContent("when: miss");
    expect(within(pane).queryByTestId("gt-unavailable")).not.toBeInTheDocument();

    // The curve's own maximum is frame 1; the peak mark sits where the server's game took it.
    const peak = screen.getByTestId("temporal-peak");
    expect(peak).toHaveAttribute("data-index", "0");
    expect(peak).toHaveAttribute("data-source", "server");
    expect(peak).toHaveAttribute("data-hit", "false");
    expect(peak).toHaveAttribute("data-x", "250");

    // A frame the game does not count gets no verdict, wherever the map points.
    const curve = screen.getByTestId("temporal-curve");
    curve.getBoundingClientRect = () => ({ left: 0, width: 200, top: 0, height: 40, right: 200, bottom: 40, x: 0, y: 0, toJSON: () => ({}) });
    await userEvent.setup().pointer({ target: curve, coords: { clientX: 150, clientY: 10 }, keys: "[MouseLeft]" });
    expect(screen.getByTestId("overlay-canvas")).toHaveAttribute("data-frame", "1");
    expect(within(pane).queryByTestId("pointing-mark")).not.toBeInTheDocument();
  });

  it("says why an explanation is not scored, and marks no verdict", async () => {
    const reason = "Not scored: class 'wave' maps to no annotation label of project 'Jumps'.";
    mockFetch({
      "GET /api/v1/videos/4/": () => json(200, VIDEO),
      "GET /api/v1/explanations/": () => json(200, list([explanation(11)])),
      "GET /api/v1/models/": () => json(200, list([MODEL])),
      "GET /api/v1/explanation-methods/": () => json(200, METHODS),
      "GET /api/v1/explanations/11/map/": () => json(200, MAP),
      "GET /api/v1/explanations/11/ground-truth/": () =>
        json(200, { ...NO_TRUTH, reason, project: 1, label: null, class_name: "wave", temporal_peak: null }),
      "GET /api/v1/explanations/11/flags/": () => json(200, []),
    });
    renderApp("/explanations/review/4?ids=11", signedIn("reviewer"));
    const pane = await screen.findByTestId("review-pane");
    expect(await within(pane).findByTestId("gt-unavailable")).toHaveTextContent(reason);
    expect(within(pane).queryByTestId("gt-label")).not.toBeInTheDocument();
    expect(within(pane).queryByTestId("pointing-mark")).not.toBeInTheDocument();
    const peak = screen.getByTestId("temporal-peak");
    expect(peak).toHaveAttribute("data-source", "curve");
    expect(peak).toHaveAttribute("data-hit", "");
  });

  it("seeks when the temporal curve is clicked", async () => {
    mockFetch({
      "GET /api/v1/videos/4/": () => json(200, VIDEO),
      "GET /api/v1/explanations/": () => json(200, list([explanation(11)])),
      "GET /api/v1/models/": () => json(200, list([MODEL])),
      "GET /api/v1/explanation-methods/": () => json(200, METHODS),
      "GET /api/v1/explanations/11/map/": () => json(200, MAP),
      "GET /api/v1/explanations/11/ground-truth/": () => json(200, NO_TRUTH),
      "GET /api/v1/explanations/11/flags/": () => json(200, []),
    });
    renderApp("/explanations/review/4?ids=11", signedIn("reviewer"));
    const curve = await screen.findByTestId("temporal-curve");
    curve.getBoundingClientRect = () => ({ left: 0, width: 200, top: 0, height: 40, right: 200, bottom: 40, x: 0, y: 0, toJSON: () => ({}) });
    await userEvent.setup().pointer({ target: curve, coords: { clientX: 150, clientY: 10 }, keys: "[MouseLeft]" });
    expect(screen.getByTestId("player-time")).toHaveTextContent("0:01.50 / 0:02.00");
    expect(screen.getByTestId("overlay-canvas")).toHaveAttribute("data-frame", "1");
  });

  it("draws the sound under the player: the waveform with a playhead and each method's audio curve", async () => {
    const audio = { importance: [0.1, 0.8, 0.8, 0.3], times: [[0, 0.5], [0.5, 1], [1, 1.5], [1.5, 2]] };
    mockFetch({
      "GET /api/v1/videos/4/": () => json(200, { ...VIDEO, has_audio: true, waveform_url: "/api/v1/videos/4/waveform/" }),
      "GET /api/v1/videos/4/waveform/": () =>
        json(200, { duration: 2, bins_per_second: 2, min: [-0.1, -0.5, -1, -0.2], max: [0.1, 0.5, 1, 0.2] }),
      "GET /api/v1/explanations/": () =>
        json(200, list([explanation(11, { audio } as Partial<Explanation>), explanation(12, { method: "lime" })])),
      "GET /api/v1/models/": () => json(200, list([MODEL])),
      "GET /api/v1/explanation-methods/": () => json(200, METHODS),
      "GET /api/v1/explanations/11/map/": () => json(200, MAP),
      "GET /api/v1/explanations/12/map/": () => json(200, MAP),
      "GET /api/v1/explanations/11/ground-truth/": () =>
        json(200, { ...NO_TRUTH, available: true, reason: "", sound_segments: [[0.4, 0.9]], sound_hit: true }),
      "GET /api/v1/explanations/12/ground-truth/": () => json(200, NO_TRUTH),
      "GET /api/v1/explanations/11/flags/": () => json(200, []),
      "GET /api/v1/explanations/12/flags/": () => json(200, []),
    });
    renderApp("/explanations/review/4?ids=11,12", signedIn("reviewer"));
    const wave = await screen.findByTestId("waveform");
    expect(wave).toHaveAttribute("aria-label", "Sound waveform (scaled to its loudest moment); click to seek");
    await waitFor(() => expect(within(wave).queryByText(/Loading the waveform/)).not.toBeInTheDocument());
    // Only the audio-visual explanation has a sound curve, labelled with its peak (first of ties).
    const curves = screen.getAllByTestId("audio-curve");
    expect(curves).toHaveLength(1);
    expect(curves[0]).toHaveAttribute("data-peak-index", "1");
    expect(screen.getByRole("img", { name: /Audio importance of STAA: peak at 0:00.50–0:01.00/ })).toBeInTheDocument();
    expect(curves[0]).toHaveAttribute("data-active-token", "0");
    await waitFor(() => expect(curves[0]).toHaveAttribute("data-hit", "true"));
    expect(curves[0]).toHaveAttribute("data-segments", "1");
    expect(screen.getByRole("img", { name: /inside a heard segment \(hit\)$/ })).toBeInTheDocument();

    wave.getBoundingClientRect = () => ({ left: 0, width: 200, top: 0, height: 48, right: 200, bottom: 48, x: 0, y: 0, toJSON: () => ({}) });
    await userEvent.setup().pointer({ target: wave, coords: { clientX: 125, clientY: 10 }, keys: "[MouseLeft]" });
    expect(screen.getByTestId("player-time")).toHaveTextContent("0:01.25 / 0:02.00");
    expect(screen.getByTestId("waveform-playhead")).toHaveAttribute("data-time", "1.25");
    expect(screen.getByTestId("waveform-playhead")).toHaveStyle({ left: "62.5%" });
    expect(curves[0]).toHaveAttribute("data-active-token", "2");
  });

  it("draws the waveform under the plain player too, and follows its clock", async () => {
    mockFetch({
      "GET /api/v1/videos/4/": () => json(200, { ...VIDEO, has_audio: true, waveform_url: "/api/v1/videos/4/waveform/" }),
      "GET /api/v1/videos/4/waveform/": () => json(200, { duration: 2, bins_per_second: 1, min: [-1, -1], max: [1, 1] }),
      "GET /api/v1/explanations/": () => json(200, list([])),
      "GET /api/v1/models/": () => json(200, list([MODEL])),
      "GET /api/v1/explanation-methods/": () => json(200, METHODS),
    });
    renderApp("/explanations/review/4", signedIn("reviewer"));
    const wave = await screen.findByTestId("waveform");
    const plain = screen.getByTestId("review-video-plain") as HTMLVideoElement;
    wave.getBoundingClientRect = () => ({ left: 0, width: 200, top: 0, height: 48, right: 200, bottom: 48, x: 0, y: 0, toJSON: () => ({}) });
    await userEvent.setup().pointer({ target: wave, coords: { clientX: 50, clientY: 10 }, keys: "[MouseLeft]" });
    expect(plain.currentTime).toBe(0.5);
    expect(screen.getByTestId("waveform-playhead")).toHaveAttribute("data-time", "0.50");
    expect(screen.queryByTestId("audio-curve")).not.toBeInTheDocument();
  });

  it("shows no sound strips for a silent video and a video-only explanation", async () => {
    mockFetch({
      "GET /api/v1/videos/4/": () => json(200, { ...VIDEO, has_audio: false, waveform_url: null }),
      "GET /api/v1/explanations/": () => json(200, list([explanation(11)])),
      "GET /api/v1/models/": () => json(200, list([MODEL])),
      "GET /api/v1/explanation-methods/": () => json(200, METHODS),
      "GET /api/v1/explanations/11/map/": () => json(200, MAP),
      "GET /api/v1/explanations/11/ground-truth/": () => json(200, NO_TRUTH),
      "GET /api/v1/explanations/11/flags/": () => json(200, []),
    });
    renderApp("/explanations/review/4?ids=11", signedIn("reviewer"));
    await screen.findByTestId("temporal-curve");
    expect(screen.queryByTestId("review-sound")).not.toBeInTheDocument();
  });

  it("refuses to request an audio-visual model on a video without sound, and says why", async () => {
    const av = { ...MODEL, id: 10, name: "tiny-av", modalities: ["video", "audio"] };
    mockFetch({
      "GET /api/v1/videos/4/": () => json(200, { ...VIDEO, has_audio: false, waveform_url: null }),
      "GET /api/v1/explanations/": () => json(200, list([])),
      // the audio-visual model first: the selector still starts on one that can explain this video
      "GET /api/v1/models/": () => json(200, list([av, MODEL])),
      "GET /api/v1/explanation-methods/": () => json(200, METHODS),
    });
    renderApp("/explanations/review/4", signedIn("researcher"));
    const user = userEvent.setup();
    const choose = await screen.findByTestId("request-model");
    expect(within(choose).getByRole("option", { name: "tiny-av (audio-visual, needs sound)" })).toBeInTheDocument();
    expect(choose).toHaveValue("9");
    expect(screen.getByTestId("request-submit")).toBeEnabled();
    await user.selectOptions(choose, "10");
    expect(screen.getByTestId("request-submit")).toBeDisabled();
    expect(screen.getByTestId("request-blocked")).toHaveTextContent("tiny-av is audio-visual and this video has no sound.");
    await user.selectOptions(choose, "9");
    expect(screen.getByTestId("request-submit")).toBeEnabled();
    expect(screen.queryByTestId("request-blocked")).not.toBeInTheDocument();
  });

  it("renames an explanation in place: Enter saves, Escape cancels, a refusal is shown", async () => {
    let stored = explanation(11, { name: "", can_rename: true });
    const server = mockFetch({
      "GET /api/v1/auth/csrf/": csrfEndpoint(),
      "GET /api/v1/videos/4/": () => json(200, VIDEO),
      "GET /api/v1/explanations/": () => json(200, list([stored, explanation(12, { can_rename: false })])),
      "GET /api/v1/models/": () => json(200, list([MODEL])),
      "GET /api/v1/explanation-methods/": () => json(200, METHODS),
      "PATCH /api/v1/explanations/11/": async (request) => {
        const body = (await request.json()) as { name: string };
        if (body.name.includes("taken")) return json(400, { name: ["The server says no."] });
        stored = { ...stored, name: body.name.trim() };
        return json(200, stored);
      },
    });
    renderApp("/explanations/review/4", signedIn("researcher", { username: "researcher1" }));
    const user = userEvent.setup();
    const open = await screen.findByTestId("rename-11");
    expect(screen.queryByTestId("rename-12")).not.toBeInTheDocument();
    expect(open).toHaveAccessibleName("Rename “STAA · tiny”");

    // Escape leaves the name as it was and gives focus back to "Rename".
    await user.click(open);
    const field = screen.getByTestId("rename-input");
    expect(field).toHaveFocus();
    expect(field).toHaveValue("STAA · tiny");
    await user.keyboard("Something else{Escape}");
    expect(screen.queryByTestId("rename-input")).not.toBeInTheDocument();
    expect(screen.getByTestId("rename-11")).toHaveFocus();
    expect(server.requestsTo("PATCH", "/api/v1/explanations/11/")).toHaveLength(0);

    // Too long: said before anything is sent.
    await user.keyboard("{Enter}");
    await user.clear(screen.getByTestId("rename-input"));
    await user.type(screen.getByTestId("rename-input"), "x".repeat(121));
    await user.keyboard("{Enter}");
    expect(screen.getByTestId("rename-error")).toHaveTextContent("120 characters or fewer");
    expect(screen.getByTestId("rename-input")).toHaveAttribute("aria-invalid", "true");

    // The server's refusal keeps the field open with its reason.
    await user.clear(screen.getByTestId("rename-input"));
    await user.type(screen.getByTestId("rename-input"), "taken name{Enter}");
    expect(await screen.findByTestId("rename-error")).toHaveTextContent("The server says no.");
    expect(screen.getByTestId("rename-input")).toHaveFocus();

    await user.clear(screen.getByTestId("rename-input"));
    await user.type(screen.getByTestId("rename-input"), "  Sharper run {Enter}");
    await waitFor(() => expect(screen.queryByTestId("rename-input")).not.toBeInTheDocument());
    const [first] = screen.getAllByTestId("explanation-name");
    expect(first).toHaveTextContent(/^Sharper run · STAA · tiny · default parameters/);
    expect(screen.getByTestId("rename-11")).toHaveFocus();
  });

  it("says so when the video is not visible", async () => {
    mockFetch({ "GET /api/v1/videos/4/": () => json(404, { detail: "Not found." }) });
    renderApp("/explanations/review/4", signedIn("researcher"));
    expect(await screen.findByRole("alert")).toHaveTextContent(/no video here/);
  });
});
