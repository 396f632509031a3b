import { useEffect, useRef } from "react";
import { colormapLut, type ColormapName } from "./colormap";
import type { Normalization } from "./normalize";

/** The colour scale of the overlay: what a colour means, and where the threshold cuts. */
export function ColorLegend({
  colormap,
  threshold,
  normalization,
}: {
  colormap: ColormapName;
  threshold: number;
  normalization: Normalization;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const context = canvas.current?.getContext("2d");
    if (!context) return;
    const lut = colormapLut(colormap);
    const image = context.createImageData(256, 1);
    for (let i = 0; i < 256; i += 1) {
      const shown = i / 255 >= threshold;
      image.data[i * 4] = lut[i * 3]!;
      image.data[i * 4 + 1] = lut[i * 3 + 1]!;
      image.data[i * 4 + 2] = lut[i * 3 + 2]!;
      image.data[i * 4 + 3] = shown ? 255 : 60;
    }
    context.putImageData(image, 0, 0);
  }, [colormap, threshold]);
  const scale = normalization === "frame" ? "of each frame's range" : "of the clip's range";
  return (
    <figure className="color-legend" data-testid="color-legend" aria-label={`Colour scale: 0 to 100% ${scale}; below ${Math.round(threshold * 100)}% not drawn`}>
      <canvas ref={canvas} width={256} height={1} className="color-legend__bar" aria-hidden="true" />
      <span className="color-legend__cut" style={{ left: `${threshold * 100}%` }} aria-hidden="true" />
      <div className="color-legend__ticks" aria-hidden="true">
        <span>0</span>
        <span>50%</span>
        <span>100%</span>
      </div>
      <figcaption className="small muted">
        Importance, {scale}; below {Math.round(threshold * 100)}% not drawn
      </figcaption>
    </figure>
  );
}
