import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { csrfEndpoint, json, mockFetch } from "../../test/fetchMock";
import { renderApp, signedIn } from "../../test/render";

const ANON = { status: "anonymous" } as const;

const STAGE = {
  title: "Which map helps?",
  consent_text: "I agree to take part.",
  instructions_text: "Look and answer.",
  progress: { done: 0, total: 1 },
  time_limit_seconds: 0,
  completion_code: null,
  redirect_url: null,
};

describe("participant app", () => {
  it("refuses a link without a participant id without calling the server", async () => {
    const server = mockFetch({});
    renderApp("/p/which-map", ANON);
    expect(await screen.findByRole("alert")).toHaveTextContent("no participant id");
    expect(server.requestsTo("POST", "/api/v1/participate/start/which-map/")).toHaveLength(0);
  });

  it("starts with the recruitment ids and asks for consent", async () => {
    const server = mockFetch({
      "GET /api/v1/auth/csrf/": csrfEndpoint(),
      "POST /api/v1/participate/start/which-map/": () =>
        json(200, { ...STAGE, session: "abc", stage: "consent" }),
      "POST /api/v1/participate/consent/": () => json(200, { ...STAGE, stage: "instructions" }),
    });
    renderApp("/p/which-map?PROLIFIC_PID=p1&STUDY_ID=s&SESSION_ID=x", ANON);
    expect(await screen.findByRole("heading", { name: "Consent" })).toBeInTheDocument();
    const [start] = server.requestsTo("POST", "/api/v1/participate/start/which-map/");
    expect(await start!.json()).toMatchObject({
      params: { PROLIFIC_PID: "p1", STUDY_ID: "s", SESSION_ID: "x" },
    });
    const agree = screen.getByRole("button", { name: "I agree" });
    expect(agree).toBeDisabled();
    await userEvent.click(screen.getByRole("checkbox"));
    await userEvent.click(agree);
    expect(await screen.findByRole("heading", { name: "Instructions" })).toBeInTheDocument();
    const [consent] = server.requestsTo("POST", "/api/v1/participate/consent/");
    expect(consent!.headers.get("X-Study-Session")).toBe("abc");
  });
});

describe("studies area", () => {
  it("lists the researcher's studies", async () => {
    mockFetch({
      "GET /api/v1/studies/": () =>
        json(200, [
          { id: 1, title: "Maps", status: "open", trial_kinds: ["rating"], n_stimuli: 4, n_sessions: 2 },
        ]),
    });
    renderApp("/studies", signedIn("researcher"));
    expect(await screen.findByRole("link", { name: "Maps" })).toHaveAttribute("href", "/studies/1");
    expect(screen.getByTestId("study-list")).toHaveTextContent("open");
  });
});

