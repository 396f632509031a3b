import { useEffect, useRef } from "react";
import { colormapLut, type ColormapName } from "./colormap";
import { colorize, frameOf, mapFrameAt, upsampleBilinear, type HeatVolume } from "./heatmap";
import type { PixelRect } from "./view";

export interface OverlaySettings {
  opacity: number;
  threshold: number;
  colormap: ColormapName;
}

interface Props {
  volume: HeatVolume | null;
  timestamps: readonly number[];
  time: number;
  /** The map row to show, when the caller decides it (windowed explanations); else by time. */
  frame?: number;
  /** Canvas resolution (the video's aspect; CSS stretches it over the video). */
  width: number;
  height: number;
  settings: OverlaySettings;
  /** The model's view in canvas pixels (`viewRect`): the map's cells tile it; null: the whole canvas. */
  view?: PixelRect | null;
}

/** The explanation map drawn over the video for the current time, entirely in the browser. */
export function OverlayCanvas({
  volume,
  timestamps,
  time,
  frame,
  width,
  height,
  settings,
  view = null,
}: Props) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const frameIndex = volume ? Math.min(frame ?? mapFrameAt(timestamps, time), volume.t - 1) : -1;
  // Upsampled frames, kept while the map and the canvas size stay the same.
  const cache = useRef<{ key: unknown[]; frames: Map<number, Float32Array> }>({
    key: [],
    frames: new Map(),
  });

  useEffect(() => {
    const element = canvas.current;
    const context = element?.getContext("2d");
    if (!element || !context) return;
    if (!volume || frameIndex < 0) {
      context.clearRect(0, 0, width, height);
      element.dataset.drawn = "0";
      return;
    }
    const rect = view ?? { x0: 0, y0: 0, x1: width, y1: height };
    const rw = rect.x1 - rect.x0;
    const rh = rect.y1 - rect.y0;
    const key = [volume, width, height, rect.x0, rect.y0, rw, rh];
    if (key.some((v, i) => v !== cache.current.key[i])) {
      cache.current = { key, frames: new Map() };
    }
    let heat = cache.current.frames.get(frameIndex);
    if (!heat) {
      heat = upsampleBilinear(frameOf(volume, frameIndex), volume.h, volume.w, rw, rh);
      cache.current.frames.set(frameIndex, heat);
    }
    const image = context.createImageData(rw, rh);
    const drawn = colorize(
      heat,
      colormapLut(settings.colormap),
      settings.opacity,
      settings.threshold,
      image.data,
    );
    context.clearRect(0, 0, width, height);
    context.putImageData(image, rect.x0, rect.y0);
    element.dataset.drawn = String(drawn);
  }, [volume, frameIndex, width, height, settings, view]);

  return (
    <canvas
      ref={canvas}
      className="overlay-canvas"
      width={width}
      height={height}
      data-testid="overlay-canvas"
      data-frame={frameIndex}
      aria-label="Explanation heatmap over the video"
    />
  );
}
