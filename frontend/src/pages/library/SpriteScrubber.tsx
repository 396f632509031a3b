import { useState, type MouseEvent } from "react";
import type { Video } from "../../api/videos";
import { formatDuration } from "./format";

interface SpriteScrubberProps {
  video: Pick<Video, "sprite" | "sprite_url" | "duration">;
  onSeek: (seconds: number) => void;
}

/** Index of the thumbnail to show at `seconds`: the last one whose time is not after it. */
export function thumbnailIndex(times: readonly number[], seconds: number): number {
  let index = 0;
  for (let i = 0; i < times.length; i += 1) {
    if ((times[i] ?? Infinity) <= seconds) index = i;
    else break;
  }
  return index;
}

/** A timeline: hovering shows the frame near that time (from the sprite), clicking seeks. */
export function SpriteScrubber({ video, onSeek }: SpriteScrubberProps) {
  const [hover, setHover] = useState<{ x: number; seconds: number } | null>(null);
  const sprite = video.sprite;
  const duration = video.duration ?? 0;
  if (!sprite || !video.sprite_url || duration <= 0) return null;

  function secondsAt(event: MouseEvent<HTMLDivElement>) {
    const box = event.currentTarget.getBoundingClientRect();
    const x = Math.min(Math.max(event.clientX - box.left, 0), box.width || 1);
    return { x, seconds: (x / (box.width || 1)) * duration };
  }

  const index = hover ? thumbnailIndex(sprite.times, hover.seconds) : 0;
  const column = index % sprite.columns;
  const row = Math.floor(index / sprite.columns);

  return (
    <div
      className="scrubber"
      data-testid="scrubber"
      role="slider"
      tabIndex={0}
      aria-label="Timeline preview"
      aria-valuemin={0}
      aria-valuemax={duration}
      aria-valuenow={hover?.seconds ?? 0}
      onMouseMove={(event) => setHover(secondsAt(event))}
      onMouseLeave={() => setHover(null)}
      onClick={(event) => onSeek(secondsAt(event).seconds)}
      onKeyDown={(event) => {
        if (event.key === "Home") onSeek(0);
      }}
    >
      {hover && (
        <div className="scrubber__preview" style={{ left: hover.x }} data-testid="scrubber-preview" data-index={index}>
          <div
            className="scrubber__thumb"
            style={{
              width: sprite.tile_width,
              height: sprite.tile_height,
              backgroundImage: `url("${video.sprite_url}")`,
              backgroundPosition: `-${column * sprite.tile_width}px -${row * sprite.tile_height}px`,
            }}
          />
          <span className="small">{formatDuration(hover.seconds)}</span>
        </div>
      )}
    </div>
  );
}
