import { screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { Role } from "../auth/roles";
import { json, mockFetch } from "../test/fetchMock";
import { HEALTHY } from "../test/fixtures";
import { renderApp, signedIn } from "../test/render";

function navLabels(): string[] {
  const nav = screen.getByRole("navigation", { name: "Main" });
  return within(nav)
    .getAllByRole("link")
    .map((link) => link.textContent ?? "");
}

describe("role-based navigation", () => {
  it.each<[Role, string[]]>([
    ["researcher", ["Dashboard", "Library", "Explanations", "Annotate", "Studies", "Leaderboard", "Meta-evaluation"]],
    ["reviewer", ["Dashboard", "Library", "Explanations", "Annotate"]],
    ["annotator", ["Dashboard", "Annotate"]],
    ["participant", ["Dashboard"]],
  ])("shows a %s the areas %j", async (role, expected) => {
    mockFetch({ "GET /healthz": () => json(200, HEALTHY) });
    renderApp("/", signedIn(role));
    await screen.findByRole("heading", { level: 1, name: /Dashboard/ });
    expect(navLabels()).toEqual(expected);
  });

  it("gives each nav item a stable test id", async () => {
    mockFetch({ "GET /healthz": () => json(200, HEALTHY) });
    renderApp("/", signedIn("researcher"));
    await screen.findByRole("heading", { level: 1, name: /Dashboard/ });
    for (const id of ["dashboard", "library", "explanations", "annotate", "studies", "leaderboard", "meta"]) {
      expect(screen.getByTestId(`nav-${id}`)).toBeInTheDocument();
    }
  });

  it("marks the current area", async () => {
    renderApp("/studies", signedIn("researcher"));
    expect(await screen.findByRole("link", { name: "Studies" })).toHaveAttribute("aria-current", "page");
    expect(screen.getByRole("link", { name: "Library" })).not.toHaveAttribute("aria-current");
  });

  it("keeps an annotator out of areas their role does not open", async () => {
    renderApp("/studies", signedIn("annotator"));
    expect(await screen.findByTestId("not-permitted")).toHaveTextContent(
      "Studies is not available to your role (Annotator).",
    );
    expect(screen.queryByTestId("empty-state")).not.toBeInTheDocument();
  });

  it("shows reviewers the review side of Annotate", async () => {
    const empty = { count: 0, next: null, previous: null, results: [] };
    mockFetch({ "GET /api/v1/annotation/assignments/": () => json(200, empty) });
    renderApp("/annotate", signedIn("reviewer"));
    expect(await screen.findByTestId("empty-state")).toHaveTextContent(/submitted annotations will appear here/);
  });

  it("shows annotators an empty Annotate area until they join a project", async () => {
    const empty = { count: 0, next: null, previous: null, results: [] };
    mockFetch({
      "GET /api/v1/annotation/queue/": () => json(200, []),
      "GET /api/v1/annotation/assignments/": () => json(200, empty),
    });
    renderApp("/annotate", signedIn("annotator"));
    expect(await screen.findByTestId("empty-state")).toHaveTextContent("Annotate — your tasks will appear here");
  });

  it.each([
    ["/explanations", "No ready video yet. Videos appear here once the library has processed them."],
    ["/studies", "Studies — human-evaluation studies will appear here once created."],
  ])("renders an honest empty state at %s", async (path, text) => {
    renderApp(path, signedIn("researcher"));
    expect(await screen.findByTestId("empty-state")).toHaveTextContent(text);
  });

  it("renders an honest empty state at /leaderboard", async () => {
    mockFetch({ "GET /api/v1/annotation/projects/": () => json(200, []) });
    renderApp("/leaderboard", signedIn("researcher"));
    expect(await screen.findByTestId("empty-state")).toHaveTextContent("Leaderboard — scores will appear here");
  });

  it("tells participants this workspace is not for them", async () => {
    const server = mockFetch({ "GET /healthz": () => json(200, HEALTHY) });
    renderApp("/", signedIn("participant"));
    expect(await screen.findByTestId("participant-notice")).toBeInTheDocument();
    expect(screen.queryByTestId("health-panel")).not.toBeInTheDocument();
    expect(server.requestsTo("GET", "/healthz")).toHaveLength(0);
  });
});
