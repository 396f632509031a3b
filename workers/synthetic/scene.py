"""Procedural scenes of the synthetic space-time benchmark (numpy only).

One clip is a textured background that pans at constant velocity, a few distractor objects that
move and bounce off the borders, and one target object that *flashes* a class colour for a short
window of consecutive frames (the event). Everything about a clip follows from ``(seed, index)``,
so any clip can be rebuilt exactly, frame by frame, without storing pixels.

Why the label needs space *and* time:

* Outside its event the target looks exactly like a distractor: the same neutral colours (cyan,
  magenta, white), shapes, sizes and motion. Class colours appear only on the target and only
  during its event, so every frame outside the event is independent of the label, and the
  evidence is exactly the target's pixels in the event frames.
* Distractors have transient events of their own (flash a non-class colour, blink out, shrink),
  at random times that may overlap the target's event, so "something changes" does not point at
  the target, and "which colour flashes" needs the colour, not just the change.

Coordinates: pixel ``(x, y)`` covers ``[x, x+1) x [y, y+1)``; a ground-truth box is the closed
rectangle ``[x0, x1] x [y0, y1]`` in these continuous source-pixel coordinates, the tight hull of
the target's pixels (so ``x1 = max_x + 1``), matching CVAT's ``xtl/ytl/xbr/ybr``.

The module's size is one concern: every rule that makes a scene (palettes, the configuration and
its validation, objects and their events, rendering, the event's sound) is here, so the
benchmark's design reads in one place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

#: Class names, in label-index order, and the RGB colour the target flashes for each class.
CLASS_COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (225, 35, 35),
    "green": (35, 185, 55),
    "blue": (40, 80, 235),
    "yellow": (235, 215, 35),
}
#: Colours that are never a class: the target's own colour comes from here.
NEUTRAL_COLOURS: dict[str, tuple[int, int, int]] = {
    "cyan": (35, 205, 215),
    "magenta": (210, 55, 210),
    "white": (240, 240, 240),
}
#: Colours a distractor may flash (never a class colour).
DISTRACTOR_FLASH_COLOURS: dict[str, tuple[int, int, int]] = {
    "white": (240, 240, 240),
    "black": (15, 15, 15),
    "cyan": (35, 205, 215),
    "magenta": (210, 55, 210),
}
ALL_COLOURS: dict[str, tuple[int, int, int]] = {
    **CLASS_COLOURS,
    **NEUTRAL_COLOURS,
    "black": (15, 15, 15),
}
SHAPES: tuple[str, ...] = ("disc", "square", "diamond", "plus")
DISTRACTOR_EVENTS: tuple[str, ...] = ("none", "flash", "blink", "shrink")
#: Tone frequency (Hz) of the event sound, per class.
CLASS_TONES_HZ: dict[str, float] = {"red": 440.0, "green": 554.37, "blue": 659.25, "yellow": 880.0}
#: How the class tone relates to the visual event:
#: ``synced``: the tone sounds while the target flashes; ``offset``: the tone sounds at another
#: time than the flash (the two "when"s disagree); ``silent``: the target flashes, no tone (the
#: sound is missing); ``sound_only``: the tone sounds, the target never flashes (the visual
#: evidence is missing).
SOUND_MODES: tuple[str, ...] = ("synced", "offset", "silent", "sound_only")
#: The audio-visual benchmark's mix of sound modes (``SceneConfig(sound_mix=AV_SOUND_MIX)``).
AV_SOUND_MIX: tuple[tuple[str, float], ...] = (
    ("synced", 0.4),
    ("offset", 0.3),
    ("silent", 0.15),
    ("sound_only", 0.15),
)


class SyntheticConfigError(ValueError):
    """Bad parameters for the synthetic generator (the message names the parameter)."""


@dataclass(frozen=True)
class SceneConfig:
    """Size and dynamics of generated clips. Ranges are inclusive ``(low, high)`` pairs."""

    width: int = 128
    height: int = 128
    num_frames: int = 32
    fps: int = 16
    classes: tuple[str, ...] = tuple(CLASS_COLOURS)
    num_distractors: tuple[int, int] = (2, 4)
    radius: tuple[float, float] = (9.0, 14.0)
    speed: tuple[float, float] = (0.2, 0.7)  # object speed, source pixels per frame
    background_speed: tuple[float, float] = (0.3, 1.5)  # pixels per frame
    event_frames: tuple[int, int] = (8, 10)  # length of the target's event, in frames
    distractor_event_probability: float = 0.6
    noise_amplitude: int = 3  # per-pixel sensor noise, uniform integers in [-a, a] (0 disables)
    audio_sample_rate: int = 16000
    # Probabilities of the sound modes (see SOUND_MODES); the default keeps every clip synced.
    sound_mix: tuple[tuple[str, float], ...] = (("synced", 1.0),)

    def __post_init__(self) -> None:
        validate_config(self)

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps

    def to_dict(self) -> dict:
        return {
            "width": self.width,
            "height": self.height,
            "num_frames": self.num_frames,
            "fps": self.fps,
            "classes": list(self.classes),
            "num_distractors": list(self.num_distractors),
            "radius": list(self.radius),
            "speed": list(self.speed),
            "background_speed": list(self.background_speed),
            "event_frames": list(self.event_frames),
            "distractor_event_probability": self.distractor_event_probability,
            "noise_amplitude": self.noise_amplitude,
            "audio_sample_rate": self.audio_sample_rate,
            "sound_mix": [[mode, p] for mode, p in self.sound_mix],
        }


def _check_range(name: str, value: tuple, low: float, integer: bool = False) -> None:
    if not (isinstance(value, tuple | list) and len(value) == 2):
        raise SyntheticConfigError(f"{name} must be a (low, high) pair, got {value!r}")
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise SyntheticConfigError(f"{name} must hold finite numbers, got {value!r}")
        if integer and int(v) != v:
            raise SyntheticConfigError(f"{name} must hold whole numbers, got {value!r}")
    if value[0] < low:
        raise SyntheticConfigError(f"{name} must be >= {low}, got {value!r}")
    if value[0] > value[1]:
        raise SyntheticConfigError(f"{name} low end is above its high end: {value!r}")


def _check_int(name: str, value: object, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise SyntheticConfigError(f"{name} must be an integer, got {value!r}")
    if value < low:
        raise SyntheticConfigError(f"{name} must be >= {low}, got {value}")


def validate_config(cfg: SceneConfig) -> None:
    """Raise :class:`SyntheticConfigError` naming the first bad parameter of ``cfg``."""
    _check_int("width", cfg.width, 32)
    _check_int("height", cfg.height, 32)
    if cfg.width % 2 or cfg.height % 2:
        raise SyntheticConfigError(
            f"width and height must be even (H.264 yuv420p), got {cfg.width}x{cfg.height}"
        )
    _check_int("num_frames", cfg.num_frames, 4)
    _check_int("fps", cfg.fps, 1)
    if len(cfg.classes) < 2 or len(set(cfg.classes)) != len(cfg.classes):
        raise SyntheticConfigError(f"classes must be >= 2 distinct names, got {cfg.classes!r}")
    unknown = [c for c in cfg.classes if c not in CLASS_COLOURS]
    if unknown:
        raise SyntheticConfigError(
            f"unknown classes {unknown}; known classes are {sorted(CLASS_COLOURS)}"
        )
    _check_range("num_distractors", cfg.num_distractors, 0, integer=True)
    _check_range("radius", cfg.radius, 2.0)
    if 2 * cfg.radius[1] + 4 > min(cfg.width, cfg.height):
        raise SyntheticConfigError(
            f"radius {cfg.radius[1]} is too large for a {cfg.width}x{cfg.height} frame"
        )
    _check_range("speed", cfg.speed, 0.0)
    _check_range("background_speed", cfg.background_speed, 0.0)
    _check_range("event_frames", cfg.event_frames, 1, integer=True)
    if cfg.event_frames[1] > cfg.num_frames - 2:
        raise SyntheticConfigError(
            f"event_frames {cfg.event_frames} must leave at least one frame before and after "
            f"the event in a {cfg.num_frames}-frame clip"
        )
    p = cfg.distractor_event_probability
    if not isinstance(p, int | float) or not 0.0 <= p <= 1.0:
        raise SyntheticConfigError(f"distractor_event_probability must be in [0, 1], got {p!r}")
    _check_int("noise_amplitude", cfg.noise_amplitude, 0)
    if cfg.noise_amplitude > 50:
        raise SyntheticConfigError(f"noise_amplitude must be <= 50, got {cfg.noise_amplitude}")
    _check_int("audio_sample_rate", cfg.audio_sample_rate, 8000)
    mix = cfg.sound_mix
    if not isinstance(mix, tuple | list) or not mix:
        raise SyntheticConfigError(f"sound_mix must be (mode, probability) pairs, got {mix!r}")
    for item in mix:
        if not (isinstance(item, tuple | list) and len(item) == 2):
            raise SyntheticConfigError(f"sound_mix must be (mode, probability) pairs, got {mix!r}")
        mode, p = item
        if mode not in SOUND_MODES:
            raise SyntheticConfigError(
                f"unknown sound mode {mode!r} in sound_mix; known modes are {SOUND_MODES}"
            )
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0.0 <= p <= 1.0:
            raise SyntheticConfigError(f"sound_mix probability of {mode!r} must be in [0, 1]")
    if sum(p for _, p in mix) <= 0:
        raise SyntheticConfigError("sound_mix probabilities must not all be 0")


@dataclass(frozen=True)
class SceneObject:
    """One moving object; the target is the one with ``is_target``."""

    shape: str
    radius: float
    colour: str  # name in ALL_COLOURS
    x0: float  # centre at frame 0
    y0: float
    vx: float  # pixels per frame
    vy: float
    event: str = "none"  # "flash" (target and distractors), "blink", "shrink", "none"
    event_start: int = 0  # first event frame
    event_end: int = -1  # last event frame (inclusive)
    event_colour: str | None = None  # flash colour
    is_target: bool = False

    def in_event(self, frame: int) -> bool:
        return self.event != "none" and self.event_start <= frame <= self.event_end

    def to_dict(self) -> dict:
        return {
            "shape": self.shape,
            "radius": self.radius,
            "colour": self.colour,
            "x0": self.x0,
            "y0": self.y0,
            "vx": self.vx,
            "vy": self.vy,
            "event": self.event,
            "event_frames": [self.event_start, self.event_end] if self.event != "none" else None,
            "event_colour": self.event_colour,
            "is_target": self.is_target,
        }


@dataclass
class Scene:
    """Everything needed to render one clip, frame by frame."""

    config: SceneConfig
    seed: int
    index: int
    label_index: int
    objects: list[SceneObject]  # distractors first, the target last (drawn on top)
    bg_offset: tuple[float, float]
    bg_velocity: tuple[float, float]
    texture_seed: int
    noise_seed: int
    sound_mode: str = "synced"  # one of SOUND_MODES
    sound_frames: tuple[int, int] | None = None  # first and last frame the tone sounds in
    _texture: np.ndarray | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        return self.config.classes[self.label_index]

    @property
    def target(self) -> SceneObject:
        return self.objects[-1]

    @property
    def event_frames(self) -> tuple[int, int] | None:
        """First and last (inclusive) frame of the target's visual event; None when the
        target never flashes (sound mode ``sound_only``)."""
        if self.target.event == "none":
            return None
        return self.target.event_start, self.target.event_end

    @property
    def texture(self) -> np.ndarray:
        if self._texture is None:
            self._texture = make_texture(
                np.random.default_rng(self.texture_seed), self.config.height, self.config.width
            )
        return self._texture

    def object_centre(self, obj: SceneObject, frame: int) -> tuple[float, float]:
        cfg = self.config
        m = cfg.radius[1] + 1.0
        return (
            _bounce(obj.x0 + obj.vx * frame, m, cfg.width - m),
            _bounce(obj.y0 + obj.vy * frame, m, cfg.height - m),
        )

    def object_mask(self, obj: SceneObject, frame: int) -> tuple[np.ndarray, int, int] | None:
        """The object's pixel mask at ``frame`` as (mask, top, left), or None if invisible."""
        if obj.event == "blink" and obj.in_event(frame):
            return None
        radius = obj.radius * (0.55 if obj.event == "shrink" and obj.in_event(frame) else 1.0)
        cx, cy = self.object_centre(obj, frame)
        return shape_mask(obj.shape, cx, cy, radius, self.config.width, self.config.height)

    def object_colour(self, obj: SceneObject, frame: int) -> tuple[int, int, int]:
        if obj.event == "flash" and obj.in_event(frame):
            assert obj.event_colour is not None
            return ALL_COLOURS[obj.event_colour]
        return ALL_COLOURS[obj.colour]

    def render(self, frame: int) -> np.ndarray:
        """RGB uint8 frame ``(H, W, 3)``."""
        cfg = self.config
        if not 0 <= frame < cfg.num_frames:
            raise SyntheticConfigError(f"frame {frame} is outside 0..{cfg.num_frames - 1}")
        ox = int(round(self.bg_offset[0] + self.bg_velocity[0] * frame))
        oy = int(round(self.bg_offset[1] + self.bg_velocity[1] * frame))
        img = np.roll(self.texture, (oy, ox), axis=(0, 1)).copy()
        for obj in self.objects:
            got = self.object_mask(obj, frame)
            if got is None:
                continue
            mask, top, left = got
            h, w = mask.shape
            img[top : top + h, left : left + w][mask] = self.object_colour(obj, frame)
        if cfg.noise_amplitude > 0:
            a = cfg.noise_amplitude
            rng = np.random.default_rng([self.noise_seed, frame])
            noisy = img.astype(np.int16) + rng.integers(-a, a + 1, size=img.shape, dtype=np.int16)
            img = np.clip(noisy, 0, 255).astype(np.uint8)
        return img

    def render_frames(self, indices: np.ndarray | list[int] | None = None) -> np.ndarray:
        """RGB uint8 frames ``(len(indices), H, W, 3)``; all frames when ``indices`` is None."""
        if indices is None:
            indices = range(self.config.num_frames)
        return np.stack([self.render(int(i)) for i in indices])

    def target_box(self, frame: int) -> tuple[float, float, float, float]:
        """Closed box ``(x0, y0, x1, y1)`` hugging the target's pixels at ``frame``."""
        got = self.object_mask(self.target, frame)
        assert got is not None  # the target never blinks
        mask, top, left = got
        ys, xs = np.nonzero(mask)
        return (
            float(left + xs.min()),
            float(top + ys.min()),
            float(left + xs.max() + 1),
            float(top + ys.max() + 1),
        )

    def audio(self, sample_rate: int | None = None) -> np.ndarray:
        """Mono float32 track in [-1, 1]: faint noise, plus the class tone while it sounds
        (:meth:`sound_segment`; no tone in sound mode ``silent``)."""
        cfg = self.config
        sr = sample_rate or cfg.audio_sample_rate
        n = int(round(cfg.duration * sr))
        rng = np.random.default_rng([self.noise_seed, 1_000_003])
        track = rng.normal(0.0, 0.01, size=n)
        segment = self.sound_segment()
        if segment is None:
            return np.clip(track, -1.0, 1.0).astype(np.float32)
        start, end = segment
        i0, i1 = int(round(start * sr)), int(round(end * sr))
        t = np.arange(i1 - i0) / sr
        tone = 0.5 * np.sin(2 * np.pi * CLASS_TONES_HZ[self.label] * t)
        ramp = min(len(t) // 2, int(0.005 * sr))  # 5 ms fades, no clicks
        if ramp > 0:
            env = np.ones(len(t))
            env[:ramp] = np.linspace(0.0, 1.0, ramp)
            env[-ramp:] = np.linspace(1.0, 0.0, ramp)
            tone *= env
        track[i0:i1] += tone
        return np.clip(track, -1.0, 1.0).astype(np.float32)

    def sound_segment(self) -> tuple[float, float] | None:
        """When the class tone sounds, in seconds: from the start of its first frame until the
        end of its last one's display time; None when the clip is silent."""
        if self.sound_frames is None:
            return None
        s, e = self.sound_frames
        return s / self.config.fps, (e + 1) / self.config.fps


def _bounce(x: float, lo: float, hi: float) -> float:
    """Position of a point moving freely on a line, folded back and forth into [lo, hi]."""
    span = hi - lo
    if span <= 0:
        return lo
    u = (x - lo) % (2 * span)
    return lo + (u if u <= span else 2 * span - u)


def shape_mask(
    shape: str, cx: float, cy: float, radius: float, width: int, height: int
) -> tuple[np.ndarray, int, int]:
    """Boolean mask of a shape centred at (cx, cy), clipped to the frame: (mask, top, left)."""
    left = max(0, int(math.floor(cx - radius - 1)))
    top = max(0, int(math.floor(cy - radius - 1)))
    right = min(width, int(math.ceil(cx + radius + 1)) + 1)
    bottom = min(height, int(math.ceil(cy + radius + 1)) + 1)
    dx = (np.arange(left, right) + 0.5 - cx)[None, :]
    dy = (np.arange(top, bottom) + 0.5 - cy)[:, None]
    if shape == "disc":
        mask = dx * dx + dy * dy <= radius * radius
    elif shape == "square":
        mask = np.maximum(np.abs(dx), np.abs(dy)) <= radius * 0.82
    elif shape == "diamond":
        mask = np.abs(dx) + np.abs(dy) <= radius * 1.15
    elif shape == "plus":
        ax, ay = np.abs(dx), np.abs(dy)
        arm = radius * 0.4
        mask = ((ax <= arm) & (ay <= radius)) | ((ay <= arm) & (ax <= radius))
    else:
        raise SyntheticConfigError(f"unknown shape {shape!r}; known shapes are {SHAPES}")
    if not mask.any():  # tiny radius between pixel centres: keep at least the centre pixel
        mask[min(mask.shape[0] - 1, int(cy) - top), min(mask.shape[1] - 1, int(cx) - left)] = True
    return mask, top, left


def make_texture(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A periodic, low-saturation texture (so panning wraps seamlessly) as uint8 (H, W, 3)."""
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.fftfreq(width)[None, :]
    f = np.sqrt(fx * fx + fy * fy)
    f[0, 0] = 1.0
    amp = 1.0 / (f ** rng.uniform(1.2, 1.8))
    amp[0, 0] = 0.0
    grey = np.fft.ifft2(amp * np.fft.fft2(rng.normal(size=(height, width)))).real
    grey = (grey - grey.mean()) / (grey.std() + 1e-8)
    # A little fine-grained detail on top of the blobs: stripes whose whole-number frequencies
    # keep the texture periodic.
    kx, ky = (int(k) for k in rng.integers(3, 11, size=2) * rng.choice([-1, 1], size=2))
    yy, xx = np.mgrid[0:height, 0:width]
    stripes = np.sin(2 * np.pi * (kx * xx / width + ky * yy / height))
    grey = 16.0 * grey + 4.0 * stripes
    base = rng.uniform(95, 150)
    tint = rng.uniform(-12, 12, size=3)  # low saturation: never mistaken for an object colour
    img = base + grey[..., None] + tint[None, None, :]
    return np.clip(img, 45, 200).astype(np.uint8)


def make_scene(seed: int, index: int, label_index: int, config: SceneConfig) -> Scene:
    """Sample the scene of clip ``index`` of the dataset with ``seed`` (its class is given)."""
    cfg = config
    rng = np.random.default_rng([seed, index])
    n_dis = int(rng.integers(cfg.num_distractors[0], cfg.num_distractors[1] + 1))
    m = cfg.radius[1] + 1.0

    def moving(**kw: object) -> dict:
        angle = rng.uniform(0, 2 * np.pi)
        speed = rng.uniform(*cfg.speed)
        return dict(
            shape=SHAPES[int(rng.integers(len(SHAPES)))],
            radius=float(rng.uniform(*cfg.radius)),
            x0=float(rng.uniform(m, cfg.width - m)),
            y0=float(rng.uniform(m, cfg.height - m)),
            vx=float(speed * np.cos(angle)),
            vy=float(speed * np.sin(angle)),
            **kw,
        )

    def window(length: int, lo: int = 0, hi: int | None = None) -> tuple[int, int]:
        hi = cfg.num_frames - length if hi is None else hi
        start = int(rng.integers(lo, hi + 1))
        return start, start + length - 1

    objects: list[SceneObject] = []
    distractor_colours = list(NEUTRAL_COLOURS)
    for _ in range(n_dis):
        colour = distractor_colours[int(rng.integers(len(distractor_colours)))]
        kw: dict = {"colour": colour}
        if rng.uniform() < cfg.distractor_event_probability:
            event = DISTRACTOR_EVENTS[1 + int(rng.integers(len(DISTRACTOR_EVENTS) - 1))]
            length = int(rng.integers(cfg.event_frames[0], cfg.event_frames[1] + 1))
            start, end = window(length)
            kw.update(event=event, event_start=start, event_end=end)
            if event == "flash":
                choices = [c for c in DISTRACTOR_FLASH_COLOURS if c != colour]
                kw["event_colour"] = choices[int(rng.integers(len(choices)))]
        objects.append(SceneObject(**moving(**kw)))

    length = int(rng.integers(cfg.event_frames[0], cfg.event_frames[1] + 1))
    start, end = window(length, lo=1, hi=cfg.num_frames - length - 1)
    neutral = list(NEUTRAL_COLOURS)
    # The sound mode comes from a generator of its own, so the pictures of a clip do not depend
    # on the mix (a synced clip looks the same under every mix).
    sound_rng = np.random.default_rng([seed, index, 0x50D])
    mode, sound_frames = _sound_for(cfg, sound_rng, (start, end))
    flash = mode != "sound_only"
    target = SceneObject(
        **moving(
            colour=neutral[int(rng.integers(len(neutral)))],
            event="flash" if flash else "none",
            event_start=start if flash else 0,
            event_end=end if flash else -1,
            event_colour=cfg.classes[label_index] if flash else None,
            is_target=True,
        )
    )
    objects.append(target)
    angle = rng.uniform(0, 2 * np.pi)
    bg_speed = rng.uniform(*cfg.background_speed)
    return Scene(
        config=cfg,
        seed=seed,
        index=index,
        label_index=label_index,
        objects=objects,
        bg_offset=(float(rng.uniform(0, cfg.width)), float(rng.uniform(0, cfg.height))),
        bg_velocity=(float(bg_speed * np.cos(angle)), float(bg_speed * np.sin(angle))),
        texture_seed=int(rng.integers(2**63)),
        noise_seed=int(rng.integers(2**63)),
        sound_mode=mode,
        sound_frames=sound_frames,
    )


def _sound_for(
    cfg: SceneConfig, rng: np.random.Generator, event: tuple[int, int]
) -> tuple[str, tuple[int, int] | None]:
    """Pick the clip's sound mode and the frames its tone spans (None: no tone)."""
    modes = [m for m, _ in cfg.sound_mix]
    weights = np.array([p for _, p in cfg.sound_mix], dtype=np.float64)
    mode = modes[int(rng.choice(len(modes), p=weights / weights.sum()))]
    if mode == "silent":
        return mode, None
    if mode in ("synced", "sound_only"):
        return mode, event
    # offset: a tone as long as the event, at a time that does not touch the flash (at least
    # one frame apart) when the clip has room for that
    length = event[1] - event[0] + 1
    starts = [
        s
        for s in range(0, cfg.num_frames - length + 1)
        if s + length - 1 < event[0] - 1 or s > event[1] + 1
    ]
    if not starts:
        starts = [s for s in range(0, cfg.num_frames - length + 1) if s != event[0]]
    s = int(starts[int(rng.integers(len(starts)))])
    return mode, (s, s + length - 1)
