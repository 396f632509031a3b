import { describe, expect, it } from "vitest";
import { formatBytes, formatDuration, formatRate } from "./format";
import { thumbnailIndex } from "./SpriteScrubber";

describe("library formatting", () => {
  it("formats sizes", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(2048)).toBe("2.0 KiB");
    expect(formatBytes(2 * 1024 ** 3)).toBe("2.0 GiB");
    expect(formatBytes(150 * 1024 ** 2)).toBe("150 MiB");
  });

  it("formats durations", () => {
    expect(formatDuration(2)).toBe("0:02");
    expect(formatDuration(1.5)).toBe("0:01.5");
    expect(formatDuration(75.5)).toBe("1:15");
    expect(formatDuration(3725)).toBe("1:02:05");
    expect(formatDuration(null)).toBe("—");
  });

  it("formats frame rates", () => {
    expect(formatRate(29.97002997)).toBe("29.97 fps");
    expect(formatRate(null)).toBe("—");
  });

  it("picks the last thumbnail not after the time", () => {
    const times = [0, 0.5, 1.0, 1.5];
    expect(thumbnailIndex(times, 0)).toBe(0);
    expect(thumbnailIndex(times, 0.49)).toBe(0);
    expect(thumbnailIndex(times, 1.0)).toBe(2);
    expect(thumbnailIndex(times, 9)).toBe(3);
  });
});
