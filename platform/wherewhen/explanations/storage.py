"""Map files in the media storage and the compact map payload the browser receives.

A map is stored once, as a float32 ``.npy`` under a deterministic name derived from the
explanation's request key (``explanations/maps/ab/abcdef....npy``), through
:mod:`wherewhen.core.media`: with the local storage it is written to a temporary file in the same
folder and moved into place with ``os.replace``; an object store replaces the object whole. A
reader (or a second worker computing the same request after a crash) never sees half a file,
and writing it twice leaves one file.

The payload (``GET /api/v1/explanations/{id}/map/``) quantizes the map to uint8:
``value ~= offset + scale * q`` with ``offset = min``, ``scale = (max - min) / 255``; the bytes are
the row-major ``T x h x w`` array, base64-encoded. An 8 x 14 x 14 map is about 2 KB.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
from pathlib import Path

import numpy as np

from wherewhen.core import media

MAP_DIR = "explanations/maps"


def map_relative_path(key: str) -> str:
    return f"{MAP_DIR}/{key[:2]}/{key}.npy"


def write_map(key: str, arr: np.ndarray) -> tuple[str, str]:
    """Store ``arr`` (T, h, w) as float32 .npy; returns (storage name, sha256)."""
    arr = np.ascontiguousarray(np.asarray(arr, dtype=np.float32))
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    data = buf.getvalue()
    relative = map_relative_path(key)
    media.put_bytes(relative, data)
    return relative, hashlib.sha256(data).hexdigest()


def place_map_file(key: str, written: Path) -> tuple[str, str]:
    """Store a local ``.npy`` (a stacked whole-video map, written window by window at
    :func:`partial_map_path`) as the map of ``key``; returns (storage name, sha256)."""
    digest = hashlib.sha256()
    with open(written, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
        os.fsync(fh.fileno())
    relative = map_relative_path(key)
    media.put_file(relative, written, move=True)
    return relative, digest.hexdigest()


def partial_map_path(key: str) -> Path:
    """The local file a stacked map for ``key`` is written to before :func:`place_map_file`
    (next to the final file with the local storage, so the move is atomic; a name per process,
    so two workers never share it)."""
    return media.scratch_file(map_relative_path(key), f"{os.getpid()}.partial")


def read_map(relative: str) -> np.ndarray:
    arr = np.load(io.BytesIO(media.read_bytes(relative)), allow_pickle=False)
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
