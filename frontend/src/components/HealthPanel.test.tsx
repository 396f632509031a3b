import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { json, mockFetch } from "../test/fetchMock";
import { DEGRADED, HEALTHY } from "../test/fixtures";
import { HealthPanel } from "./HealthPanel";

describe("HealthPanel", () => {
  it("renders a 503 payload as degraded, check by check and queue by queue", async () => {
    mockFetch({ "GET /healthz": () => json(503, DEGRADED) });
    render(<HealthPanel />);

    const overall = await screen.findByText(/Degraded/);
    expect(overall).toHaveAttribute("data-status", "degraded");

    const database = screen.getByTestId("health-check-database");
    expect(database).toHaveAttribute("data-ok", "true");
    expect(within(database).getByText("OK")).toBeInTheDocument();

    const broker = screen.getByTestId("health-check-broker");
    expect(broker).toHaveAttribute("data-ok", "false");
    expect(within(broker).getByText("Down")).toBeInTheDocument();
    expect(broker).toHaveTextContent("Connection refused");

    expect(screen.getByTestId("health-check-workers")).toHaveTextContent("No worker is consuming the gpu queue.");

    const defaultQueue = screen.getByTestId("health-queue-default");
    expect(defaultQueue).toHaveAttribute("data-workers", "2");
    expect(defaultQueue).toHaveTextContent("celery@host-a, celery@host-b");
    const gpuQueue = screen.getByTestId("health-queue-gpu");
    expect(gpuQueue).toHaveAttribute("data-workers", "0");
    expect(within(gpuQueue).getByText("None")).toBeInTheDocument();
  });

  it("renders a healthy platform", async () => {
    mockFetch({ "GET /healthz": () => json(200, HEALTHY) });
    render(<HealthPanel />);
    expect(await screen.findByText("All systems operational")).toHaveAttribute("data-status", "ok");
    expect(screen.getByTestId("health-queue-gpu")).toHaveTextContent("celery@gpu-1");
  });

  it("says the status is unavailable when /healthz does not answer with a report", async () => {
    mockFetch({ "GET /healthz": () => new Response("<h1>Bad gateway</h1>", { status: 502 }) });
    render(<HealthPanel />);
    expect(await screen.findByText("Status unavailable")).toHaveAttribute("data-status", "unavailable");
    expect(screen.getByTestId("health-error")).toHaveTextContent("error 502");
  });

  it("checks again on request", async () => {
    let healthy = false;
    const server = mockFetch({ "GET /healthz": () => (healthy ? json(200, HEALTHY) : json(503, DEGRADED)) });
    render(<HealthPanel />);
    await screen.findByText(/Degraded/);
    healthy = true;
    await userEvent.setup().click(screen.getByRole("button", { name: "Refresh status" }));
    expect(await screen.findByText("All systems operational")).toBeInTheDocument();
    expect(server.requestsTo("GET", "/healthz")).toHaveLength(2);
  });
});
