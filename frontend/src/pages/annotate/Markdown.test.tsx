import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { Markdown, parseBlocks } from "./Markdown";

describe("instructions markdown", () => {
  it("renders headings, lists, emphasis, code and safe links", () => {
    render(
      <Markdown
        source={"# Task\nDraw a **tight** box around the *person*.\n\n- one\n- two\n\n1. first\n2. second\n\nSee `K` and [the guide](https://example.org/guide)."}
      />,
    );
    expect(screen.getByRole("heading", { name: "Task" })).toBeInTheDocument();
    expect(screen.getByText("tight").tagName).toBe("STRONG");
    expect(screen.getByText("person").tagName).toBe("EM");
    expect(screen.getAllByRole("list")).toHaveLength(2);
    expect(screen.getByText("K").tagName).toBe("CODE");
    expect(screen.getByRole("link", { name: "the guide" })).toHaveAttribute("href", "https://example.org/guide");
  });

  it("never renders HTML or script links", () => {
    const { container } = render(<Markdown source={'<img src=x onerror="alert(1)"> [bad](javascript:alert(1))'} />);
    expect(container.querySelector("img")).toBeNull();
    expect(container.querySelector("a")).toBeNull();
    expect(container.textContent).toContain("<img src=x");
    expect(container.textContent).toContain("bad");
  });

  it("groups lines into blocks", () => {
    expect(parseBlocks("a\nb\n\nc")).toEqual([
      { kind: "paragraph", text: "a b" },
      { kind: "paragraph", text: "c" },
    ]);
  });
});
