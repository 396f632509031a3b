/**
 * The video with a canvas over it. Boxes are drawn in source pixels (the
 * canvas is scaled to the displayed size); with `editable`, dragging on an
 * empty spot draws a new box, dragging a box moves it and dragging a corner
 * or an edge of the selected box resizes it.
 */
import { useEffect, useLayoutEffect, useRef, useState, type PointerEvent as ReactPointerEvent, type RefObject } from "react";
import { boxFromPoints, cursorFor, dragBox, hitTest, isUsableBox, type Part, type Point } from "./geometry";
import type { Box, FrameBox } from "./model";

export const TRACK_COLORS = ["#f59e0b", "#22d3ee", "#a3e635", "#f472b6", "#a78bfa", "#fb7185", "#34d399", "#facc15"];

/** How near (in screen pixels) counts as grabbing a corner or an edge. */
const GRAB_PX = 7;

interface StageProps {
  videoUrl: string;
  width: number;
  height: number;
  boxes: FrameBox[];
  selectedId: string | null;
  colorOf: (trackId: string) => string;
  videoRef: RefObject<HTMLVideoElement | null>;
  editable?: boolean;
  onDraw?: (box: Box) => void;
  onChange?: (trackId: string, box: Box) => void;
  onSelect?: (trackId: string | null) => void;
  onVideoEvent?: (event: "loaded" | "play" | "pause" | "error") => void;
}

type Drag =
  | { kind: "draw"; start: Point }
  | { kind: "edit"; trackId: string; part: Part; start: Point; origin: Box };

interface Preview {
  trackId: string | null;
  box: Box;
}