describe("study page", () => {
  it("shows stimuli with their methods, the report with charts, and the CSV link", async () => {
    mockFetch({
      "GET /api/v1/studies/1/": () =>
        json(200, {
          id: 1,
          title: "Maps",
          slug: "maps",
          status: "open",
          trial_kinds: ["rating", "pairwise"],
          trials_per_participant: 4,
          completion_code: "C0DE",
          participant_link: "/p/maps",
        }),
      "GET /api/v1/studies/1/stimuli/": () =>
        json(200, [
          { id: 1, token: "abcdef0123", explanation: 3, method: "staa", model: "m", video: 1, video_title: "v" },
        ]),
      "GET /api/v1/studies/1/analysis/": () =>
        json(200, {
          participants: { started: 3, completed: 3, screened_out: 1, returned: 1, excluded_for_checks: 0 },
          responses: { total: 12, kept: 10, excluded: { practice: 2 } },
          ratings: [{ method: "staa", n: 5, mean: 5.2, ci_low: 4.8, ci_high: 5.6 }],
          rating_alpha: 0.61,
          pairwise: {
            methods: ["rollout", "staa"],
            scores: [
              { method: "staa", score: 0.4, ci_low: 0.1, ci_high: 0.7 },
              { method: "rollout", score: -0.4, ci_low: -0.7, ci_high: -0.1 },
            ],
            pairs: [{ a: "rollout", b: "staa", n: 6, a_wins: 1, win_rate_a: 1 / 6 }],
          },
          forward: [],
          pointing: [],
          distinction: {
            k: 4,
            chance: 0.25,
            chance_rule: "a participant guessing picks the predicted class with probability 1/k = 1/4",
            methods: [
              { method: "staa", n: 8, correct: 6, accuracy: 0.75, chance: 0.25, p_value: 0.004, ci_low: 0.41, ci_high: 0.93 },
            ],
          },
          calibration: {
            asked: true,
            overall: {
              n: 8,
              accuracy: 0.75,
              mean_confidence: 3.5,
              spearman_rho: 0.6,
              p_value: 0.1,
              levels: [1, 2, 3, 4, 5].map((c) => ({
                confidence: c,
                n: c === 5 ? 4 : 1,
                correct: c === 5 ? 4 : 0,
                accuracy: c === 5 ? 1 : 0,
                ci_low: 0,
                ci_high: 1,
              })),
            },
            by_kind: {},
          },
          speeders: { rule: "log response time more than 3 SD below", bounds_ms: {}, flagged: 1, flagged_kept: 1, participants: ["p7"] },
          provenance: {
            code_version: "wherewhen 0.9.0+abc",
            stimuli: [
              { stimulus: "abcdef0123", method: "staa", explanation: 3, model: "m", checkpoint_hash: "f1", explanation_hash: "e1", video_hash: "v1" },
              { stimulus: "abcdef0124", method: "rollout", explanation: 4, model: "m", checkpoint_hash: "f1", explanation_hash: "e2", video_hash: "v1" },
            ],
            stale_answers: 2,
          },
        }),
      "GET /api/v1/studies/1/trial-preview/": () =>
        json(400, { detail: "The study has no 'rating' trials to preview (check its kinds and stimuli)." }),
    });
    renderApp("/studies/1", signedIn("researcher"));
    expect(await screen.findByRole("heading", { name: "Maps" })).toBeInTheDocument();
    expect(await screen.findByTestId("study-report")).toHaveTextContent("practice: 2");
    expect(screen.getAllByTestId("interval-chart")).toHaveLength(2);
    expect(screen.getByTestId("stimuli")).toHaveTextContent("staa");
    expect(screen.getByRole("link", { name: /Download CSV/ })).toHaveAttribute(
      "href",
      "/api/v1/studies/1/export/",
    );
    expect(screen.getByTestId("participant-link")).toHaveTextContent("/p/maps?PROLIFIC_PID=");
    expect(screen.getByTestId("study-report")).toHaveTextContent("1 screened out, 1 returned");
    expect(screen.getByTestId("distinction-table")).toHaveTextContent("75%");
    expect(screen.getByTestId("calibration-table")).toHaveTextContent("100%");
    expect(screen.getByRole("link", { name: /calibration CSV/ })).toHaveAttribute(
      "href",
      "/api/v1/studies/1/export/?table=calibration",
    );
    expect(screen.getByTestId("speeders")).toHaveTextContent("1 response(s) flagged (participants p7)");
    expect(screen.getByTestId("report-provenance")).toHaveTextContent(
      "Computed by wherewhen 0.9.0+abc from 2 explanations of 1 model checkpoint;",
    );
    expect(screen.getByTestId("report-stale")).toHaveTextContent("2 answers were given on a map");
    expect(await screen.findByTestId("trial-preview")).toHaveTextContent("no 'rating' trials to preview");
  });
  it("adds a sparse map only when asked, and marks it accepted instead of failing", async () => {
    let stimuli: unknown[] = [];
    const server = mockFetch({
      "GET /api/v1/auth/csrf/": csrfEndpoint(),
      "GET /api/v1/studies/1/": () =>
        json(200, {
          id: 1,
          title: "Maps",
          slug: "maps",
          status: "draft",
          trial_kinds: ["rating"],
          trials_per_participant: 4,
          completion_code: "C0DE",
          participant_link: "/p/maps",
        }),
      "GET /api/v1/studies/1/stimuli/": () => json(200, stimuli),
      "POST /api/v1/studies/1/stimuli/": () => {
        stimuli = [
          {
            id: 7,
            token: "0123abcdef",
            explanation: 9,
            method: "staa_plus",
            model: "m",
            video: 1,
            video_title: "v",
            coverage: { shown: 2, frames: 8, mostly_blank: true },
            allow_sparse: true,
          },
        ];
        return json(201, stimuli);
      },
      "GET /api/v1/studies/1/analysis/": () => json(404, { detail: "none yet" }),
      "GET /api/v1/studies/1/trial-preview/": () => json(400, { detail: "no stimuli" }),
    });
    renderApp("/studies/1", signedIn("researcher"));
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText("Add explanations (ids)"), "9");
    await user.click(screen.getByTestId("allow-sparse"));
    await user.click(screen.getByRole("button", { name: "Add" }));
    const [sent] = server.requestsTo("POST", "/api/v1/studies/1/stimuli/");
    expect(await sent!.json()).toEqual({ explanations: [9], allow_sparse: true });
    expect(await screen.findByTestId("stimulus-coverage")).toHaveTextContent("2 of 8 frames · accepted");
    expect(screen.queryByTestId("blank-warning")).not.toBeInTheDocument();
  });
});
