"""Map files under MEDIA_ROOT and the compact map payload the browser receives.

A map is stored once, as a float32 ``.npy`` at a deterministic path derived from the
explanation's request key (``explanations/maps/ab/abcdef....npy``). It is written to a temporary
file in the same folder and moved into place with ``os.replace``, so a reader (or a second
worker computing the same request after a crash) never sees half a file, and writing it twice
leaves one file.

The payload (``GET /api/v1/explanations/{id}/map/``) quantizes the map to uint8:
``value ~= offset + scale * q`` with ``offset = min``, ``scale = (max - min) / 255``; the bytes are
the row-major ``T x h x w`` array, base64-encoded. An 8 x 14 x 14 map is about 2 KB.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import os
import tempfile
from pathlib import Path

import numpy as np
from django.conf import settings

MAP_DIR = "explanations/maps"


def map_relative_path(key: str) -> str:
    return f"{MAP_DIR}/{key[:2]}/{key}.npy"


def absolute(relative: str) -> Path:
    return Path(settings.MEDIA_ROOT) / relative


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_map(key: str, arr: np.ndarray) -> tuple[str, str]:
    """Store ``arr`` (T, h, w) as float32 .npy; returns (path under MEDIA_ROOT, sha256)."""
    arr = np.ascontiguousarray(np.asarray(arr, dtype=np.float32))
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    data = buf.getvalue()
    relative = map_relative_path(key)
    atomic_write(absolute(relative), data)
    return relative, hashlib.sha256(data).hexdigest()


def place_map_file(key: str, written: Path) -> tuple[str, str]:
    """Move a ``.npy`` written elsewhere in the map folder (a stacked whole-video map, written
    window by window) into its place for ``key``; returns (path under MEDIA_ROOT, sha256)."""
    digest = hashlib.sha256()
    with open(written, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
        os.fsync(fh.fileno())
    os.chmod(written, 0o644)
    relative = map_relative_path(key)
    os.replace(written, absolute(relative))
    return relative, digest.hexdigest()


def partial_map_path(key: str) -> Path:
    """Where a stacked map for ``key`` is written before :func:`place_map_file` (same folder,
    so the move is atomic; a name per process, so two workers never share it)."""
    final = absolute(map_relative_path(key))
    final.parent.mkdir(parents=True, exist_ok=True)
    return final.with_name(f".{final.stem}.{os.getpid()}.partial.npy")


def read_map(relative: str) -> np.ndarray:
    arr = np.load(absolute(relative), allow_pickle=False)
    return np.asarray(arr, dtype=np.float32)


def encode_map(arr: np.ndarray) -> dict:
    """``{shape, dtype: "uint8", offset, scale, data}`` (see the module docstring)."""
    arr = np.asarray(arr, dtype=np.float32)
    lo = float(arr.min()) if arr.size else 0.0
    hi = float(arr.max()) if arr.size else 0.0
    scale = (hi - lo) / 255.0 if hi > lo else 0.0
    if scale > 0:
        q = np.clip(np.rint((arr - lo) / scale), 0, 255).astype(np.uint8)
    else:
        q = np.zeros(arr.shape, dtype=np.uint8)
    return {
        "shape": list(arr.shape),
        "dtype": "uint8",
        "offset": lo,
        "scale": scale,
        "data": base64.b64encode(q.tobytes(order="C")).decode("ascii"),
    }


def decode_map(payload: dict) -> np.ndarray:
    """The inverse of :func:`encode_map` (up to quantization), for scripts and tests."""
    q = np.frombuffer(base64.b64decode(payload["data"]), dtype=np.uint8)
    q = q.reshape(payload["shape"]).astype(np.float32)
    return payload["offset"] + payload["scale"] * q
