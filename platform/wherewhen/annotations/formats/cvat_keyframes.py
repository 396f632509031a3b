"""CVAT for video 1.1 import: the keyframes that give back every box a file lists.

The file's keyframes are stored as keyframes. Each box marked ``keyframe="0"`` is compared with
what the stored keyframes give on its frame; where they differ, the box becomes a keyframe of
its own (a *materialised* keyframe):

* its ``occluded`` flag or its attributes differ from the keyframe before it (they would
  otherwise be copied forward from there);
* it is ``outside="1"`` inside a visible stretch: it becomes an outside keyframe, and the next
  visible box a keyframe too, so only the frames the file marks outside are hidden (an outside
  keyframe ends a track until the next keyframe);
* it is visible where the keyframes give no box (before the first keyframe, after an outside
  keyframe);
* its coordinates are more than 0.01 px (the file's rounding) from the linear interpolation:
  the box farthest from it becomes a keyframe and both halves are checked again, so few
  keyframes are added and every box is reproduced;
* in a file that lists interpolated boxes (as CVAT's exports do), a frame it leaves out where
  the keyframes would show a box: an outside keyframe there.

A track none of whose boxes is marked as a keyframe starts with its first box as one. A box
marked outside where the keyframes give no box anyway says nothing new and is not stored
again. The stored keyframes are then checked against every box of the file (a safeguard: never
store less than the file says), and every change is recorded in the import's summary.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, replace

from wherewhen.annotations.formats.records import (
    ImportSummary,
    InvalidFile,
    coord_text,
    flag_text,
)
from wherewhen.annotations.geometry import Box, lerp_box, quantize, track_shapes

# How far (px) a file's box may be from what the keyframes give and still be the same box:
# the file writes two decimals, and interpolating between rounded keyframes moves a box by up
# to half of that again.
ROUNDING = 0.01
_EPSILON = 1e-6


@dataclass
class FileBox:
    """One ``<box>`` of a track as the file gives it (or, ``absent``, a frame it leaves out)."""

    frame: int
    keyframe: bool
    outside: bool
    occluded: bool
    box: Box  # kept to 0.01 px, as stored
    written: Box  # as the file writes it
    attributes: dict[str, str]
    absent: bool = False

    def as_keyframe(self) -> dict:
        x0, y0, x1, y1 = self.box
        kf = {
            "frame": self.frame,
            "x0": x0,
            "y0": y0,
            "x1": x1,
            "y1": y1,
            "outside": self.outside,
            "occluded": self.occluded,
        }
        if self.attributes:
            kf["attributes"] = dict(self.attributes)
        return kf


@dataclass
class FileTrack:
    name: str  # how messages call it: "track 3 (car)"
    label: str
    boxes: list[FileBox]

    @property
    def where(self) -> str:
        """The name at the start of a sentence."""
        return self.name[0].upper() + self.name[1:]


_FLAGS, _COORDS = "flags", "coordinates"


def keyframes_of(track: FileTrack, n_frames: int, summary: ImportSummary) -> list[dict]:
    """The keyframes that give back, through :func:`geometry.track_shapes`, every box the file
    lists for ``track``: its own keyframes plus the ones materialised where a non-keyframe box
    differs (see the module's docstring). Records the changes in ``summary``."""
    boxes = track.boxes
    notes: list[tuple[int, str]] = []
    keys: dict[int, FileBox] = {b.frame: b for b in boxes if b.keyframe}
    if not keys:
        first = boxes[0]
        keys[first.frame] = first
        notes.append(
            (first.frame, "no box of the track is marked as a keyframe: its first box is one")
        )
    entries: dict[int, FileBox] = {b.frame: b for b in boxes}
    if any(not b.keyframe for b in boxes):
        # The file lists interpolated boxes: a frame it leaves out has no box.
        for frame in range(boxes[0].frame, n_frames):
            if frame not in entries:
                entries[frame] = FileBox(
                    frame, False, True, False, (0, 0, 0, 0), (0, 0, 0, 0), {}, True
                )
    frames = sorted(entries)
    key_frames = sorted(keys)

    def between(lo: int | None, hi: int | None) -> list[FileBox]:
        i = 0 if lo is None else bisect.bisect_right(frames, lo)
        j = len(frames) if hi is None else bisect.bisect_left(frames, hi)
        return [entries[f] for f in frames[i:j]]

    def model(lo: int, hi: int | None, frame: int) -> Box:
        start = keys[lo].box
        if hi is None:
            return start
        return lerp_box(start, keys[hi].box, (frame - lo) / (hi - lo))

    def materialise(entry: FileBox, why: str) -> None:
        keys[entry.frame] = entry
        bisect.insort(key_frames, entry.frame)
        notes.append((entry.frame, why))

    spans = [(None, key_frames[0], _FLAGS)]
    spans += [(a, b, _FLAGS) for a, b in zip(key_frames, key_frames[1:], strict=False)]
    spans.append((key_frames[-1], None, _FLAGS))
    while spans:
        lo, hi, mode = spans.pop()
        inside = between(lo, hi)
        if not inside:
            continue
        before = keys[lo] if lo is not None else None
        if before is None or before.outside:
            # The keyframes give no box here: the first visible box starts the track again.
            shown = next((e for e in inside if not e.outside), None)
            if shown is not None:
                materialise(
                    shown,
                    "a box before the track's first keyframe"
                    if before is None
                    else f"a visible box after the outside keyframe on frame {lo}",
                )
                spans.append((shown.frame, hi, _FLAGS))
            continue
        if mode == _FLAGS:
            for entry in inside:
                why = _what_changes(before, entry)
                if why:
                    if entry.absent:
                        box = tuple(quantize(v) for v in model(lo, hi, entry.frame))
                        entry = replace(
                            entry,
                            box=box,
                            written=box,
                            occluded=before.occluded,
                            attributes=dict(before.attributes),
                        )
                    materialise(entry, why)
                    spans.append((lo, entry.frame, _COORDS))
                    spans.append((entry.frame, hi, _FLAGS))
                    break
            else:
                spans.append((lo, hi, _COORDS))
            continue
        # Same flags and attributes all along: the coordinates must follow the interpolation.
        worst, distance = None, ROUNDING + _EPSILON
        for entry in inside:
            d = max(abs(p - q) for p, q in zip(model(lo, hi, entry.frame), entry.box, strict=True))
            if d > distance:
                worst, distance = entry, d
        if worst is not None:
            along = (
                f"the interpolation between the keyframes on frames {lo} and {hi}"
                if hi is not None
                else f"the box of the keyframe on frame {lo}, which it would repeat"
            )
            materialise(worst, f"its box is {distance:.2f} px from {along}")
            spans.append((lo, worst.frame, _COORDS))
            spans.append((worst.frame, hi, _COORDS))

    keyframes = [keys[f].as_keyframe() for f in sorted(keys)]
    _check_reproduced(track, entries, keyframes, n_frames, summary)
    for frame, why in sorted(notes):
        summary.changes.append(f"Materialised a keyframe at frame {frame} of {track.name}: {why}.")
        summary.materialised += 1
    return keyframes


def _what_changes(before: FileBox, entry: FileBox) -> str:
    """Why a non-keyframe box cannot follow the (visible) keyframe ``before`` it ('' if it can
    as far as flags and attributes go)."""
    if entry.absent:
        return "the file lists the track's other frames but none here, so it has no box"
    reasons = []
    if entry.outside:
        reasons.append("outside is set there")
    if entry.occluded != before.occluded:
        reasons.append(f"occluded changes to {flag_text(entry.occluded)}")
    names = sorted(
        n
        for n in set(entry.attributes) | set(before.attributes)
        if entry.attributes.get(n) != before.attributes.get(n)
    )
    if names:
        reasons.append("attribute(s) " + ", ".join(f"'{n}'" for n in names) + " change")
    if not reasons:
        return ""
    return " and ".join(reasons) + " (the file's box there is not a keyframe)"


def _check_reproduced(
    track: FileTrack,
    entries: dict[int, FileBox],
    keyframes: list[dict],
    n_frames: int,
    summary: ImportSummary,
) -> None:
    """Every box of the file against what the keyframes give (a safeguard: never store less
    than the file says)."""
    shapes = {s["frame"]: s for s in track_shapes(keyframes, n_frames)}
    implied = []
    rounded = 0
    for frame in sorted(entries):
        entry, shape = entries[frame], shapes.get(frame)
        if entry.outside:
            if shape is not None and not shape["outside"]:
                raise InvalidFile(f"{track.where}, frame {frame}: the box cannot be kept exactly.")
            if shape is None and not entry.absent:
                implied.append(frame)
            continue
        box = (shape["x0"], shape["y0"], shape["x1"], shape["y1"]) if shape else None
        if (
            shape is None
            or shape["outside"]
            or shape["occluded"] != entry.occluded
            or shape["attributes"] != entry.attributes
            or max(abs(p - q) for p, q in zip(box, entry.box, strict=True)) > ROUNDING + _EPSILON
        ):
            raise InvalidFile(f"{track.where}, frame {frame}: the box cannot be kept exactly.")
        if box != entry.written and any(
            float(coord_text(p)) != q for p, q in zip(box, entry.written, strict=True)
        ):
            rounded += 1
    if implied:
        summary.changes.append(
            f"{track.where}: {len(implied)} box(es) marked outside "
            f"where the track already shows no box ({_ranges(implied)}) are implied by its "
            "keyframes and not stored again."
        )
    if rounded:
        summary.rounded += rounded
        summary.changes.append(
            f"{track.where}: {rounded} box(es) differ from the file by "
            f"at most {ROUNDING} px, its rounding (kept to 0.01 px; interpolated boxes follow "
            "the keyframes)."
        )


def _ranges(frames: list[int]) -> str:
    """``[1, 2, 3, 7]`` -> ``"frames 1-3, 7"``."""
    runs: list[list[int]] = []
    for frame in frames:
        if runs and frame == runs[-1][1] + 1:
            runs[-1][1] = frame
        else:
            runs.append([frame, frame])
    text = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)
    return ("frame " if len(frames) == 1 else "frames ") + text
