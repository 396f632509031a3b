"""Reading and validating an explanation ``.npz`` made by any tool, without trusting it.

The expected arrays:

| key | shape | meaning |
|---|---|---|
| ``map`` | ``(T, h, w)`` | space-time importance, any real dtype (stored as float32) |
| ``timestamps`` | ``(T,)`` | video time in seconds of each map frame, increasing, inside the video |
| ``temporal`` | ``(T,)`` (optional) | temporal importance; derived from the map when absent |
| ``target`` | scalar (optional) | the explained class index |
| ``audio`` | ``(A,)`` (optional) | audio importance of an audio-visual model, one per audio token |
| ``audio_times`` | ``(A, 2)`` (with ``audio``) | ``[start, end)`` source seconds of each token |
| ``view`` | ``(4,)`` (optional) | ``[x0, y0, x1, y1]``: the frame rectangle the model saw (its cells tile it); the whole frame when absent |
| ``source_size`` | ``(2,)`` (optional) | ``(W, H)`` of the frames ``view`` is given in; the video's display size when absent |

Other arrays (e.g. the top-k that ``python -m workers.explain`` writes) are ignored and listed.

Nothing is ever unpickled: each member's ``.npy`` header is read first and refused when it
declares Python objects, and the declared size is checked against the member's size before any
memory is allocated; the archive's total uncompressed size is bounded (zip bombs).

Every problem is an :class:`~wherewhen.core.exceptions.Invalid` on the ``file`` field, in words
that say what to fix.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass, field

import numpy as np

from wherewhen.core.exceptions import Invalid
from wherewhen.explanations import framing

MAX_MEMBERS = 64
MAX_UNCOMPRESSED = 256 * 1024 * 1024
MAX_FRAMES = 10_000
MAX_SIDE = 512
MAX_CELLS = 4 * 1024 * 1024
MAX_AUDIO_TOKENS = 100_000
#: Seconds a time may pass the video's ends (float noise only: the duration is exact).
TIME_TOLERANCE = 1e-6


def seconds(value: float) -> str:
    """A time for a message, to the microsecond, without trailing zeros (4.004, 2.5, 10)."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _bad(message: str) -> Invalid:
    return Invalid({"file": [message]})


@dataclass
class UploadData:
    arrays: dict[str, np.ndarray]
    sha256: str


@dataclass
class ImportedMap:
    map: np.ndarray  # (T, h, w) float32
    timestamps: np.ndarray  # (T,) float64
    temporal: np.ndarray  # (T,) float32
    target: int | None
    ignored: list[str] = field(default_factory=list)
    audio: np.ndarray | None = None  # (A,) float32
    audio_times: np.ndarray | None = None  # (A, 2) float64 seconds
    view: list[float] | None = None  # [x0, y0, x1, y1] in the video's pixels; None: whole frame

    def audio_curve(self) -> dict | None:
        """The stored form: ``{"importance": [A], "times": [[start, end], ...]}`` or None."""
        if self.audio is None or self.audio_times is None:
            return None
        return {
            "importance": [float(x) for x in self.audio],
            "times": [[float(a), float(b)] for a, b in self.audio_times],
        }


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    name = info.filename
    with zf.open(info) as fp:
        try:
            version = np.lib.format.read_magic(fp)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
            else:
                raise ValueError(f"unsupported .npy version {version}")
        except ValueError as exc:
            raise _bad(f"{name!r} is not a valid .npy array: {exc}") from exc
        if dtype.hasobject:
            raise _bad(
                f"{name!r} holds Python objects (a pickle); only plain numeric arrays are "
                "accepted, and pickles are never loaded."
            )
        declared = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if declared > info.file_size:
            raise _bad(f"{name!r} is truncated: its header promises more data than it holds.")
    with zf.open(info) as fp:
        try:
            return np.lib.format.read_array(fp, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise _bad(f"{name!r} could not be read: {exc}") from exc


def read_upload(upload, *, max_bytes: int) -> UploadData:
    """Read an uploaded ``.npz`` into plain arrays (see the module docstring for the checks)."""
    size = getattr(upload, "size", None)
    if size is not None and size > max_bytes:
        raise _bad(f"The file is {size} bytes; the limit is {max_bytes} bytes.")
    data = upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _bad(f"The file is larger than the limit of {max_bytes} bytes.")
    if not data:
        raise _bad("The file is empty.")
    if not data.startswith(b"PK"):
        raise _bad(
            "The file is not an .npz archive (numpy.savez / savez_compressed); pickled files and "
            "other formats are refused."
        )
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _bad(f"The file is not a readable .npz archive: {exc}") from exc
    if len(infos) > MAX_MEMBERS:
        raise _bad(f"The archive has {len(infos)} members; at most {MAX_MEMBERS} are accepted.")
    if sum(i.file_size for i in infos) > MAX_UNCOMPRESSED:
        raise _bad(
            f"The archive expands to more than {MAX_UNCOMPRESSED // (1024 * 1024)} MiB; refused."
        )
    arrays: dict[str, np.ndarray] = {}
    with zf:
        for info in infos:
            if info.is_dir():
                continue
            if not info.filename.endswith(".npy"):
                raise _bad(f"The archive holds {info.filename!r}, which is not a .npy array.")
            try:
                arrays[info.filename[: -len(".npy")]] = _read_member(zf, info)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError) as exc:
                raise _bad(f"{info.filename!r} could not be read: {exc}") from exc
    return UploadData(arrays=arrays, sha256=hashlib.sha256(data).hexdigest())


