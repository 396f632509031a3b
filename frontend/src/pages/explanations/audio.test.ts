import { describe, expect, it } from "vitest";
import {
  audioBars,
  audioSummary,
  envelopePath,
  isWaveform,
  peakIndex,
  tokenAt,
  waveformColumns,
  waveformGain,
} from "./audio";
import { formatClock } from "./format";

describe("peakIndex", () => {
  it("takes the first index on ties and skips what is not a number", () => {
    expect(peakIndex([0.1, 0.7, 0.7, 0.2])).toBe(1);
    expect(peakIndex([Number.NaN, 0.2, 0.1])).toBe(1);
    expect(peakIndex([-3, -1, -2])).toBe(1);
    expect(peakIndex([])).toBe(-1);
  });
});

describe("tokenAt", () => {
  const times = [
    [0, 0.5],
    [0.5, 1],
    [1, 1.5],
  ];
  it("finds the token whose [start, end) holds the time", () => {
    expect(tokenAt(times, 0)).toBe(0);
    expect(tokenAt(times, 0.5)).toBe(1);
    expect(tokenAt(times, 1.49)).toBe(2);
    expect(tokenAt(times, 1.5)).toBe(2);
  });
  it("answers -1 outside the tokens", () => {
    expect(tokenAt(times, 1.6)).toBe(-1);
    expect(tokenAt([[1, 2]], 0.5)).toBe(-1);
    expect(tokenAt([], 0)).toBe(-1);
  });
});

describe("audioBars", () => {
  it("spans each token's seconds on the video's time axis, normalized in height", () => {
    const bars = audioBars([1, 3, 2], [[0, 1], [1, 2], [2, 3]], 4, 400, 10);
    expect(bars).toEqual([
      { index: 0, x: 0, width: 100, height: 0 },
      { index: 1, x: 100, width: 100, height: 10 },
      { index: 2, x: 200, width: 100, height: 5 },
    ]);
  });
  it("clamps to the video and leaves out empty intervals", () => {
    const bars = audioBars([1, 2, 3], [[3, 5], [2, 2], [1]], 4, 400, 10);
    expect(bars).toEqual([{ index: 0, x: 300, width: 100, height: 0 }]);
  });
});

describe("audioSummary", () => {
  it("names the peak's time span and token", () => {
    const audio = { importance: [0.1, 0.9, 0.9], times: [[0, 0.5], [0.5, 1], [1, 1.5]] };
    expect(audioSummary("STAA+", audio, formatClock)).toBe(
      "Audio importance of STAA+: peak at 0:00.50–0:01.00 (audio token 2 of 3)",
    );
    expect(audioSummary("X", { importance: [], times: [] }, formatClock)).toMatch(/no audio tokens/);
  });
});

describe("waveform", () => {
  const wave = { duration: 2, bins_per_second: 2, min: [-0.5, -1, 0, -0.25], max: [0.5, 1, 0, 0.25] };

  it("takes min and max of the bins under each column", () => {
    const cols = waveformColumns(wave, 2, 2, 10);
    // column 0 covers 0-1 s = bins 0 and 1; column 1 covers bins 2 and 3
    expect(cols).toEqual([
      { top: 0, bottom: 10 },
      { top: 3.75, bottom: 6.25 },
    ]);
  });

  it("keeps the bin under a column when columns are narrower than bins, flat past the end", () => {
    // 0.25 s per column, 0.5 s per bin; the sound ends at 2 s of a 4 s video
    const cols = waveformColumns(wave, 4, 16, 10);
    expect(cols[0]).toEqual({ top: 2.5, bottom: 7.5 });
    expect(cols[1]).toEqual({ top: 2.5, bottom: 7.5 });
    expect(cols[2]).toEqual({ top: 0, bottom: 10 });
    expect(cols[8]).toEqual({ top: 5, bottom: 5 });
    expect(cols[15]).toEqual({ top: 5, bottom: 5 });
  });

  it("scales the loudest moment to the full height, but not a near-silent track", () => {
    const quiet = { ...wave, min: [-0.1, -0.2, 0, 0], max: [0.1, 0.25, 0, 0] };
    expect(waveformGain(quiet)).toBe(4);
    expect(waveformColumns(quiet, 2, 2, 10, waveformGain(quiet))).toEqual([
      { top: 0, bottom: 9 },
      { top: 5, bottom: 5 },
    ]);
    expect(waveformGain({ ...wave, min: [0], max: [0.001] })).toBe(20);
    expect(waveformGain(wave)).toBe(1);
  });

  it("draws a closed envelope path", () => {
    const path = envelopePath([
      { top: 1, bottom: 9 },
      { top: 4.5, bottom: 5.5 },
    ]);
    expect(path).toBe("M0,1 L1,1 L1,4.50 L2,4.50 L2,5.50 L1,5.50 L1,9 L0,9 Z");
    expect(envelopePath([])).toBe("");
  });

  it("recognizes the payload", () => {
    expect(isWaveform(wave)).toBe(true);
    expect(isWaveform({ ...wave, bins_per_second: 0 })).toBe(false);
    expect(isWaveform(null)).toBe(false);
  });
});
