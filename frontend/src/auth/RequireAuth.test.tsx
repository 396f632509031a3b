import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { json, mockFetch, noContent } from "../test/fetchMock";
import { HEALTHY } from "../test/fixtures";
import { makeUser, renderApp } from "../test/render";

describe("route guarding", () => {
  it.each([
    ["/library", "/login?next=%2Flibrary"],
    ["/annotate?project=3", "/login?next=%2Fannotate%3Fproject%3D3"],
    ["/", "/login"],
  ])("sends an anonymous visitor of %s to %s", async (path, expected) => {
    mockFetch({
      "GET /api/v1/auth/me/": () => json(403, { detail: "Authentication credentials were not provided." }),
    });
    renderApp(path);
    expect(await screen.findByRole("button", { name: "Sign in" })).toBeInTheDocument();
    expect(screen.getByTestId("test-location").textContent).toBe(expected);
    expect(screen.queryByRole("navigation", { name: "Main" })).not.toBeInTheDocument();
  });

  it("shows the page to a signed-in user", async () => {
    mockFetch({
      "GET /api/v1/auth/me/": () => json(200, makeUser("researcher", { username: "rita", display_name: "Rita Ng" })),
      "GET /healthz": () => json(200, HEALTHY),
    });
    renderApp("/");
    expect(await screen.findByRole("heading", { level: 1, name: /Dashboard/ })).toBeInTheDocument();
    expect(screen.getByTestId("dashboard-user-name")).toHaveTextContent("Rita Ng");
    expect(screen.getByTestId("dashboard-user-role")).toHaveTextContent("Researcher");
    expect(screen.getByTestId("user-menu")).toHaveTextContent("rita");
  });

  it("says so when the server is unreachable instead of pretending nobody is signed in", async () => {
    mockFetch({
      "GET /api/v1/auth/me/": () => json(502, "<html>Bad gateway</html>"),
    });
    renderApp("/library");
    expect(await screen.findByRole("alert")).toHaveTextContent(/error 502/);
    expect(screen.getByTestId("test-location").textContent).toBe("/library");
  });

  it("signs out and returns to the login page", async () => {
    const server = mockFetch({
      "GET /api/v1/auth/me/": () => json(200, makeUser("annotator")),
      "GET /api/v1/auth/csrf/": () => {
        document.cookie = "csrftoken=abc; path=/";
        return noContent();
      },
      "POST /api/v1/auth/logout/": () => noContent(),
    });
    renderApp("/annotate");
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Sign out" }));
    expect(await screen.findByRole("button", { name: "Sign in" })).toBeInTheDocument();
    expect(screen.getByTestId("test-location").textContent).toBe("/login");
    expect(server.requestsTo("POST", "/api/v1/auth/logout/")[0]!.headers.get("X-CSRFToken")).toBe("abc");
  });
});
