"""Sanity floors: a random map and a centre prior. Neither looks at the clip's content; they
still run one forward pass for the prediction every explanation carries."""

from __future__ import annotations

import numpy as np

from workers.engine.errors import ExplainError
from workers.engine.registry import MethodOutput, register
from workers.engine.run import Run


@register(
    "random",
    defaults={"seed": 0},
    class_specific=False,
    audio_visual=True,
    summary="Uniform random map and temporal importance (seeded; clip i of a call uses seed + i).",
)
def random_map(run: Run) -> MethodOutput:
    t, h, w = run.grid
    maps = np.empty((run.batch, t, h, w), dtype=np.float32)
    temporal = np.empty((run.batch, t), dtype=np.float32)
    a = _audio_tokens(run)
    audio = np.empty((run.batch, a), dtype=np.float32) if a else None
    for b in range(run.batch):
        rng = run.generator(b)
        maps[b] = rng.random((t, h, w), dtype=np.float32)
        temporal[b] = rng.random(t, dtype=np.float32)
        if audio is not None:
            audio[b] = rng.random(a, dtype=np.float32)
    run.base_logits()
    return MethodOutput(maps=maps, temporal=temporal, audio=audio)


def _audio_tokens(run: Run) -> int:
    spec = run.loaded.spec.audio
    return int(spec.tokens) if spec is not None else 0


def center_prior(grid: tuple[int, int, int], sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Separable space-time Gaussian centred on the middle of the clip and of the frame;
    ``sigma`` is a fraction of each axis's length. Returns (map (T', h, w), temporal (T',))."""
    t, h, w = grid

    def axis(n: int) -> np.ndarray:
        c = (np.arange(n) + 0.5 - n / 2.0) / n
        return np.exp(-0.5 * (c / sigma) ** 2)

    gt, gy, gx = axis(t), axis(h), axis(w)
    maps = gt[:, None, None] * gy[None, :, None] * gx[None, None, :]
    maps = maps / maps.sum()
    return maps.astype(np.float32), (gt / gt.sum()).astype(np.float32)


@register(
    "center",
    defaults={"sigma": 0.25},
    class_specific=False,
    audio_visual=True,
    summary="Centre prior: a space-time Gaussian on the middle of the frame and of the clip.",
)
def center(run: Run) -> MethodOutput:
    sigma = run.params["sigma"]
    if isinstance(sigma, bool) or not isinstance(sigma, int | float) or not sigma > 0:
        raise ExplainError(f"center: sigma must be a positive number, got {sigma!r}")
    m, tmp = center_prior(run.grid, float(sigma))
    run.base_logits()
    b = run.batch
    audio = None
    if a := _audio_tokens(run):  # the same Gaussian over the clip's sound
        _, curve = center_prior((a, 1, 1), float(sigma))
        audio = np.broadcast_to(curve, (b, a)).copy()
    return MethodOutput(
        maps=np.broadcast_to(m, (b, *m.shape)).copy(),
        temporal=np.broadcast_to(tmp, (b, tmp.shape[0])).copy(),
        audio=audio,
    )
