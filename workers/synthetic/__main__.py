"""``python -m workers.synthetic --n 200 --seed 1 --out DIR [--audio] [--av-mix]``."""

from __future__ import annotations

import argparse
import sys

from workers.synthetic.dataset import generate_dataset
from workers.synthetic.scene import AV_SOUND_MIX, SceneConfig, SyntheticConfigError
from workers.synthetic.video import VideoIOError


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m workers.synthetic",
        description="Generate synthetic space-time benchmark clips (MP4 + JSON + CVAT XML).",
    )
    p.add_argument("--n", type=int, required=True, help="number of clips")
    p.add_argument("--seed", type=int, required=True, help="dataset seed (same seed, same clips)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--audio", action="store_true", help="add an AAC track with the event tone")
    p.add_argument(
        "--av-mix",
        action="store_true",
        help="audio-visual mix of sound modes (tone with the flash, at another time, missing, "
        "or without any flash); implies --audio",
    )
    p.add_argument("--start-index", type=int, default=0, help="index of the first clip")
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--height", type=int, default=128)
    p.add_argument("--frames", type=int, default=32, help="frames per clip")
    p.add_argument("--fps", type=int, default=16)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    try:
        config = SceneConfig(
            width=args.width,
            height=args.height,
            num_frames=args.frames,
            fps=args.fps,
            sound_mix=AV_SOUND_MIX if args.av_mix else (("synced", 1.0),),
        )
        records = generate_dataset(
            args.out,
            args.n,
            args.seed,
            audio=args.audio or args.av_mix,
            config=config,
            start_index=args.start_index,
            progress=not args.quiet,
        )
    except (SyntheticConfigError, VideoIOError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(records)} clips to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