def _real(arr: np.ndarray, name: str) -> np.ndarray:
    if arr.dtype.kind not in "fiu":
        raise _bad(f"{name!r} must hold real numbers, not {arr.dtype}.")
    out = arr.astype(np.float64)
    if not np.all(np.isfinite(out)):
        bad = int(np.count_nonzero(~np.isfinite(out)))
        raise _bad(f"{name!r} has {bad} value(s) that are NaN or infinite.")
    return out


def validate(
    arrays: dict[str, np.ndarray],
    *,
    duration: float,
    frame_size: tuple[int, int] | None = None,
) -> ImportedMap:
    """Check shapes, dtypes, finiteness and timestamps against the video's ``duration``, and
    the optional ``view`` against the frame (``frame_size``: the video's display size)."""
    missing = [k for k in ("map", "timestamps") if k not in arrays]
    if missing:
        raise _bad(
            f"The archive has no {' or '.join(map(repr, missing))} array; expected 'map' "
            "(T x h x w) and 'timestamps' (T), optionally 'temporal' (T)."
        )
    raw = arrays["map"]
    if raw.ndim != 3:
        raise _bad(f"'map' must be T x h x w (3 dimensions); it has shape {raw.shape}.")
    t, h, w = raw.shape
    if not (1 <= t <= MAX_FRAMES and 1 <= h <= MAX_SIDE and 1 <= w <= MAX_SIDE):
        raise _bad(
            f"'map' shape {raw.shape} is out of bounds: 1..{MAX_FRAMES} frames and "
            f"1..{MAX_SIDE} cells a side."
        )
    if t * h * w > MAX_CELLS:
        raise _bad(f"'map' has {t * h * w} cells; at most {MAX_CELLS} are accepted.")
    heat = _real(raw, "map").astype(np.float32)

    ts = arrays["timestamps"]
    if ts.shape != (t,):
        raise _bad(f"'timestamps' must have shape ({t},), one per map frame; it has {ts.shape}.")
    ts = _real(ts, "timestamps")
    if np.any(np.diff(ts) < 0):
        raise _bad("'timestamps' must be in increasing order.")
    if ts[0] < -TIME_TOLERANCE or ts[-1] > duration + TIME_TOLERANCE:
        raise _bad(
            f"'timestamps' run from {seconds(ts[0])} s to {seconds(ts[-1])} s, outside the "
            f"video (0 to {seconds(duration)} s)."
        )
    ts = np.clip(ts, 0.0, duration)

    if "temporal" in arrays:
        temporal = arrays["temporal"]
        if temporal.shape != (t,):
            raise _bad(
                f"'temporal' must have shape ({t},), one per map frame; it has {temporal.shape}."
            )
        temporal = _real(temporal, "temporal").astype(np.float32)
    else:
        mass = np.clip(heat, 0, None).sum(axis=(1, 2))
        temporal = (mass / mass.max() if mass.max() > 0 else mass).astype(np.float32)

    target = None
    if "target" in arrays:
        tv = arrays["target"]
        if tv.size != 1 or tv.dtype.kind not in "iu":
            raise _bad("'target' must be one whole number (a class index).")
        target = int(tv.reshape(-1)[0])
        if target < 0:
            raise _bad("'target' must be 0 or more.")
    audio, audio_times = _audio(arrays, duration)
    view = _view(arrays, frame_size)
    known = {"map", "timestamps", "temporal", "target", "audio", "audio_times", "view"}
    if "view" in arrays:
        known.add("source_size")
    ignored = sorted(set(arrays) - known)
    return ImportedMap(heat, ts, temporal, target, ignored, audio, audio_times, view)


