/** Small wording helpers of the explanations pages. */

export function formatSeconds(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds)) return "–";
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  return `${m} min ${s.toString().padStart(2, "0")} s`;
}

export function formatClock(seconds: number): string {
  const s = Math.max(0, seconds);
  const m = Math.floor(s / 60);
  return `${m}:${(s % 60).toFixed(2).padStart(5, "0")}`;
}

export function formatPercent(fraction: number): string {
  return `${Math.round(Math.min(1, Math.max(0, fraction)) * 100)}%`;
}

export const STATUS_WORDS: Record<string, string> = {
  queued: "Queued",
  running: "Running",
  done: "Done",
  failed: "Failed",
};

/** "staa_plus" -> "STAA+", "kernel_shap" -> "KernelSHAP", others as written. */
export function methodLabel(name: string): string {
  const known: Record<string, string> = {
    staa: "STAA",
    staa_plus: "STAA+",
    rollout: "Attention rollout",
    grad_attention: "Grad-attention",
    integrated_gradients: "Integrated Gradients",
    occlusion: "Occlusion",
    rise: "RISE",
    lime: "LIME",
    kernel_shap: "KernelSHAP",
    random: "Random",
    center: "Centre prior",
  };
  return known[name] ?? name;
}
