import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { csrfEndpoint, json, mockFetch, type Handler } from "../../test/fetchMock";
import { renderApp, signedIn } from "../../test/render";
import { applyChoices, effectiveLabel } from "./ClassMapCard";

const PROGRESS = {
  videos: 2,
  gold_items: 0,
  videos_done: 0,
  flagged: 0,
  in_progress: 0,
  expired: 0,
  submitted: 0,
  accepted: 0,
  rejected: 0,
};

function project(classMap: Record<string, string | null>) {
  return {
    id: 1,
    name: "Streets",
    owner: "researcher1",
    instructions: "",
    labels: ["car", "hand", "person"],
    class_map: classMap,
    overlap: 3,
    max_overlap: 5,
    lease_minutes: 30,
    show_predictions: false,
    exclude_exposed: true,
    auto_accept: false,
    gold_every: 5,
    agreement_threshold: 0.5,
    active: true,
    annotators: [],
    created_at: "2026-01-01T00:00:00Z",
    updated_at: "2026-01-01T00:00:00Z",
    progress: PROGRESS,
  };
}

function model(id: number, name: string, labels: string[]) {
  return {
    id,
    name,
    description: "",
    architecture: "timesformer",
    checkpoint_dir: `/models/${name}`,
    labels,
    num_classes: labels.length,
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
}

const LABELS = ["car", "hand", "person"];
const SAVED_MAP = { Wave: "hand", bird: null, "sports car": "car" };

function page(results: unknown[]) {
  return { count: results.length, next: null, previous: null, results };
}

function routes(extra: Record<string, Handler> = {}) {
  return {
    "GET /api/v1/auth/csrf/": csrfEndpoint(),
    "GET /api/v1/annotation/projects/1/": () => json(200, project(SAVED_MAP)),
    "GET /api/v1/annotation/tasks/": () => json(200, page([])),
    "GET /api/v1/annotation/projects/1/quality/": () => json(200, { annotators: [], videos: [], agreement_threshold: 0.5 }),
    "GET /api/v1/models/": () =>
      json(200, page([model(9, "tiny", ["car", "wave", "truck", "bird"]), model(10, "other", ["sports car"])])),
    ...extra,
  };
}

function row(name: string): HTMLElement {
  return screen.getAllByTestId("class-map-row").find((r) => r.dataset.class === name)!;
}

describe("classes to labels", () => {
  it("shows each class's label and saves the choices as a PATCH of the class map", async () => {
    let classMap: Record<string, string | null> = { ...SAVED_MAP };
    const server = mockFetch(
      routes({
        "GET /api/v1/annotation/projects/1/class-map/": (request) => {
          const modelId = Number(new URL(request.url).searchParams.get("model"));
          const explicit = (name: string) => Object.keys(classMap).find((k) => k.toLowerCase() === name);
          const names = modelId === 9 ? ["car", "wave", "truck", "bird"] : ["sports car"];
          const classes = names.map((name) => {
            const key = explicit(name);
            if (key !== undefined) return { class_name: name, label: classMap[key] ?? null, explicit: true };
            return { class_name: name, label: LABELS.includes(name) ? name : null, explicit: false };
          });
          return json(200, { model: modelId, labels: LABELS, classes });
        },
        "PATCH /api/v1/annotation/projects/1/": async (request) => {
          classMap = (await request.clone().json()).class_map;
          return json(200, project(classMap));
        },
      }),
    );
    renderApp("/annotate/projects/1", signedIn("researcher"));
    const card = await screen.findByTestId("class-map-card");
    await within(card).findByTestId("class-map-table");
    expect(server.requestsTo("GET", "/api/v1/annotation/projects/1/class-map/")[0]!.url).toContain("model=9");

    const select = (name: string) => within(row(name)).getByRole("combobox", { name: `Label of class ${name}` });
    expect(select("car")).toHaveValue("default");
    expect(select("wave")).toHaveValue("label:hand");
    expect(select("truck")).toHaveValue("default");
    expect(select("bird")).toHaveValue("none");
    expect(within(row("car")).getByTestId("class-map-result")).toHaveTextContent("car");
    expect(within(row("truck")).getByTestId("class-map-result")).toHaveTextContent("not scored");
    expect(within(select("truck")).getAllByRole("option").map((o) => o.textContent)).toEqual([
      "same name (default)",
      "not scored",
      "car",
      "hand",
      "person",
    ]);
    expect(within(card).getByTestId("class-map-save")).toBeDisabled();

    // An explicit label, back to the default, and "not scored".
    fireEvent.change(select("truck"), { target: { value: "label:car" } });
    fireEvent.change(select("wave"), { target: { value: "default" } });
    fireEvent.change(select("car"), { target: { value: "none" } });
    expect(within(row("truck")).getByTestId("class-map-result")).toHaveTextContent("car · changed");
    expect(within(row("wave")).getByTestId("class-map-result")).toHaveTextContent("not scored");
    fireEvent.click(within(card).getByTestId("class-map-save"));

    await waitFor(() => expect(server.requestsTo("PATCH", "/api/v1/annotation/projects/1/")).toHaveLength(1));
    const patch = server.requestsTo("PATCH", "/api/v1/annotation/projects/1/")[0]!;
    expect(patch.headers.get("X-CSRFToken")).toBe("test-csrf-token");
    // Entries for the other model's classes stay; "default" removes the class's entry (any case).
    expect(await patch.json()).toEqual({ class_map: { bird: null, "sports car": "car", truck: "car", car: null } });
    expect(await within(card).findByRole("status")).toHaveTextContent("Saved 3 classes.");
    await waitFor(() => expect(server.requestsTo("GET", "/api/v1/annotation/projects/1/class-map/")).toHaveLength(2));
    await waitFor(() => expect(select("truck")).toHaveValue("label:car"));
    expect(select("car")).toHaveValue("none");
    expect(select("wave")).toHaveValue("default");
    expect(within(card).getByTestId("class-map-save")).toBeDisabled();

    // Another model's classes.
    fireEvent.change(within(card).getByTestId("class-map-model"), { target: { value: "10" } });
    await waitFor(() => expect(screen.getAllByTestId("class-map-row").map((r) => r.dataset.class)).toEqual(["sports car"]));
    expect(server.requestsTo("GET", "/api/v1/annotation/projects/1/class-map/").at(-1)!.url).toContain("model=10");
    expect(select("sports car")).toHaveValue("label:car");
  });

  it("shows the server's reason when the class map is refused", async () => {
    mockFetch(
      routes({
        "GET /api/v1/annotation/projects/1/class-map/": () =>
          json(200, { model: 9, labels: LABELS, classes: [{ class_name: "truck", label: null, explicit: false }] }),
        "PATCH /api/v1/annotation/projects/1/": () =>
          json(400, { class_map: ["Class 'truck': 'lorry' is not one of the project's labels (car, hand, person)."] }),
      }),
    );
    renderApp("/annotate/projects/1", signedIn("researcher"));
    const card = await screen.findByTestId("class-map-card");
    fireEvent.change(await within(card).findByRole("combobox", { name: "Label of class truck" }), {
      target: { value: "label:car" },
    });
    fireEvent.click(within(card).getByTestId("class-map-save"));
    expect(await within(card).findByRole("alert")).toHaveTextContent("is not one of the project's labels");
  });
});

describe("class map rules", () => {
  it("stores a label, null for not scored, and removes the entry for the default", () => {
    const current = { Wave: "hand", bird: null, other: "car" };
    expect(
      applyChoices(current, {
        wave: { kind: "default" },
        bird: { kind: "label", label: "person" },
        truck: { kind: "none" },
      }),
    ).toEqual({ other: "car", bird: "person", truck: null });
    expect(current).toEqual({ Wave: "hand", bird: null, other: "car" });
  });

  it("previews the default as the label of the same name, ignoring case", () => {
    expect(effectiveLabel("Car", { kind: "default" }, ["car"])).toBe("car");
    expect(effectiveLabel("truck", { kind: "default" }, ["car"])).toBeNull();
    expect(effectiveLabel("truck", { kind: "none" }, ["truck"])).toBeNull();
    expect(effectiveLabel("truck", { kind: "label", label: "car" }, ["car"])).toBe("car");
  });
});
