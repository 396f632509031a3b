/** Display helpers for the library. */

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "—";
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** 75.5 -> "1:15.5"; 3725 -> "1:02:05". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const whole = Math.floor(seconds);
  const tenths = Math.round((seconds - whole) * 10);
  const carry = tenths === 10 ? 1 : 0;
  const total = whole + carry;
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const frac = total < 60 && tenths % 10 ? `.${tenths % 10}` : "";
  const ss = String(s).padStart(h || m ? 2 : 1, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}${frac}` : `${m}:${ss.padStart(2, "0")}${frac}`;
}

export function formatRate(fps: number | null | undefined): string {
  if (fps === null || fps === undefined || !Number.isFinite(fps)) return "—";
  return `${Number(fps.toFixed(2))} fps`;
}
