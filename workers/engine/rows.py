"""The attention rows STAA, STAA+ and rollout read, computed from queries and keys.

STAA reads, per layer and head, the class token's row of the spatial (or joint) attention
(for VideoMAE, which has no class token, the mean of all query rows) and, for divided
space-time models, the temporal attention each frame receives (the mean over query frames);
STAA+ and rollout with ``layers="rollout"`` also need each layer's whole attention matrix with
its heads fused. None of that needs the model to multiply out its probabilities: forward hooks
on the projections that make the queries and keys (:class:`~workers.engine.attention.QKTap`)
compute exactly these rows, ``softmax(q k^T * scale)`` for the queries wanted, in float32 even
under bf16/fp16 autocast, while the model runs its fused attention kernel
(:mod:`workers.models.fast_attention`) for the forward pass itself.

Costs: the class token's row is one ``1 x N`` product per head; temporal attention over T
frames is ``T x T``; the mean query row (VideoMAE) and the head-fused matrices are computed in
query chunks of bounded memory (:data:`CHUNK_BYTES`), a second ``q k^T`` of the layers that
need them.

:func:`capture_rows` runs one forward pass and returns :class:`AttentionRows`. Inside
:func:`reference_capture` it takes the old road instead (eager attention, the probability
tensors from hooks, reduced afterwards): the rows computed here are tested against it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import torch

from workers.engine.attention import (
    AttentionLayout,
    AttentionRecorder,
    QKTap,
    attention_layout,
    fuse_heads,
)
from workers.engine.errors import ExplainError
from workers.engine.run import Run

CHUNK_BYTES = 64 * 2**20  # float32 scores held at once while reducing many query rows
RETAIN_BYTES = 256 * 2**20  # q/k projection outputs held before their rows are computed

# Which road :func:`capture_rows` takes: None (chosen per call, :func:`road_for`), "qk" (the q/k
# hooks beside the fused kernel) or "reference" (eager attention's whole probability tensors).
_road: ContextVar[str | None] = ContextVar("wherewhen_capture_road", default=None)


@contextmanager
def _forced(road: str) -> Iterator[None]:
    token = _road.set(road)
    try:
        yield
    finally:
        _road.reset(token)


def reference_capture():
    """Within the block :func:`capture_rows` reads the rows off eager attention's probability
    tensors (what every attention method did before the q/k hooks; tests and benchmarks
    compare the two)."""
    return _forced("reference")


def qk_capture():
    """Within the block :func:`capture_rows` always computes the rows from q/k hooks (tests
    compare that road with the reference on every device)."""
    return _forced("qk")


def road_for(device: torch.device, fusion: str | None) -> str:
    """The road for rows of a forward pass on ``device``: ``"qk"`` or ``"eager"``.

    Whole head-fused matrices (``fusion``: STAA+ and rollout) on a CPU come from eager
    attention's own probabilities (``"eager"``: the heads fused as each layer runs, so a
    ``heads``-th of the memory): there the fused kernel is no faster than eager attention at
    these sizes, and the q/k road would compute every layer's ``softmax(q k^T)`` a second time
    (TimeSformer-base, 2 CPU threads: STAA+ 1.27x plain inference on the q/k road, about 1.0x on
    this one; docs/methods.md, "Throughput"). On a GPU, and for class-token rows alone, the q/k
    hooks keep the fused kernel on."""
    if fusion is not None and device.type == "cpu":
        return "eager"
    return "qk"


@dataclass
class AttentionRows:
    """Per-layer attention rows of one forward pass (layer index -> tensor, float32).

    * ``spatial``: the class token's row (or the mean query row) per head, ``(B', H, keys)``:
      ``B' = B * T`` for divided models (class token first, then the frame's patches), ``B``
      for joint ones;
    * ``temporal``: divided models, the attention each frame receives per head,
      ``(B * P, H, T)``;
    * ``spatial_fused`` / ``temporal_fused`` (only when asked): whole matrices with the heads
      fused, ``(B', N, N)`` and ``(B * P, T, T)``.
    """

    spatial: dict[int, torch.Tensor] = field(default_factory=dict)
    temporal: dict[int, torch.Tensor] = field(default_factory=dict)
    spatial_fused: dict[int, torch.Tensor] = field(default_factory=dict)
    temporal_fused: dict[int, torch.Tensor] = field(default_factory=dict)


def _scores(q: torch.Tensor, k: torch.Tensor, tap: QKTap) -> torch.Tensor:
    s = q @ k.transpose(-2, -1)
    return s.div_(tap.scale) if tap.divide else s.mul_(tap.scale)


def _query_chunk(batch: int, heads: int, keys: int) -> int:
    return max(1, CHUNK_BYTES // max(1, batch * heads * keys * 4))


def _fuse(probs: torch.Tensor, how: str) -> torch.Tensor:
    """Heads fused, ``(B', H, n, N)`` -> ``(B', n, N)``: mean or max."""
    if how == "max":
        return probs.amax(dim=1)
    return probs.sum(dim=1).div_(probs.shape[1])


def spatial_rows(
    q: torch.Tensor, k: torch.Tensor, tap: QKTap, has_cls: bool, fusion: str | None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``q``, ``k`` ``(B', H, N, d)`` -> the class token's row (or the mean query row) per head
    ``(B', H, N)`` and, with ``fusion``, the whole matrix with heads fused ``(B', N, N)``."""
    batch, heads, n, _ = q.shape
    if fusion is None and has_cls:
        return _scores(q[:, :, :1], k, tap).softmax(dim=-1)[:, :, 0], None
    fused = torch.empty(batch, n, n, dtype=q.dtype, device=q.device) if fusion else None
    total = None if has_cls else torch.zeros(batch, heads, n, dtype=q.dtype, device=q.device)
    cls_row = None
    step = _query_chunk(batch, heads, n)
    if step >= n and not has_cls:  # one chunk: the very reduction eager attention's rows get
        probs = _scores(q, k, tap).softmax(dim=-1)
        return probs.mean(dim=-2), (_fuse(probs, fusion) if fusion else None)
    for start in range(0, n, step):
        probs = _scores(q[:, :, start : start + step], k, tap).softmax(dim=-1)
        if fused is not None:
            fused[:, start : start + step] = _fuse(probs, fusion)
        if total is None:
            if start == 0:
                cls_row = probs[:, :, 0]
        else:
            total += probs.sum(dim=-2)
    rows = cls_row if total is None else total / n
    return rows, fused


def temporal_rows(
    q: torch.Tensor, k: torch.Tensor, tap: QKTap, fusion: str | None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``q``, ``k`` ``(B*P, H, T, d)`` -> the attention each frame receives per head
    ``(B*P, H, T)`` and, with ``fusion``, the heads-fused matrices ``(B*P, T, T)``."""
    probs = _scores(q, k, tap).softmax(dim=-1)
    return probs.mean(dim=-2), (_fuse(probs, fusion) if fusion else None)


def _alike(item: tuple[int, QKTap, list[torch.Tensor]]) -> tuple:
    _index, tap, outputs = item
    shapes = tuple((tuple(o.shape), o.dtype) for o in outputs)
    return (tap.heads, tap.scale, tap.divide, shapes)


class QKRecorder:
    """Forward hooks on the q/k projections of the chosen layers that fill an
    :class:`AttentionRows`; the model's attention itself is left as it is.

    The hooks only keep the projections' outputs; the rows are computed for several layers at
    once (as many as fit in :data:`RETAIN_BYTES`), in a few large tensor operations rather than
    a dozen small ones per layer: on a busy CPU every parallel operation waits for its threads,
    and on a GPU every operation is a kernel launch."""

    def __init__(self, layout: AttentionLayout, layers: list[int], fusion: str | None) -> None:
        self.layout = layout
        self.layers = sorted(set(layers))
        self.fusion = fusion
        self.rows = AttentionRows()
        self._handles: list[Any] = []
        self._pending: dict[bool, list[tuple[int, QKTap, list[torch.Tensor]]]] = {
            False: [],
            True: [],
        }

    @staticmethod
    def _split(tap: QKTap, group: list[list[torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
        """The projection outputs of a group of layers -> float32 ``q``, ``k`` shaped
        ``(layers * B', H, N, d)``, contiguous, each copied once (batched products of strided
        views are several times slower)."""
        qs, ks = [], []
        for outputs in group:
            if len(outputs) == 1:  # packed (B', N, 3C)
                out = outputs[0]
                b, n, c3 = out.shape
                qkv = out.reshape(b, n, 3, tap.heads, c3 // (3 * tap.heads)).permute(2, 0, 3, 1, 4)
                q, k = qkv[0], qkv[1]
            else:
                q, k = outputs
                b, n, c = q.shape
                q = q.reshape(b, n, tap.heads, c // tap.heads).transpose(1, 2)
                k = k.reshape(b, n, tap.heads, c // tap.heads).transpose(1, 2)
            qs.append(q)
            ks.append(k)
        if len(group) == 1:
            return qs[0].float().contiguous(), ks[0].float().contiguous()
        return torch.cat(qs).float(), torch.cat(ks).float()

    def _keep(self, index: int, tap: QKTap, outputs: list[torch.Tensor], temporal: bool) -> None:
        pending = self._pending[temporal]
        pending.append((index, tap, [o.detach() for o in outputs]))
        held = sum(o.numel() * o.element_size() for _i, _t, outs in pending for o in outs)
        if held >= RETAIN_BYTES:
            self._flush(temporal)

    def _flush(self, temporal: bool) -> None:
        pending, self._pending[temporal] = self._pending[temporal], []
        while pending:  # layers with alike attention (and equal shapes) go in one pass
            key = _alike(pending[0])
            group = [item for item in pending if _alike(item) == key]
            pending = [item for item in pending if _alike(item) != key]
            self._compute(group, temporal)

    def _compute(self, group: list[tuple[int, QKTap, list[torch.Tensor]]], temporal: bool):
        tap = group[0][1]
        first = group[0][2][0]
        with torch.no_grad(), torch.autocast(first.device.type, enabled=False):
            q, k = self._split(tap, [outputs for _index, _tap, outputs in group])
            if temporal:
                rows, fused = temporal_rows(q, k, tap, self.fusion)
                kept_rows, kept_fused = self.rows.temporal, self.rows.temporal_fused
            else:
                rows, fused = spatial_rows(q, k, tap, self.layout.has_cls, self.fusion)
                kept_rows, kept_fused = self.rows.spatial, self.rows.spatial_fused
        for (index, _tap, _outs), part in zip(group, rows.chunk(len(group)), strict=True):
            kept_rows[index] = part
        if fused is not None:
            for (index, _tap, _outs), part in zip(group, fused.chunk(len(group)), strict=True):
                kept_fused[index] = part

    def _watch(self, index: int, tap: QKTap, temporal: bool) -> None:
        if len(tap.modules) == 1:

            def packed(_module: Any, _inputs: Any, output: torch.Tensor) -> None:
                self._keep(index, tap, [output], temporal)

            self._handles.append(tap.modules[0].register_forward_hook(packed))
            return
        # separate query and key projections: keep them once both have run (in either order)
        seen: dict[int, torch.Tensor] = {}

        def part(slot: int):
            def hook(_module: Any, _inputs: Any, output: torch.Tensor) -> None:
                seen[slot] = output
                if len(seen) == 2:
                    self._keep(index, tap, [seen.pop(0), seen.pop(1)], temporal)

            return hook

        for slot, module in enumerate(tap.modules):
            self._handles.append(module.register_forward_hook(part(slot)))

    def __enter__(self) -> QKRecorder:
        for index in self.layers:
            self._watch(index, self.layout.qk_spatial[index], temporal=False)
            if self.layout.qk_temporal:
                self._watch(index, self.layout.qk_temporal[index], temporal=True)
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        if exc_type is None:
            self._flush(False)
            self._flush(True)
        self._pending = {False: [], True: []}


def _reference_rows(
    run: Run, layout: AttentionLayout, layers: list[int], fusion: str | None
) -> tuple[AttentionRows, torch.Tensor]:
    """The rows read off eager attention's probabilities (see :func:`reference_capture`)."""
    keep = "full" if fusion else "rows"
    recorder = AttentionRecorder(layout, layers=layers, keep=keep)
    with recorder:
        logits = run.forward(run.inputs)
    rows = AttentionRows()
    for i, a in recorder.spatial.items():
        a = a.float()
        if keep == "full":
            rows.spatial_fused[i] = fuse_heads(a, fusion)
            a = a[:, :, 0, :] if layout.has_cls else a.mean(dim=-2)
        rows.spatial[i] = a
    for i, a in recorder.temporal.items():
        a = a.float()
        if keep == "full":
            rows.temporal_fused[i] = fuse_heads(a, fusion)
            a = a.mean(dim=-2)
        rows.temporal[i] = a
    return rows, logits


def _eager_rows(
    run: Run, layout: AttentionLayout, layers: list[int], fusion: str
) -> tuple[AttentionRows, torch.Tensor]:
    """The rows and head-fused matrices from eager attention, reduced as each layer runs."""
    recorder = AttentionRecorder(layout, layers=layers, keep="fused", fusion=fusion)
    with recorder:
        logits = run.forward(run.inputs)
    rows = AttentionRows(
        spatial=recorder.spatial,
        temporal=recorder.temporal,
        spatial_fused=recorder.spatial_fused,
        temporal_fused=recorder.temporal_fused,
    )
    return rows, logits


def capture_rows(
    run: Run, layers: list[int], fusion: str | None = None
) -> tuple[AttentionLayout, AttentionRows, torch.Tensor]:
    """One forward pass of the run's batch; returns the layout, the rows of ``layers`` (with
    the heads-fused whole matrices when ``fusion`` is ``"mean"`` or ``"max"``) and the logits."""
    if fusion not in (None, "mean", "max"):
        raise ExplainError(f"head_fusion must be 'mean' or 'max', got {fusion!r}")
    layout = attention_layout(run.loaded)
    road = _road.get() or road_for(run.inputs.device, fusion)
    if road == "reference":
        rows, logits = _reference_rows(run, layout, layers, fusion)
    elif road == "eager":
        rows, logits = _eager_rows(run, layout, layers, fusion or "mean")
    else:
        with QKRecorder(layout, layers, fusion) as recorder:
            logits = run.forward(run.inputs)
        rows = recorder.rows
    if not rows.spatial:
        raise ExplainError("no attention was captured from the model's forward pass")
    return layout, rows, logits
