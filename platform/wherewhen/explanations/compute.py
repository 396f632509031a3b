"""The gpu worker's adapter: claim explanations, run ``explain()`` on a batch, store results.

Imported only inside the compute task (it pulls in torch through ``workers.serving`` lazily,
inside functions). The protocol itself is in :mod:`wherewhen.explanations.claims`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import close_old_connections, connection

from wherewhen.explanations import claims, conf, framing, storage
from wherewhen.explanations.models import Explanation
from wherewhen.videos import services as video_services

log = logging.getLogger(__name__)

DECODE_THREADS = 4


class TransientError(RuntimeError):
    """A failure worth retrying later (e.g. the GPU was out of memory)."""


class LeaseKeeper(threading.Thread):
    """Renews the claim of the rows being computed and writes their progress, about once a
    second (and at least three times per lease)."""

    def __init__(self, ids: list[int], owner: str) -> None:
        super().__init__(name="explanation-lease", daemon=True)
        self.ids = list(ids)
        self.owner = owner
        self.counter = None
        self.lost: set[int] = set()
        self._stop_event = threading.Event()
        self.interval = min(1.0, conf.lease_seconds() / 3)

    def set_counter(self, counter: Any) -> None:
        self.counter = counter

    def run(self) -> None:
        try:
            while not self._stop_event.wait(self.interval):
                progress = self.counter.fraction if self.counter is not None else None
                try:
                    held = claims.renew(self.ids, self.owner, progress)
                except Exception:  # the database hiccuped: try again next tick
                    log.warning("could not renew the lease of %s", self.ids, exc_info=True)
                    close_old_connections()
                    continue
                lost = set(self.ids) - held
                if lost - self.lost:
                    log.warning("lost the claim of explanation(s) %s", sorted(lost - self.lost))
                self.lost = lost
        finally:
            connection.close()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)


class Prefetcher(threading.Thread):
    """While the model runs, decode the clips of the next queued requests for the same model
    into this process's cache of decoded windows (:mod:`workers.video.cache`), so the task that
    claims them next finds them decoded.

    Celery cannot show what comes next: with late acks and a prefetch multiplier of 1 the worker
    has reserved no other message while a task runs. The database can: the queued rows of this
    model, oldest first (at most ``EXPLANATION_BATCH_MAX``). Best effort: a failure is logged,
    :meth:`stop` ends it between clips, and the lease of nothing changes."""

    def __init__(
        self, model_id: int, exclude: list[int], clip_of: Any, queued: list | None = None
    ) -> None:
        super().__init__(name="explanation-prefetch", daemon=True)
        self.model_id, self.exclude, self.clip_of = model_id, list(exclude), clip_of
        self.queued = queued  # the rows to decode, when the caller has read them already
        self._stop_event = threading.Event()
        self.decoded = 0

    @staticmethod
    def next_rows(model_id: int, exclude: list[int]) -> list[Explanation]:
        """The queued rows of ``model_id`` (not ``exclude``), oldest first, with their videos."""
        return list(
            Explanation.objects.filter(
                status=Explanation.Status.QUEUED,
                source=Explanation.Source.COMPUTED,
                model_id=model_id,
            )
            .exclude(pk__in=exclude)
            .select_related("video")
            .order_by("created_at", "id")[: conf.batch_max()]
        )

    def run(self) -> None:
        try:
            queued = self.queued
            if queued is None:
                queued = self.next_rows(self.model_id, self.exclude)
            for row in queued:
                if self._stop_event.is_set():
                    return
                with _video_file(row.video) as path:
                    self.clip_of(row, str(path), _frame_table(row.video))
                self.decoded += 1
        except Exception:  # the task that claims the row decodes it (and reports any error)
            log.debug("prefetch failed", exc_info=True)
        finally:
            connection.close()

    def stop(self) -> None:
        self._stop_event.set()


def _video_file(video):
    """``with _video_file(video) as path``: the playback file (else the original) on local
    disk (the worker's cached copy when media live in an object store)."""
    return video_services.local_file(video)


def _frame_table(video) -> list[float] | None:
    """The stored frame timestamps, when they describe the file being decoded (playback)."""
    return list(video.frame_timestamps) if video.playback and video.frame_timestamps else None


def result_fields(
    explanation: Any,
    batch_size: int,
    map_file: str,
    sha: str,
    source_size: tuple[int, int] | None = None,
    video_size: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """The columns of a done row, from a ``workers.types.Explanation``; its ``view`` (source
    pixels of the decoded ``source_size`` frame) is stored in the video's ``video_size``
    pixels, None when it is the whole frame (:mod:`wherewhen.explanations.framing`)."""
    heat = explanation.map
    return {
        "map_file": map_file,
        "map_sha256": sha,
        "grid": [int(x) for x in heat.shape],
        "temporal": [float(x) for x in explanation.temporal],
        "timestamps": [float(x) for x in explanation.timestamps],
        "explained_target": int(explanation.target),
        "topk": [dataclasses.asdict(p) for p in explanation.topk],
        "cost": dataclasses.asdict(explanation.cost),
        "value_range": [float(heat.min()), float(heat.max())],
        "audio": audio_curve(explanation),
        "batch_size": batch_size,
        "view": stored_view(getattr(explanation, "view", None), source_size, video_size),
    }


def stored_view(
    view: Any, source_size: tuple[int, int] | None, video_size: tuple[int, int] | None
) -> list[float] | None:
    """The view of a computed explanation in the video's pixels (None: the whole frame)."""
    if view is None or source_size is None:
        return None
    width, height = video_size if video_size and all(video_size) else source_size
    return framing.stored(framing.rescale(view, source_size, (width, height)), width, height)


def audio_curve(explanation: Any) -> dict[str, Any] | None:
    """``{"importance": [A], "times": [[start, end], ...]}`` of an audio-visual explanation
    (source seconds of each audio token), None for video-only models."""
    importance = getattr(explanation, "audio", None)
    times = getattr(explanation, "audio_times", None)
    if importance is None or times is None:
        return None
    return {
        "importance": [float(x) for x in importance],
        "times": [[float(a), float(b)] for a, b in times],
    }


def run(explanation_id: int, node: str | None = None) -> dict[str, Any]:
    """Compute explanation ``explanation_id`` (and queued companions) if it still needs it."""
    owner = claims.worker_identity(node)
    primary = claims.claim(explanation_id, owner)
    if primary is None:
        status = (
            Explanation.objects.filter(pk=explanation_id).values_list("status", flat=True).first()
        )
        return {"explanation": explanation_id, "outcome": "nothing to do", "status": status}
    rows = [primary]
    if primary.source == Explanation.Source.COMPUTED and _batches(primary.method):
        rows += claims.claim_companions(primary, owner, conf.batch_max() - 1)
    ids = [r.pk for r in rows]
    keeper = LeaseKeeper(ids, owner)
    keeper.start()
    try:
        done = _compute(rows, owner, keeper)
    except (TransientError, OSError, *_db_errors()) as exc:
        log.warning("explanation(s) %s: transient failure, will retry: %s", ids, exc)
        keeper.stop()
        try:
            claims.release(ids, owner)
        except Exception:  # the lease runs out and the sweep queues them again
            log.warning("could not release %s", ids, exc_info=True)
        raise
    except _soft_time_limit() as exc:
        limit = exc.args[0] if exc.args else None
        for pk in ids:
            claims.fail(
                pk,
                owner,
                f"Stopped: the computation took longer than the time limit for {primary.method}"
                + (f" ({limit} s)." if isinstance(limit, int | float) else "."),
            )
        return {"explanation": explanation_id, "outcome": "time limit", "batch": ids}
    except Exception as exc:
        log.exception("explanation(s) %s failed", ids)
        for pk in ids:
            claims.fail(pk, owner, f"Internal error while computing: {exc}")
        raise
    finally:
        keeper.stop()
    return {"explanation": explanation_id, "outcome": "computed", "batch": ids, "done": done}


def _batches(method: str) -> bool:
    """Only single-pass methods are batched: a perturbation method's cost grows with every clip
    it takes on, and the batch would share one task's time limit."""
    from wherewhen.explanations.methods import METHODS

    spec = METHODS.get(method)
    return spec is not None and spec.family == "fast"


def _db_errors() -> tuple[type[BaseException], ...]:
    from django.db import InterfaceError, OperationalError

    return (OperationalError, InterfaceError)


def _soft_time_limit() -> type[BaseException]:
    from celery.exceptions import SoftTimeLimitExceeded

    return SoftTimeLimitExceeded


def _compute(rows: list[Explanation], owner: str, keeper: LeaseKeeper) -> list[int]:
    from workers.models.loader import ModelLoadError
    from workers.serving import ClipError, load_clip, process_cache, resolve_device

    primary = rows[0]
    model_row = primary.model
    if model_row is None:
        for r in rows:
            claims.fail(r.pk, owner, "This explanation has no model to compute it with.")
        return []
    device = resolve_device(model_row.device)
    try:
        loaded = process_cache().get(model_row.checkpoint_dir, model_row.fingerprint, device)
    except ModelLoadError as exc:
        for r in rows:
            claims.fail(r.pk, owner, f"The model {model_row.name!r} could not be loaded: {exc}")
        return []
    if primary.windowed:
        return _compute_windowed(primary, loaded, owner, keeper)

    def clip_of(row: Explanation, path: str, table: list[float] | None) -> Any:
        return load_clip(
            path,
            loaded.spec,
            row.clip_start,
            row.clip_end,
            timestamps=table,
            duration=row.video.duration,
            video_id=str(row.video_id),
            model_name=model_row.name,
        )

    # The clips of a batch are decoded in parallel (PyAV and ffmpeg release the GIL; the rows'
    # videos are read here, in this thread, so the helper threads never touch the database).
    # Windows decoded before (another method on the same clip, a prefetch) come from the cache.
    stages: dict[str, float] = {}
    started = time.perf_counter()
    with contextlib.ExitStack() as files:  # local copies stay put while they are decoded
        jobs = []
        for r in rows:
            try:
                path = files.enter_context(_video_file(r.video))
            except FileNotFoundError as exc:  # core.media.MediaMissing
                claims.fail(r.pk, owner, f"The video file is missing from storage: {exc}")
                continue
            jobs.append((r, str(path), _frame_table(r.video)))
        ready = _decode(jobs, clip_of, owner, ClipError) if jobs else []
    stages["decode"] = time.perf_counter() - started
    if not ready:
        return []
    return _explain_ready(ready, loaded, model_row, rows, primary, owner, keeper, clip_of, stages)


def _decode(jobs, clip_of, owner: str, clip_error: type[BaseException]) -> list[tuple[Any, Any]]:
    """Decode the clips of ``jobs`` (row, local path, frame table), in parallel when several;
    a clip that cannot be read fails its row."""
    ready: list[tuple[Explanation, Any]] = []
    ClipError = clip_error  # noqa: N806 - the engine's exception class, imported lazily
    if len(jobs) == 1:  # no pool for a lone clip
        r, path, table = jobs[0]
        try:
            ready.append((r, clip_of(r, path, table)))
        except ClipError as exc:
            claims.fail(r.pk, owner, f"The video could not be read for the model: {exc}")
    else:
        with ThreadPoolExecutor(max_workers=min(len(jobs), DECODE_THREADS)) as pool:
            futures = [(r, pool.submit(clip_of, r, path, table)) for r, path, table in jobs]
            for r, future in futures:
                try:
                    ready.append((r, future.result()))
                except ClipError as exc:
                    claims.fail(r.pk, owner, f"The video could not be read for the model: {exc}")
    return ready


def _explain_ready(ready, loaded, model_row, rows, primary, owner, keeper, clip_of, stages):
    """Explain the decoded clips of ``ready`` (a prefetch of the next requests' clips runs
    meanwhile) and store each map; returns the ids finished."""
    from workers.engine import ExplainError

    # The next queued requests' clips decode while the model runs. They are looked up here, on
    # this task's connection: a thread of its own would open a database connection per task,
    # and usually (one client at a time) nothing is queued.
    exclude = [r.pk for r in rows]
    try:
        queued = Prefetcher.next_rows(model_row.pk, exclude)
    except _db_errors():  # best effort: the batch itself goes on
        log.debug("prefetch lookup failed", exc_info=True)
        queued = []
    prefetch = Prefetcher(model_row.pk, exclude, clip_of, queued)
    if queued:
        prefetch.start()
    try:
        results = _explain(loaded, ready, primary, keeper, stages)
    except ExplainError as exc:
        if len(ready) == 1:
            claims.fail(ready[0][0].pk, owner, f"The method refused this request: {exc}")
            return []
        # One bad request must not fail the others: run them one by one.
        results = []
        for item in ready:
            try:
                results += _explain(loaded, [item], primary, keeper)
            except ExplainError as one:
                claims.fail(item[0].pk, owner, f"The method refused this request: {one}")
                results.append(None)
    finally:
        prefetch.stop()

    finished = []
    for (row, clip), result in zip(ready, results, strict=True):
        if result is None:
            continue
        map_file, sha = storage.write_map(row.request_key, result.map)
        video_size = (int(row.video.width or 0), int(row.video.height or 0))
        fields = result_fields(
            result, len(ready), map_file, sha, tuple(clip.source_size), video_size
        )
        fields["cost"]["stages"] = {k: round(v, 6) for k, v in stages.items()}
        if claims.finish(row.pk, owner, fields):
            finished.append(row.pk)
    return finished


def _compute_windowed(row: Explanation, loaded: Any, owner: str, keeper: LeaseKeeper) -> list[int]:
    """A whole-span request: ``workers.windows.explain_windows`` window by window, the stacked
    map written as it goes, progress = windows done / windows planned."""
    import torch

    from workers.windows import explain_windows, result_summary

    partial = storage.partial_map_path(row.request_key)
    try:
        with _video_file(row.video) as path:
            result = explain_windows(
                loaded,
                str(path),
                row.method,
                partial,
                target=row.target,
                params=dict(row.params),
                timestamps=_frame_table(row.video),
                duration=row.video.duration,
                start=row.clip_start,
                end=row.clip_end,
                video_id=str(row.video_id),
                on_progress=keeper.set_counter,
            )
        map_file, sha = storage.place_map_file(row.request_key, partial)
    except torch.cuda.OutOfMemoryError as exc:
        raise TransientError(f"the GPU ran out of memory: {exc}") from exc
    except ValueError as exc:  # VideoError, ExplainError: the message says what is wrong
        claims.fail(row.pk, owner, f"The whole-video explanation could not be made: {exc}")
        return []
    except FileNotFoundError as exc:  # core.media.MediaMissing
        claims.fail(row.pk, owner, f"The video file is missing from storage: {exc}")
        return []
    finally:
        partial.unlink(missing_ok=True)
    video_size = (int(row.video.width or 0), int(row.video.height or 0))
    fields = {
        "map_file": map_file,
        "map_sha256": sha,
        "grid": [int(x) for x in result.grid],
        "temporal": [float(x) for x in result.temporal],
        "timestamps": [float(x) for x in result.timestamps],
        "explained_target": int(result.target),
        "topk": [dataclasses.asdict(p) for p in result.topk],
        "cost": dataclasses.asdict(result.cost),
        "value_range": [float(x) for x in result.value_range],
        "audio": None,
        # The windows' clips are decoded at the video's display size, as one-clip rows are.
        "view": stored_view(result.view, video_size, video_size) if all(video_size) else None,
        "windows": result_summary(result),
        "batch_size": 1,
    }
    return [row.pk] if claims.finish(row.pk, owner, fields) else []


def _explain(
    loaded: Any,
    items: list[tuple[Explanation, Any]],
    primary,
    keeper,
    timings: dict[str, float] | None = None,
) -> list[Any]:
    import torch

    from workers.serving import explain_batch

    clips = [clip for _row, clip in items]
    targets = None if primary.target is None else [row.target for row, _clip in items]
    try:
        return explain_batch(
            loaded,
            clips,
            primary.method,
            targets,
            dict(primary.params),
            keeper.set_counter,
            timings,
        )
    except torch.cuda.OutOfMemoryError as exc:
        raise TransientError(f"the GPU ran out of memory: {exc}") from exc
