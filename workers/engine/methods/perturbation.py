"""Perturbation methods: space-time occlusion, RISE, LIME and KernelSHAP over space-time tubes.

All of them score the target class *probability* (softmax) of perturbed clips, and replace
removed content by the normalization mean colour (zero in normalized space). Occlusion, LIME and
KernelSHAP come from Captum; RISE is written here (Captum has none). LIME and KernelSHAP fit their
surrogate with a closed-form weighted ridge / least-squares solver (:class:`WeightedLinear`), so
no scikit-learn is needed; LIME's default surrogate is ridge with ``alpha=1``, as in the
reference ``lime`` package.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from captum._utils.models.linear_model import LinearModel
from captum.attr import KernelShap, Lime, Occlusion

from workers.engine._utils import normalize_last, to_output
from workers.engine.errors import ExplainError
from workers.engine.grid import pool_to_grid, temporal_from_map, tube_feature_mask
from workers.engine.registry import MethodOutput, register, samples_plus_one
from workers.engine.run import Run
from workers.models.spec import InputSpec


def _probs_forward(run: Run):
    def forward(x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(run.forward(x), dim=1)

    return forward


def _positive_int(params: dict[str, Any], name: str, method: str) -> int:
    v = params[name]
    if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
        raise ExplainError(f"{method}: {name} must be a positive int, got {v!r}")
    return int(v)


# ---------------------------------------------------------------------------------------------
# Occlusion


def occlusion_passes(params: dict[str, Any], spec: InputSpec) -> int:
    """Windows slid over the clip (each one evaluation), plus the clip itself."""
    _t, h, _w = spec.grid
    win = int(params["window_cells"])
    stride = max(1, int(params["stride_cells"]))
    tube = max(1, int(params["tube_frames"]))
    along = max(1, (h - win) // stride + 1)
    frames = max(1, (spec.num_frames - tube) // tube + 1)
    return frames * along * along + 1


@register(
    "occlusion",
    defaults={"window_cells": 2, "stride_cells": 1, "tube_frames": 2, "batch_size": 16},
    class_specific=True,
    passes=occlusion_passes,
    summary="Space-time occlusion (Captum Occlusion): slide a mean-colour tube of "
    "window_cells x window_cells token cells over tube_frames frames, stride one cell; a "
    "cell's value is the mean drop of the target probability over the windows covering it.",
)
def occlusion(run: Run) -> MethodOutput:
    p = run.params
    spec = run.loaded.spec
    t, h, w = run.grid
    patch = spec.image_size // h
    win = _positive_int(p, "window_cells", "occlusion")
    stride = _positive_int(p, "stride_cells", "occlusion")
    tube = _positive_int(p, "tube_frames", "occlusion")
    if win > h or tube > spec.num_frames:
        raise ExplainError(
            f"occlusion: window {win} cells x {tube} frames does not fit the {h}x{w} grid of "
            f"{spec.num_frames} frames"
        )
    targets = run.targets()
    occ = Occlusion(_probs_forward(run))
    attr = occ.attribute(
        run.inputs,
        sliding_window_shapes=(tube, 3, win * patch, win * patch),
        strides=(tube, 3, stride * patch, stride * patch),
        baselines=0.0,
        target=targets,
        perturbations_per_eval=_positive_int(p, "batch_size", "occlusion"),
    )
    maps = pool_to_grid(attr.detach().float().mean(dim=2), run.grid, reduce="mean")
    return to_output(run, maps, normalize_last(temporal_from_map(maps)))


# ---------------------------------------------------------------------------------------------
# RISE


def rise_masks(
    n: int,
    num_frames: int,
    size: int,
    cells: int,
    time_cells: int,
    p_keep: float,
    generator: torch.Generator,
) -> torch.Tensor:
    """RISE masks (Petsiuk et al. 2018) extended to space-time: a random binary grid of
    ``time_cells x cells x cells``, upsampled (trilinear) to a slightly larger volume and cropped
    at a random shift, giving smooth masks ``(n, T, 1, S, S)`` in [0, 1]."""
    grid = (torch.rand(n, 1, time_cells, cells, cells, generator=generator) < p_keep).float()
    ct = int(np.ceil(num_frames / time_cells))
    cs = int(np.ceil(size / cells))
    up = torch.nn.functional.interpolate(
        grid,
        size=((time_cells + 1) * ct, (cells + 1) * cs, (cells + 1) * cs),
        mode="trilinear",
        align_corners=False,
    )
    shifts_t = torch.randint(0, ct, (n,), generator=generator)
    shifts_y = torch.randint(0, cs, (n,), generator=generator)
    shifts_x = torch.randint(0, cs, (n,), generator=generator)
    out = torch.empty(n, num_frames, 1, size, size)
    for i in range(n):
        st, sy, sx = int(shifts_t[i]), int(shifts_y[i]), int(shifts_x[i])
        vol = up[i, 0, st : st + num_frames, sy : sy + size, sx : sx + size]
        out[i, :, 0] = vol
    return out


@register(
    "rise",
    defaults={
        "n_masks": 500,
        "cells": 4,
        "time_cells": 4,
        "p_keep": 0.5,
        "batch_size": 16,
        "seed": 0,
    },
    class_specific=True,
    passes=samples_plus_one("n_masks"),
    summary="RISE over space-time: random smooth masks keep ~p_keep of the clip; the map is "
    "the probability-weighted mean of the masks, averaged over each token cell.",
)
def rise(run: Run) -> MethodOutput:
    p = run.params
    spec = run.loaded.spec
    n_masks = _positive_int(p, "n_masks", "rise")
    cells = _positive_int(p, "cells", "rise")
    time_cells = _positive_int(p, "time_cells", "rise")
    batch_size = _positive_int(p, "batch_size", "rise")
    p_keep = float(p["p_keep"])
    if not 0.0 < p_keep < 1.0:
        raise ExplainError(f"rise: p_keep must be in (0, 1), got {p_keep!r}")
    targets = torch.tensor(run.targets(), device=run.device)
    gen = torch.Generator().manual_seed(int(p["seed"]))
    masks = rise_masks(
        n_masks, spec.num_frames, spec.image_size, cells, time_cells, p_keep, gen
    ).to(run.device)
    b = run.batch
    sal = torch.zeros(b, spec.num_frames, spec.image_size, spec.image_size, device=run.device)
    for start in range(0, n_masks, batch_size):
        m = masks[start : start + batch_size]  # (m, T, 1, S, S)
        k = m.shape[0]
        x = (run.inputs[:, None] * m[None]).reshape(b * k, *run.inputs.shape[1:])
        probs = torch.softmax(run.forward(x), dim=1).reshape(b, k, -1)
        score = probs.gather(2, targets[:, None, None].expand(b, k, 1))[..., 0]  # (B, k)
        sal += torch.einsum("bk,kthw->bthw", score, m[:, :, 0])
    sal = sal / (n_masks * p_keep)
    maps = pool_to_grid(sal, run.grid, reduce="mean")
    return to_output(run, maps, normalize_last(temporal_from_map(maps)))


# ---------------------------------------------------------------------------------------------
# LIME and KernelSHAP


def _weighted_ridge_train(
    model: LinearModel,
    dataloader: Any,
    construct_kwargs: dict[str, Any],
    **_: Any,
) -> dict[str, float]:
    """Closed-form weighted ridge regression with an unpenalized intercept (float64)."""
    xs, ys, ws = [], [], []
    device = torch.device("cpu")
    for data in dataloader:
        x, y = data[0], data[1]
        device = x.device
        w = data[2] if len(data) == 3 else torch.ones(x.shape[0])
        xs.append(x.detach().double().cpu().reshape(x.shape[0], -1))
        ys.append(y.detach().double().cpu().reshape(y.shape[0], -1))
        ws.append(w.detach().double().cpu().reshape(-1))
    x, y, w = torch.cat(xs), torch.cat(ys), torch.cat(ws)
    alpha = float(construct_kwargs.get("alpha", 1.0))
    wsum = w.sum().clamp_min(1e-12)
    xm = (w[:, None] * x).sum(0) / wsum
    ym = (w[:, None] * y).sum(0) / wsum
    xc, yc = x - xm, y - ym
    sw = w.sqrt()[:, None]
    xw, yw = xc * sw, yc * sw
    gram = xw.T @ xw
    if alpha > 0:
        gram = gram + alpha * torch.eye(gram.shape[0], dtype=gram.dtype)
        beta = torch.linalg.solve(gram, xw.T @ yw)
    else:
        # minimum-norm least squares by SVD (numpy's gelsd): stable and repeatable even when
        # the sampled coalitions leave the system rank deficient
        sol = np.linalg.lstsq(xw.numpy(), yw.numpy(), rcond=None)[0]
        beta = torch.from_numpy(sol)
    bias = ym - xm @ beta
    model._construct_model_params(
        weight_values=beta.T.float().contiguous().to(device),
        bias_value=bias.float().reshape(-1).to(device),
    )
    return {"alpha": alpha}


class WeightedLinear(LinearModel):
    """Captum interpretable model: weighted ridge (``alpha > 0``) or least squares (0)."""

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__(train_fn=_weighted_ridge_train, alpha=alpha)


def _surrogate_method(run: Run, kind: str) -> MethodOutput:
    p = run.params
    spec = run.loaded.spec
    name = kind
    n_samples = _positive_int(p, "n_samples", name)
    batch_size = _positive_int(p, "batch_size", name)
    mask, n_features = tube_feature_mask(
        spec.num_frames,
        spec.image_size,
        run.grid,
        p["tube_frames"],
        p["tube_cells"],
        run.device,
    )
    targets = run.targets()
    forward = _probs_forward(run)
    if kind == "lime":
        explainer: Any = Lime(forward, interpretable_model=WeightedLinear(float(p["alpha"])))
    else:
        explainer = KernelShap(forward)
        explainer.interpretable_model = WeightedLinear(float(p["alpha"]))
    out = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(p["seed"]))
        for b in range(run.batch):
            attr = explainer.attribute(
                run.inputs[b : b + 1],
                baselines=0.0,
                target=targets[b],
                feature_mask=mask.expand(1, -1, 3, -1, -1),
                n_samples=n_samples,
                perturbations_per_eval=batch_size,
            )
            out.append(attr.detach().float().mean(dim=2))
    maps = pool_to_grid(torch.cat(out), run.grid, reduce="mean")
    run.extras["n_features"] = n_features
    return to_output(run, maps, normalize_last(temporal_from_map(maps)))


TUBE_DEFAULTS = {"tube_frames": 2, "tube_cells": 2, "batch_size": 16, "seed": 0}


@register(
    "lime",
    defaults={"n_samples": 1000, "alpha": 1.0, **TUBE_DEFAULTS},
    class_specific=True,
    passes=samples_plus_one("n_samples"),
    summary="LIME (Captum) over space-time tubes (tube_cells x tube_cells cells x tube_frames "
    "frames), Bernoulli(0.5) tube on/off samples, cosine-kernel weights, ridge surrogate.",
)
def lime(run: Run) -> MethodOutput:
    return _surrogate_method(run, "lime")


@register(
    "kernel_shap",
    defaults={"n_samples": 1000, "alpha": 0.0, **TUBE_DEFAULTS},
    class_specific=True,
    passes=samples_plus_one("n_samples"),
    summary="KernelSHAP (Captum) over the same space-time tubes: Shapley-kernel coalition "
    "samples and a least-squares surrogate.",
)
def kernel_shap(run: Run) -> MethodOutput:
    return _surrogate_method(run, "kernel_shap")
