import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { RegisteredModel } from "./api";
import { ModelsPanel } from "./ModelsPanel";

function model(id: number, name: string, modalities: ("video" | "audio")[]): RegisteredModel {
  return {
    id,
    name,
    description: "",
    architecture: modalities.includes("audio") ? "wherewhen_av" : "timesformer",
    checkpoint_dir: `/models/${name}`,
    labels: ["a", "b"],
    num_classes: 2,
    input_spec: {},
    modalities,
    grid: [8, 4, 4],
    device: "auto",
    public: true,
    bundled: true,
    owner: "rita",
    can_edit: false,
    created_at: "2026-01-01T00:00:00Z",
  } as RegisteredModel;
}

describe("ModelsPanel", () => {
  it("marks audio-visual models", () => {
    render(
      <ModelsPanel
        models={[model(1, "tiny-timesformer", ["video"]), model(2, "tiny-av-transformer", ["video", "audio"])]}
        canRegister={false}
        onChange={() => undefined}
      />,
    );
    expect(within(screen.getByTestId("model-tiny-av-transformer")).getByTestId("model-audio-visual")).toHaveTextContent(
      "audio-visual",
    );
    expect(within(screen.getByTestId("model-tiny-timesformer")).queryByTestId("model-audio-visual")).toBeNull();
  });
});
