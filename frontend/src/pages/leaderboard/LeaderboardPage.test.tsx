import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { json, mockFetch } from "../../test/fetchMock";
import { renderApp, signedIn } from "../../test/render";
import type { Leaderboard, LeaderboardRow } from "./api";

const estimate = (value: number | null, low: number | null = value, high: number | null = value, n = 24) => ({
  value,
  low,
  high,
  n,
});

function row(key: string, method: string, spatial: number): LeaderboardRow {
  return {
    key,
    kind: "method",
    model: { id: 3, name: "tiny" },
    method,
    variant: "",
    clips: 6,
    videos: 6,
    frames: 24,
    errors: 0,
    not_scored: 0,
    labels: ["jump"],
    spatial: estimate(spatial, Math.max(0, spatial - 0.1), Math.min(1, spatial + 0.1)),
    small: estimate(spatial),
    temporal: estimate(0.5, 0.2, 0.8, 6),
    spacetime: estimate(0.5, 0.2, 0.8, 6),
    sound: estimate(null, null, null, 0),
    energy: estimate(0.4),
    iou: estimate(0.3),
    sparsity: 0.7,
    deletion_auc: null,
    insertion_auc: null,
    cost: { wall_seconds: 0.5, forward_passes: 1, backward_passes: 0, peak_memory_bytes: null },
    stale: 0,
    checkpoint_hash: "c".repeat(64),
    params: {},
    gt_version: "g".repeat(64),
  };
}

const board: Leaderboard = {
  project: { id: 1, name: "Jumps" },
  dataset: null,
  model: null,
  tolerance: 15,
  stale: false,
  pending: 0,
  stale_scores: 0,
  stale_reasons: {},
  ground_truth: { exclude_exposed: true, annotations_used: 12, excluded_annotations: 0, videos_with_exclusions: 0 },
  code_version: "scoring 4; wherewhen 0.1.0",
  reason: "",
  confidence: 0.95,
  resamples: 2000,
  videos: 6,
  rows: [row("3:staa_plus:abc", "staa_plus", 0.9), { ...row("3:random:def", "random", 0.1), not_scored: 1 }],
  human: { key: "human", kind: "human", annotations: 2, videos: 6, frames: 48, spatial: estimate(0.95, 0.9, 1, 48) },
  comparisons: [
    {
      a: "3:random:def",
      b: "3:staa_plus:abc",
      metric: "spatial",
      test: "paired sign-flip permutation over videos",
      frames: 24,
      videos: 6,
      accuracy_a: 0.1,
      accuracy_b: 0.9,
      difference: -0.8,
      p_value: 0.03125,
      a_only: 0,
      b_only: 19,
      exact: true,
    },
  ],
  notes: ["Faithfulness (deletion / insertion AUC) needs model passes and is not stored."],
  options: { datasets: [{ id: 5, name: "synthetic" }], models: [{ id: 3, name: "tiny" }] },
};

const clips = {
  row: "3:random:def",
  clips: [
    {
      explanation: 41,
      video: { id: 9, name: "clip 0" },
      frames_counted: 2,
      frames_hit: 1,
      spatial: 0.5,
      temporal_hit: true,
      spacetime_hit: false,
      sound_hit: false,
      energy: 0.3,
      error: "",
      class_name: "jumping",
      label: "jump",
      not_scored: "",
      frames: [
        { index: 0, time: 0, frame: 0, counted: true, hit: true },
        { index: 1, time: 0.5, frame: 5, counted: true, hit: false },
        { index: 2, time: 1, frame: null, counted: false, hit: null },
      ],
      focus_time: 0.5,
      player_url: "/explanations/review/9?ids=41&t=0.500",
      stale: true,
      stale_reason: "explanation recomputed since scoring",
      gt_version: "g".repeat(64),
      excluded_annotations: 0,
    },
    {
      explanation: 42,
      video: { id: 10, name: "clip 1" },
      frames_counted: 0,
      frames_hit: 0,
      spatial: null,
      temporal_hit: null,
      spacetime_hit: null,
      sound_hit: null,
      energy: null,
      error: "",
      class_name: "wave",
      label: null,
      not_scored: "Not scored: class 'wave' maps to no annotation label of project 'Jumps'.",
      frames: [{ index: 0, time: 0, frame: null, counted: false, hit: null }],
      focus_time: 0,
      player_url: "/explanations/review/10?ids=42&t=0.000",
      stale: false,
      stale_reason: "",
      gt_version: "g".repeat(64),
      excluded_annotations: 0,
    },
  ],
};

