import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { csrfEndpoint, json, mockFetch } from "../test/fetchMock";
import { HEALTHY } from "../test/fixtures";
import { makeUser, renderApp } from "../test/render";

const LOGIN = "/api/v1/auth/login/";

async function fillAndSubmit(username: string, password: string) {
  const user = userEvent.setup();
  await user.type(await screen.findByLabelText("Username"), username);
  await user.type(screen.getByLabelText("Password"), password);
  await user.click(screen.getByRole("button", { name: "Sign in" }));
}

describe("LoginPage", () => {
  it("sends the credentials with the CSRF token and shows the server's error", async () => {
    const server = mockFetch({
      "GET /api/v1/auth/me/": () => json(403, { detail: "Authentication credentials were not provided." }),
      "GET /api/v1/auth/csrf/": csrfEndpoint("tok-123"),
      "POST /api/v1/auth/login/": () => json(400, { detail: "Invalid username or password." }),
    });
    renderApp("/login");

    await fillAndSubmit("alice", "wrong-password");

    expect(await screen.findByRole("alert")).toHaveTextContent("Invalid username or password.");
    const [request] = server.requestsTo("POST", LOGIN);
    expect(request).toBeDefined();
    expect(request!.headers.get("X-CSRFToken")).toBe("tok-123");
    expect(request!.headers.get("Content-Type")).toContain("application/json");
    expect(await request!.json()).toEqual({ username: "alice", password: "wrong-password" });
    expect(screen.getByTestId("test-location")).toHaveTextContent("/login");
  });

  it("reuses an existing csrftoken cookie", async () => {
    document.cookie = "csrftoken=from-cookie; path=/";
    const server = mockFetch({
      "GET /api/v1/auth/me/": () => json(403, { detail: "Not signed in." }),
      "POST /api/v1/auth/login/": () => json(400, { detail: "Invalid username or password." }),
    });
    renderApp("/login");
    await fillAndSubmit("alice", "x");
    await screen.findByRole("alert");
    expect(server.requestsTo("GET", "/api/v1/auth/csrf/")).toHaveLength(0);
    expect(server.requestsTo("POST", LOGIN)[0]!.headers.get("X-CSRFToken")).toBe("from-cookie");
  });

  it("shows field errors in plain words", async () => {
    mockFetch({
      "GET /api/v1/auth/me/": () => json(403, { detail: "Not signed in." }),
      "GET /api/v1/auth/csrf/": csrfEndpoint(),
      "POST /api/v1/auth/login/": () => json(400, { password: ["This field may not be blank."] }),
    });
    renderApp("/login");
    await fillAndSubmit("alice", "x");
    expect(await screen.findByRole("alert")).toHaveTextContent("Password: This field may not be blank.");
  });

  it("explains when the server cannot be reached", async () => {
    mockFetch({
      "GET /api/v1/auth/me/": () => json(403, { detail: "Not signed in." }),
      "GET /api/v1/auth/csrf/": csrfEndpoint(),
      "POST /api/v1/auth/login/": () => Promise.reject(new TypeError("fetch failed")),
    });
    renderApp("/login");
    await fillAndSubmit("alice", "secret");
    expect(await screen.findByRole("alert")).toHaveTextContent(/could not reach the wherewhen server/i);
  });

  it("asks for both fields before calling the server", async () => {
    const server = mockFetch({
      "GET /api/v1/auth/me/": () => json(403, { detail: "Not signed in." }),
    });
    renderApp("/login");
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Enter your username and password.");
    expect(server.requestsTo("POST", LOGIN)).toHaveLength(0);
  });

  it("signs in and goes to the `next` page", async () => {
    mockFetch({
      "GET /api/v1/auth/me/": () => json(403, { detail: "Not signed in." }),
      "GET /api/v1/auth/csrf/": csrfEndpoint(),
      "POST /api/v1/auth/login/": () => json(200, makeUser("researcher", { username: "alice" })),
    });
    renderApp("/login?next=%2Flibrary");
    await fillAndSubmit("alice", "right-password");
    expect(await screen.findByRole("heading", { level: 1, name: "Library" })).toBeInTheDocument();
    expect(screen.getByTestId("test-location")).toHaveTextContent(/^\/library$/);
    expect(screen.getByTestId("user-menu")).toHaveTextContent("alice");
  });

  it("ignores a `next` that leaves the site", async () => {
    mockFetch({
      "GET /api/v1/auth/me/": () => json(403, { detail: "Not signed in." }),
      "GET /api/v1/auth/csrf/": csrfEndpoint(),
      "POST /api/v1/auth/login/": () => json(200, makeUser("annotator")),
      "GET /healthz": () => json(200, HEALTHY),
    });
    renderApp("/login?next=%2F%2Fevil.example%2F");
    await fillAndSubmit("annotator1", "pw");
    expect(await screen.findByRole("heading", { level: 1, name: /Dashboard/ })).toBeInTheDocument();
    await waitFor(() => expect(screen.getByTestId("test-location")).toHaveTextContent(/^\/$/));
  });

  it("sends a signed-in user straight on", async () => {
    mockFetch({
      "GET /api/v1/auth/me/": () => json(200, makeUser("reviewer")),
    });
    renderApp("/login?next=%2Fexplanations");
    expect(await screen.findByRole("heading", { level: 1, name: "Explanations" })).toBeInTheDocument();
  });
});