export function Stage({
  videoUrl,
  width,
  height,
  boxes,
  selectedId,
  colorOf,
  videoRef,
  editable = false,
  onDraw,
  onChange,
  onSelect,
  onVideoEvent,
}: StageProps) {
  const wrapperRef = useRef<HTMLDivElement>(null);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const drag = useRef<Drag | null>(null);
  const [preview, setPreview] = useState<Preview | null>(null);
  const [cursor, setCursor] = useState("crosshair");
  const [displayWidth, setDisplayWidth] = useState(0);

  useLayoutEffect(() => {
    const wrapper = wrapperRef.current;
    if (!wrapper) return;
    const measure = () => setDisplayWidth(wrapper.getBoundingClientRect().width);
    measure();
    if (typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(measure);
    observer.observe(wrapper);
    return () => observer.disconnect();
  }, []);

  useEffect(() => {
    const canvas = canvasRef.current;
    const ctx = canvas?.getContext?.("2d");
    if (!canvas || !ctx || displayWidth <= 0) return;
    const dpr = window.devicePixelRatio || 1;
    const scale = displayWidth / width;
    canvas.width = Math.round(displayWidth * dpr);
    canvas.height = Math.round(height * scale * dpr);
    ctx.setTransform(dpr * scale, 0, 0, dpr * scale, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const px = 1 / scale; // one screen pixel in source pixels
    const shown = boxes.map((b) => (preview && preview.trackId === b.trackId ? { ...b, ...preview.box } : b));
    for (const box of shown) {
      const selected = box.trackId === selectedId;
      const color = colorOf(box.trackId);
      ctx.lineWidth = (selected ? 3 : 2) * px;
      ctx.strokeStyle = color;
      // Solid: the annotator's keyframe; dotted: tracked; dashed: interpolated.
      ctx.setLineDash(box.keyframe ? [] : box.tracked ? [2 * px, 3 * px] : [6 * px, 4 * px]);
      ctx.globalAlpha = box.occluded ? 0.55 : 1;
      ctx.strokeRect(box.x0, box.y0, box.x1 - box.x0, box.y1 - box.y0);
      if (selected) {
        ctx.fillStyle = color;
        ctx.globalAlpha = 0.12;
        ctx.fillRect(box.x0, box.y0, box.x1 - box.x0, box.y1 - box.y0);
        ctx.globalAlpha = 1;
        const s = 7 * px;
        for (const [x, y] of [
          [box.x0, box.y0],
          [box.x1, box.y0],
          [box.x1, box.y1],
          [box.x0, box.y1],
          [(box.x0 + box.x1) / 2, box.y0],
          [box.x1, (box.y0 + box.y1) / 2],
          [(box.x0 + box.x1) / 2, box.y1],
          [box.x0, (box.y0 + box.y1) / 2],
        ] as const) {
          ctx.fillStyle = "#fff";
          ctx.fillRect(x - s / 2, y - s / 2, s, s);
          ctx.strokeStyle = color;
          ctx.lineWidth = 1.5 * px;
          ctx.setLineDash([]);
          ctx.strokeRect(x - s / 2, y - s / 2, s, s);
        }
      }
      ctx.globalAlpha = 1;
      ctx.setLineDash([]);
      const tag = `${box.label}${box.keyframe ? " ◆" : ""}${box.tracked ? " · tracked" : ""}${box.occluded ? " (hidden)" : ""}`;
      ctx.font = `${12 * px}px system-ui, sans-serif`;
      const tagWidth = ctx.measureText(tag).width + 8 * px;
      const tagY = box.y0 >= 16 * px ? box.y0 - 16 * px : box.y0;
      ctx.fillStyle = color;
      ctx.fillRect(box.x0, tagY, tagWidth, 16 * px);
      ctx.fillStyle = "#111";
      ctx.fillText(tag, box.x0 + 4 * px, tagY + 12 * px);
    }
    if (preview && preview.trackId === null) {
      ctx.setLineDash([4 * px, 3 * px]);
      ctx.lineWidth = 2 * px;
      ctx.strokeStyle = "#fff";
      const b = preview.box;
      ctx.strokeRect(b.x0, b.y0, b.x1 - b.x0, b.y1 - b.y0);
      ctx.setLineDash([]);
    }
  }, [boxes, selectedId, preview, colorOf, displayWidth, width, height]);

  function toSource(event: ReactPointerEvent): Point {
    const rect = canvasRef.current!.getBoundingClientRect();
    return {
      x: ((event.clientX - rect.left) * width) / rect.width,
      y: ((event.clientY - rect.top) * height) / rect.height,
    };
  }

  function tolerance(): number {
    return displayWidth > 0 ? (GRAB_PX * width) / displayWidth : GRAB_PX;
  }

  function handleDown(event: ReactPointerEvent<HTMLCanvasElement>) {
    if (event.button !== 0) return;
    if (!editable) {
      // Read-only (review): a click on a box selects its track, elsewhere clears it.
      if (onSelect) onSelect(hitTest(boxes, toSource(event), tolerance(), selectedId)?.trackId ?? null);
      return;
    }
    event.preventDefault();
    event.currentTarget.setPointerCapture?.(event.pointerId);
    const p = toSource(event);
    const hit = hitTest(boxes, p, tolerance(), selectedId);
    if (hit) {
      const origin = boxes.find((b) => b.trackId === hit.trackId)!;
      onSelect?.(hit.trackId);
      drag.current = { kind: "edit", trackId: hit.trackId, part: hit.part, start: p, origin };
    } else {
      onSelect?.(null);
      drag.current = { kind: "draw", start: p };
      setPreview({ trackId: null, box: boxFromPoints(p, p, width, height) });
    }
  }

  function handleMove(event: ReactPointerEvent<HTMLCanvasElement>) {
    if (!editable) return;
    const p = toSource(event);
    const current = drag.current;
    if (!current) {
      const hit = hitTest(boxes, p, tolerance(), selectedId);
      setCursor(cursorFor(hit ? hit.part : null));
      return;
    }
    if (current.kind === "draw") {
      setPreview({ trackId: null, box: boxFromPoints(current.start, p, width, height) });
    } else {
      const box = dragBox(current.origin, current.part, p.x - current.start.x, p.y - current.start.y, width, height);
      setPreview({ trackId: current.trackId, box });
    }
  }

  function handleUp(event: ReactPointerEvent<HTMLCanvasElement>) {
    const current = drag.current;
    drag.current = null;
    if (!current) return;
    event.currentTarget.releasePointerCapture?.(event.pointerId);
    const p = toSource(event);
    setPreview(null);
    if (current.kind === "draw") {
      const box = boxFromPoints(current.start, p, width, height);
      if (isUsableBox(box)) onDraw?.(box);
      return;
    }
    const box = dragBox(current.origin, current.part, p.x - current.start.x, p.y - current.start.y, width, height);
    const o = current.origin;
    if (box.x0 !== o.x0 || box.y0 !== o.y0 || box.x1 !== o.x1 || box.y1 !== o.y1) onChange?.(current.trackId, box);
  }

  function handleCancel() {
    drag.current = null;
    setPreview(null);
  }

  return (
    <div
      ref={wrapperRef}
      className="stage"
      style={{ aspectRatio: `${width} / ${height}`, ["--stage-aspect" as string]: String(width / height) }}
      data-testid="stage"
    >
      <video
        ref={videoRef}
        className="stage__video"
        src={videoUrl}
        preload="auto"
        playsInline
        onLoadedMetadata={() => onVideoEvent?.("loaded")}
        onPlay={() => onVideoEvent?.("play")}
        onPause={() => onVideoEvent?.("pause")}
        onError={() => onVideoEvent?.("error")}
        data-testid="stage-video"
      />
      <canvas
        ref={canvasRef}
        className="stage__canvas"
        style={{ cursor: editable ? cursor : "default" }}
        onPointerDown={handleDown}
        onPointerMove={handleMove}
        onPointerUp={handleUp}
        onPointerCancel={handleCancel}
        aria-label={editable ? "Video frame: drag to draw a box, drag a box to move it, drag its corners to resize" : "Video frame with the annotation's boxes"}
        role="img"
        data-testid="stage-canvas"
        data-boxes={boxes.length}
      />
    </div>
  );
}