def _view(arrays: dict[str, np.ndarray], frame_size: tuple[int, int] | None) -> list[float] | None:
    """The optional ``view`` (4,), given in ``source_size`` (W, H) pixels when the archive has
    one, else in the video's; finite, non-empty, inside that frame; returned in the video's
    pixels (None: the whole frame)."""
    if "view" not in arrays:
        return None
    raw = arrays["view"]
    if raw.shape != (4,):
        raise _bad(f"'view' must be 4 numbers [x0, y0, x1, y1]; it has shape {raw.shape}.")
    view = _real(raw, "view")
    width, height = frame_size if frame_size and all(frame_size) else (0, 0)
    given_in = (width, height)
    if "source_size" in arrays:
        size = arrays["source_size"]
        if size.shape != (2,):
            raise _bad(f"'source_size' must be 2 numbers (W, H); it has shape {size.shape}.")
        size = _real(size, "source_size")
        if np.any(size <= 0):
            raise _bad("'source_size' must be positive (W, H).")
        given_in = (float(size[0]), float(size[1]))
    if not all(given_in):
        raise _bad("'view' needs the video's frame size, which is not known yet; try again.")
    why = framing.problem(view.tolist(), *given_in)
    if why:
        raise _bad(f"'view' {why}")
    if (width, height) != (0, 0) and given_in != (width, height):
        view = np.asarray(framing.rescale(view, given_in, (width, height)))
        return framing.stored(view.tolist(), width, height)
    return framing.stored(view.tolist(), int(given_in[0]), int(given_in[1]))


def _audio(
    arrays: dict[str, np.ndarray], duration: float
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Optional ``audio`` (A,) with ``audio_times`` (A, 2): both or neither, finite, each span
    ``start < end`` inside the video, starts in increasing order."""
    has_audio, has_times = "audio" in arrays, "audio_times" in arrays
    if not has_audio and not has_times:
        return None, None
    if has_audio != has_times:
        given, missing = ("audio", "audio_times") if has_audio else ("audio_times", "audio")
        raise _bad(
            f"The archive has {given!r} but no {missing!r}; an audio curve needs both: 'audio' "
            "(A importances) and 'audio_times' (A x 2 [start, end) seconds)."
        )
    raw = arrays["audio"]
    if raw.ndim != 1 or not 1 <= raw.shape[0] <= MAX_AUDIO_TOKENS:
        raise _bad(
            f"'audio' must be one importance per audio token, shape (A,) with 1 <= A <= "
            f"{MAX_AUDIO_TOKENS}; it has shape {raw.shape}."
        )
    a = raw.shape[0]
    audio = _real(raw, "audio").astype(np.float32)
    times = arrays["audio_times"]
    if times.shape != (a, 2):
        raise _bad(
            f"'audio_times' must have shape ({a}, 2), a [start, end) per audio token; it has "
            f"{times.shape}."
        )
    times = _real(times, "audio_times")
    if np.any(times[:, 1] <= times[:, 0]):
        raise _bad("Every 'audio_times' span must end after it starts (start < end).")
    if np.any(np.diff(times[:, 0]) < 0):
        raise _bad("'audio_times' must be in increasing order of their start.")
    if times.min() < -TIME_TOLERANCE or times.max() > duration + TIME_TOLERANCE:
        raise _bad(
            f"'audio_times' run from {seconds(times.min())} s to {seconds(times.max())} s, "
            f"outside the video (0 to {seconds(duration)} s)."
        )
    return audio, np.clip(times, 0.0, duration)
