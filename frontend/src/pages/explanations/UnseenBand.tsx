import type { CSSProperties } from "react";
import { unseenBands, viewRect } from "./view";

interface Props {
  /** The explanation's view `[x0, y0, x1, y1]` in video pixels. */
  view: readonly number[] | null | undefined;
  videoWidth: number | null | undefined;
  videoHeight: number | null | undefined;
}

const percent = (v: number, of: number) => `${(100 * v) / of}%`;

// Inline styles: the band is drawn by the review player and by study stimuli alike.
const LAYER: CSSProperties = { position: "absolute", inset: 0, pointerEvents: "none" };
const PART: CSSProperties = {
  position: "absolute",
  background:
    "repeating-linear-gradient(45deg, rgb(255 255 255 / 22%) 0 2px, transparent 2px 9px), rgb(15 23 42 / 62%)",
};
const LABEL: CSSProperties = {
  position: "absolute",
  margin: "0.25rem",
  padding: "0.05rem 0.4rem",
  borderRadius: "999px",
  background: "rgb(15 23 42 / 85%)",
  color: "#e2e8f0",
  fontSize: "0.7rem",
  lineHeight: 1.4,
  letterSpacing: "0.02em",
  whiteSpace: "nowrap",
};

/**
 * The part of the frame the model did not see (outside its view), hatched and dimmed with a
 * small "not seen" label; nothing when the model saw the whole frame.
 */
export function UnseenBand({ view, videoWidth, videoHeight }: Props) {
  const width = videoWidth ?? 0;
  const height = videoHeight ?? 0;
  const rect = viewRect(view, width, height, width, height);
  if (!rect) return null;
  const bands = unseenBands(rect, width, height);
  const largest = bands.reduce((a, b) =>
    (b.x1 - b.x0) * (b.y1 - b.y0) > (a.x1 - a.x0) * (a.y1 - a.y0) ? b : a,
  );
  return (
    <div className="unseen-band" style={LAYER} data-testid="unseen-band" data-view={[rect.x0, rect.y0, rect.x1, rect.y1].join(",")}>
      {bands.map((b, i) => (
        <div
          key={i}
          className="unseen-band__part"
          style={{
            ...PART,
            left: percent(b.x0, width),
            top: percent(b.y0, height),
            width: percent(b.x1 - b.x0, width),
            height: percent(b.y1 - b.y0, height),
          }}
        />
      ))}
      <span
        className="unseen-band__label"
        data-testid="unseen-label"
        title="Outside the model's crop: no importance here, not a low one"
        style={{ ...LABEL, left: percent(largest.x0, width), top: percent(largest.y0, height) }}
      >
        not seen
      </span>
    </div>
  );
}
