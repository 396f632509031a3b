/** Frame-accurate stepping and playback over a <video>, driven by the video's frame timestamps. */
import { useCallback, useEffect, useRef, useState } from "react";
import { clampFrame, frameAtTime, seekTime } from "./frames";

export interface Player {
  videoRef: React.RefObject<HTMLVideoElement | null>;
  frame: number;
  nFrames: number;
  playing: boolean;
  goTo: (frame: number) => void;
  step: (delta: number) => void;
  togglePlay: () => void;
  onVideoEvent: (event: "loaded" | "play" | "pause" | "error") => void;
  videoError: boolean;
}

export function usePlayer(timestamps: readonly number[], duration: number): Player {
  const videoRef = useRef<HTMLVideoElement | null>(null);
  const frameRef = useRef(0);
  const [frame, setFrame] = useState(0);
  const [playing, setPlaying] = useState(false);
  const [videoError, setVideoError] = useState(false);
  const nFrames = timestamps.length;

  const seekVideo = useCallback(
    (target: number) => {
      const video = videoRef.current;
      if (video && video.readyState >= 1) video.currentTime = seekTime(timestamps, target, duration);
    },
    [timestamps, duration],
  );

  const goTo = useCallback(
    (target: number) => {
      const video = videoRef.current;
      if (video && !video.paused) video.pause();
      const next = clampFrame(target, nFrames);
      frameRef.current = next;
      setFrame(next);
      seekVideo(next);
    },
    [nFrames, seekVideo],
  );

  const step = useCallback((delta: number) => goTo(frameRef.current + delta), [goTo]);

  const togglePlay = useCallback(() => {
    const video = videoRef.current;
    if (!video) return;
    if (video.paused) {
      if (frameRef.current >= nFrames - 1) goTo(0);
      video.play().catch(() => setPlaying(false));
    } else {
      video.pause();
    }
  }, [goTo, nFrames]);

  useEffect(() => {
    if (!playing) return;
    let handle = 0;
    const tick = () => {
      const video = videoRef.current;
      if (video) {
        const current = frameAtTime(timestamps, video.currentTime);
        if (current !== frameRef.current) {
          frameRef.current = current;
          setFrame(current);
        }
      }
      handle = requestAnimationFrame(tick);
    };
    handle = requestAnimationFrame(tick);
    return () => cancelAnimationFrame(handle);
  }, [playing, timestamps]);

  const onVideoEvent = useCallback(
    (event: "loaded" | "play" | "pause" | "error") => {
      if (event === "loaded") {
        setVideoError(false);
        seekVideo(frameRef.current);
      } else if (event === "play") {
        setPlaying(true);
      } else if (event === "pause") {
        setPlaying(false);
        const video = videoRef.current;
        // Land exactly on the frame being shown.
        if (video) goTo(frameAtTime(timestamps, video.currentTime));
      } else {
        setVideoError(true);
      }
    },
    [goTo, seekVideo, timestamps],
  );

  return { videoRef, frame, nFrames, playing, goTo, step, togglePlay, onVideoEvent, videoError };
}
