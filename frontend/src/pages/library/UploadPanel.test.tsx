import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { csrfEndpoint, json, mockFetch } from "../../test/fetchMock";
import { makeVideo } from "../../test/videoFixtures";
import { UploadPanel } from "./UploadPanel";

/** A stand-in for XMLHttpRequest that the test drives: progress and answers on demand. */
class FakeXhr {
  static instances: FakeXhr[] = [];
  upload: { onprogress: ((event: ProgressEvent) => void) | null } = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;
  status = 0;
  responseText = "";
  withCredentials = false;
  headers: Record<string, string> = {};
  url = "";
  body: FormData | null = null;
  open(_method: string, url: string) {
    this.url = url;
  }
  setRequestHeader(name: string, value: string) {
    this.headers[name] = value;
  }
  abort() {
    this.onabort?.();
  }
  send(body: FormData) {
    this.body = body;
    FakeXhr.instances.push(this);
  }
  progress(loaded: number, total: number) {
    act(() => this.upload.onprogress?.({ lengthComputable: true, loaded, total } as ProgressEvent));
  }
  respond(status: number, body: unknown) {
    act(() => {
      this.status = status;
      this.responseText = JSON.stringify(body);
      this.onload?.();
    });
  }
}

/** The request the panel is sending now (they go one at a time). */
async function nextRequest(count: number): Promise<FakeXhr> {
  await waitFor(() => expect(FakeXhr.instances).toHaveLength(count));
  return FakeXhr.instances[count - 1]!;
}

function file(name: string, size = 100): File {
  return new File([new Uint8Array(size)], name, { type: "video/mp4" });
}

beforeEach(() => {
  FakeXhr.instances = [];
  vi.stubGlobal("XMLHttpRequest", FakeXhr);
  mockFetch({
    "GET /api/v1/auth/csrf/": csrfEndpoint("tok-123"),
    "GET /api/v1/videos/limits/": () => json(200, { max_upload_bytes: 5000, max_dimension: 8192 }),
  });
});

function renderPanel(onUploaded = vi.fn()) {
  render(
    <MemoryRouter>
      <UploadPanel onUploaded={onUploaded} />
    </MemoryRouter>,
  );
  return onUploaded;
}

describe("UploadPanel", () => {
  it("uploads picked files one by one, each with its own progress and outcome", async () => {
    const onUploaded = renderPanel();
    await screen.findByText(/up to 4.9 KiB each/);
    await userEvent.setup().upload(screen.getByTestId("upload-input"), [file("a.mp4"), file("b.mp4"), file("song.m4a")]);
    const items = screen.getAllByTestId("upload-item");
    expect(items).toHaveLength(3);

    const first = await nextRequest(1);
    first.progress(500, 1000);
    expect(within(items[0]!).getByText("Uploading… 50%")).toBeInTheDocument();
    expect(within(items[0]!).getByTestId("upload-progress")).toHaveAttribute("value", "0.5");
    expect(within(items[1]!).getByText("Waiting…")).toBeInTheDocument();
    first.respond(201, makeVideo({ id: 5, title: "a" }));
    expect(await within(items[0]!).findByText(/Uploaded; processing starts shortly/)).toBeInTheDocument();
    expect(within(items[0]!).getByRole("link", { name: "Open" })).toHaveAttribute("href", "/library/5");

    (await nextRequest(2)).respond(200, makeVideo({ id: 3, title: "b" }));
    expect(await within(items[1]!).findByText(/Already in your library/)).toBeInTheDocument();
    (await nextRequest(3)).respond(400, { detail: "This file contains only audio; WhereWhen needs a video stream." });
    expect(await within(items[2]!).findByRole("alert")).toHaveTextContent("only audio");
    expect(items[2]).toHaveAttribute("data-phase", "error");

    expect(onUploaded).toHaveBeenCalledTimes(2);
    expect(first.url).toBe("/api/v1/videos/");
    expect(first.headers["X-CSRFToken"]).toBe("tok-123");
    expect((first.body!.get("file") as File).name).toBe("a.mp4");
  });

  it("accepts dropped files and sends the label and split", async () => {
    renderPanel();
    await screen.findByText(/up to/);
    const user = userEvent.setup();
    await user.type(screen.getByLabelText("Label for new uploads"), "wave");
    await user.selectOptions(screen.getByLabelText("Split"), "val");
    fireEvent.drop(screen.getByTestId("dropzone"), { dataTransfer: { files: [file("dropped clip.mp4")] } });
    const request = await nextRequest(1);
    request.respond(201, makeVideo({ id: 9 }));
    expect(await screen.findByText(/Uploaded; processing/)).toBeInTheDocument();
    expect(request.body!.get("label")).toBe("wave");
    expect(request.body!.get("split")).toBe("val");
    expect((request.body!.get("file") as File).name).toBe("dropped clip.mp4");
  });

  it("refuses empty and too large files without sending them", async () => {
    renderPanel();
    await screen.findByText(/up to/);
    await userEvent.setup().upload(screen.getByTestId("upload-input"), [file("empty.mp4", 0), file("huge.mp4", 6000)]);
    const alerts = await screen.findAllByRole("alert");
    expect(alerts[0]).toHaveTextContent("The file is empty (0 bytes).");
    expect(alerts[1]).toHaveTextContent("larger than the upload limit of 4.9 KiB");
    expect(FakeXhr.instances).toHaveLength(0);
    await userEvent.setup().click(screen.getByRole("button", { name: "Clear finished" }));
    expect(screen.queryAllByTestId("upload-item")).toHaveLength(0);
  });
});
