/**
 * The explanation map in the browser: decoding the compact payload, upsampling one map frame
 * to the canvas, colouring it. Pure functions (no DOM), the same rules as the server's export
 * renderer (workers/overlay.py):
 *
 * - values are normalized over the whole explanation, `(v - min) / (max - min)`;
 * - upsampling is bilinear with cell centres at `(j + 0.5) * W / w` (edges clamped);
 * - a pixel below `threshold` is transparent, the others get the colormap's colour with
 *   `opacity` as alpha (the browser composites the canvas over the playing video);
 * - video time `t` shows the last map frame whose timestamp is `<= t` (the first before it).
 */

export interface MapPayload {
  shape: number[];
  dtype: string;
  offset: number;
  scale: number;
  data: string;
}

export interface HeatVolume {
  t: number;
  h: number;
  w: number;
  /** Normalized values in [0, 1], row-major `t x h x w`. */
  values: Float32Array;
}

export function decodeBase64(data: string): Uint8Array {
  const binary = atob(data);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) out[i] = binary.charCodeAt(i);
  return out;
}

/**
 * The payload as normalized values. Quantized values `q` are `offset + scale * q`, so
 * min-max normalizing them is `(q - qmin) / (qmax - qmin)`: no need for offset and scale.
 */
export function decodeMap(payload: MapPayload): HeatVolume {
  if (payload.dtype !== "uint8" || payload.shape.length !== 3) {
    throw new Error(`unsupported map payload: ${payload.dtype} ${payload.shape.join("x")}`);
  }
  const [t = 0, h = 0, w = 0] = payload.shape;
  const q = decodeBase64(payload.data);
  if (q.length !== t * h * w) {
    throw new Error(`map payload has ${q.length} values for shape ${t}x${h}x${w}`);
  }
  let lo = 255;
  let hi = 0;
  for (const v of q) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const values = new Float32Array(q.length);
  const span = hi - lo;
  if (span > 0 && payload.scale > 0) {
    for (let i = 0; i < q.length; i += 1) values[i] = (q[i]! - lo) / span;
  }
  return { t, h, w, values };
}

/** One frame `k` of the volume as an `h x w` array (a view, no copy). */
export function frameOf(volume: HeatVolume, k: number): Float32Array {
  const size = volume.h * volume.w;
  const i = Math.min(Math.max(0, k), volume.t - 1);
  return volume.values.subarray(i * size, (i + 1) * size);
}

function axis(nOut: number, nIn: number): { i0: Int32Array; i1: Int32Array; f: Float32Array } {
  const i0 = new Int32Array(nOut);
  const i1 = new Int32Array(nOut);
  const f = new Float32Array(nOut);
  for (let o = 0; o < nOut; o += 1) {
    let pos = ((o + 0.5) * nIn) / nOut - 0.5;
    pos = Math.min(Math.max(pos, 0), nIn - 1);
    const lo = Math.floor(pos);
    i0[o] = lo;
    i1[o] = Math.min(lo + 1, nIn - 1);
    f[o] = pos - lo;
  }
  return { i0, i1, f };
}

/** Bilinear upsampling of an `h x w` frame to `height x width` (cell centres, edges clamped). */
export function upsampleBilinear(
  frame: ArrayLike<number>,
  h: number,
  w: number,
  width: number,
  height: number,
): Float32Array {
  const out = new Float32Array(width * height);
  const ys = axis(height, h);
  const xs = axis(width, w);
  for (let y = 0; y < height; y += 1) {
    const r0 = ys.i0[y]! * w;
    const r1 = ys.i1[y]! * w;
    const fy = ys.f[y]!;
    for (let x = 0; x < width; x += 1) {
      const a = xs.i0[x]!;
      const b = xs.i1[x]!;
      const fx = xs.f[x]!;
      const top = frame[r0 + a]! * (1 - fx) + frame[r0 + b]! * fx;
      const bottom = frame[r1 + a]! * (1 - fx) + frame[r1 + b]! * fx;
      out[y * width + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}

/** Fill `rgba` (canvas ImageData layout) with the coloured heat; returns pixels drawn. */
export function colorize(
  heat: ArrayLike<number>,
  lut: Uint8ClampedArray,
  opacity: number,
  threshold: number,
  rgba: Uint8ClampedArray,
): number {
  const alpha = Math.round(Math.min(1, Math.max(0, opacity)) * 255);
  let drawn = 0;
  for (let i = 0; i < heat.length; i += 1) {
    const v = heat[i]!;
    const o = i * 4;
    if (v < threshold || alpha === 0) {
      rgba[o + 3] = 0;
      continue;
    }
    const c = Math.round(Math.min(1, Math.max(0, v)) * 255) * 3;
    rgba[o] = lut[c]!;
    rgba[o + 1] = lut[c + 1]!;
    rgba[o + 2] = lut[c + 2]!;
    rgba[o + 3] = alpha;
    drawn += 1;
  }
  return drawn;
}

/** The map frame shown at video time `t` (see the module comment). */
export function mapFrameAt(timestamps: readonly number[], t: number): number {
  let lo = 0;
  let hi = timestamps.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (timestamps[mid]! <= t + 1e-9) lo = mid + 1;
    else hi = mid;
  }
  return Math.max(0, lo - 1);
}