describe("leaderboard", () => {
  it("shows the table, the chart with intervals, the tests and a drill-down into the player", async () => {
    const server = mockFetch({
      "GET /api/v1/annotation/projects/": () => json(200, [{ id: 1, name: "Jumps" }]),
      "GET /api/v1/scoring/leaderboards/": () => json(200, board),
      "GET /api/v1/scoring/leaderboards/clips/": () => json(200, clips),
    });
    renderApp("/leaderboard", signedIn("researcher"));
    const table = await screen.findByTestId("leaderboard-table");
    const rows = within(table).getAllByTestId("leaderboard-row");
    expect(rows.map((r) => r.dataset.method)).toEqual(["staa_plus", "random"]);
    expect(rows[0]).toHaveTextContent("STAA+");
    expect(within(rows[0]!).getByTestId("cell-spatial")).toHaveAttribute("aria-label", "90% [80–100%]");
    expect(screen.getByTestId("leaderboard-human")).toHaveTextContent("95%");
    // the project was chosen for the user, and the query carries it
    await waitFor(() => expect(screen.getByTestId("test-location")).toHaveTextContent("project=1"));
    expect(server.requestsTo("GET", "/api/v1/scoring/leaderboards/")[0]!.url).toContain("project=1");

    const chart = screen.getByTestId("leaderboard-chart");
    expect(within(chart).getAllByTestId("chart-bar")).toHaveLength(3); // two methods + human
    expect(within(chart).getAllByTestId("chart-whisker")).toHaveLength(3);
    expect(screen.getByTestId("comparison-p")).toHaveTextContent("0.031");
    expect(screen.getByTestId("export-csv")).toHaveAttribute("href", "/api/v1/scoring/leaderboards/export.csv?project=1");

    expect(within(rows[0]!).queryByTestId("row-not-scored")).not.toBeInTheDocument();
    expect(within(rows[1]!).getByTestId("row-not-scored")).toHaveTextContent("1 not scored");

    fireEvent.click(within(rows[1]!).getByTestId("row-clips"));
    const panel = await screen.findByTestId("clips-panel");
    const [scored, unscored] = await within(panel).findAllByTestId("clip-item");
    expect(scored).toHaveTextContent("1 of 2 frames hit · when: hit · heard: miss");
    expect(within(scored!).getByTestId("clip-label")).toHaveTextContent("scored against jump (class jumping)");
    expect(within(scored!).getByTestId("clip-link")).toHaveAttribute("href", "/explanations/review/9?ids=41&t=0.500");
    const frames = within(scored!).getAllByTestId("clip-frame");
    expect(frames.map((f) => f.dataset.hit)).toEqual(["true", "false", "none"]);
    expect(within(scored!).getByTestId("clip-stale")).toHaveAttribute("title", "explanation recomputed since scoring");
    expect(within(unscored!).queryByTestId("clip-stale")).not.toBeInTheDocument();
    // A clip that is not scored says why, instead of counting as 0 of 0.
    expect(unscored).toHaveAttribute("data-scored", "false");
    expect(within(unscored!).getByTestId("clip-not-scored")).toHaveTextContent(
      "Not scored: class 'wave' maps to no annotation label of project 'Jumps'.",
    );
    expect(unscored).not.toHaveTextContent("frames hit");
    expect(within(unscored!).queryByTestId("clip-label")).not.toBeInTheDocument();
    expect(server.requestsTo("GET", "/api/v1/scoring/leaderboards/clips/")[0]!.url).toContain("row=3%3Arandom%3Adef");
  });

  it("shows the sound temporal pointing game, blank with a note where a row has no sound data", async () => {
    const withSound = {
      ...board,
      rows: [{ ...board.rows[0]!, sound: estimate(0.75, 0.5, 1, 4) }, board.rows[1]!],
    };
    mockFetch({
      "GET /api/v1/annotation/projects/": () => json(200, [{ id: 1, name: "Jumps" }]),
      "GET /api/v1/scoring/leaderboards/": () => json(200, withSound),
    });
    renderApp("/leaderboard?project=1&metric=sound", signedIn("researcher"));
    const table = await screen.findByTestId("leaderboard-table");
    expect(within(table).getByTestId("col-sound")).toHaveTextContent("Sound temporal");
    const cells = within(table).getAllByTestId("cell-sound");
    expect(cells[0]).toHaveAttribute("aria-label", "75% [50–100%]");
    expect(cells[1]).toHaveTextContent("–");
    expect(cells[1]).toHaveAttribute("data-value", "");
    expect(screen.getByTestId("sound-note")).toHaveTextContent(/no sound data/);
    expect(screen.getByTestId("leaderboard-metric")).toHaveValue("sound");
    const chart = screen.getByTestId("leaderboard-chart");
    expect(chart).toHaveTextContent("Sound temporal pointing");
  });

  it("shows stale scores with their reasons, and the annotations left out of the ground truth", async () => {
    const stale = {
      ...board,
      stale_scores: 2,
      stale_reasons: { "ground truth changed since scoring": 2 },
      ground_truth: { exclude_exposed: true, annotations_used: 11, excluded_annotations: 1, videos_with_exclusions: 1 },
      rows: [{ ...board.rows[0]!, stale: 2 }, board.rows[1]!],
    };
    mockFetch({
      "GET /api/v1/annotation/projects/": () => json(200, [{ id: 1, name: "Jumps" }]),
      "GET /api/v1/scoring/leaderboards/": () => json(200, stale),
    });
    renderApp("/leaderboard?project=1", signedIn("researcher"));
    const table = await screen.findByTestId("leaderboard-table");
    expect(screen.getByTestId("leaderboard-outdated")).toHaveTextContent("2 stale scores");
    expect(screen.getByTestId("leaderboard-provenance")).toHaveTextContent("ground truth changed since scoring (2)");
    expect(screen.getByTestId("leaderboard-excluded")).toHaveTextContent(
      "Ground truth: 11 annotations · 1 excluded (exposed annotators)",
    );
    const rows = within(table).getAllByTestId("leaderboard-row");
    expect(within(rows[0]!).getByTestId("row-stale")).toHaveTextContent("2 stale");
    expect(within(rows[1]!).queryByTestId("row-stale")).not.toBeInTheDocument();
    expect(screen.getByTestId("export-scores")).toHaveAttribute("href", "/api/v1/scoring/scores/export.csv?project=1");
  });

  it("has no stale badge when every score is current", async () => {
    mockFetch({
      "GET /api/v1/annotation/projects/": () => json(200, [{ id: 1, name: "Jumps" }]),
      "GET /api/v1/scoring/leaderboards/": () => json(200, board),
    });
    renderApp("/leaderboard?project=1", signedIn("researcher"));
    await screen.findByTestId("leaderboard-table");
    expect(screen.queryByTestId("leaderboard-outdated")).not.toBeInTheDocument();
    expect(screen.queryByTestId("row-stale")).not.toBeInTheDocument();
    expect(screen.getByTestId("leaderboard-excluded")).toHaveTextContent("0 excluded");
  });

  it("has no sound note when every row has sound data", async () => {
    const all = { ...board, rows: board.rows.map((r) => ({ ...r, sound: estimate(0.5) })) };
    mockFetch({
      "GET /api/v1/annotation/projects/": () => json(200, [{ id: 1, name: "Jumps" }]),
      "GET /api/v1/scoring/leaderboards/": () => json(200, all),
    });
    renderApp("/leaderboard?project=1", signedIn("researcher"));
    const table = await screen.findByTestId("leaderboard-table");
    expect(within(table).getAllByTestId("cell-sound")[1]).toHaveAttribute("aria-label", "50% [50–50%]");
    expect(screen.queryByTestId("sound-note")).not.toBeInTheDocument();
  });

  it("says why a table is empty", async () => {
    mockFetch({
      "GET /api/v1/annotation/projects/": () => json(200, [{ id: 1, name: "Jumps" }]),
      "GET /api/v1/scoring/leaderboards/": () =>
        json(200, { ...board, rows: [], human: null, comparisons: [], reason: "Project 'Jumps' has no ground truth yet." }),
    });
    renderApp("/leaderboard?project=1", signedIn("researcher"));
    expect(await screen.findByTestId("leaderboard-reason")).toHaveTextContent("no ground truth yet");
    expect(screen.queryByTestId("leaderboard-table")).not.toBeInTheDocument();
  });
});
