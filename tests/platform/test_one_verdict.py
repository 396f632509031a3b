"""One ground truth, one verdict: label-aware pointing games that agree everywhere.

Random two-label videos (``cyclist`` and ``car`` tracks, a model that also knows ``dog``) and
random maps (small integer values, so ties are common; boxes on cell centres plus or minus the
tolerance, so boundary distances are common; map frames between annotated frames and past the
end; a third of the maps made by a model that centre-crops, so their cells tile a random view
rectangle and boxes outside it are "not seen"). Every explanation is judged by

* an independent plain-loop pointing game written here from the spec (only the explained
  class's label counts; nearest annotated frame within half a frame interval; first maximum in
  row-major order, the cells tiling the view; inside, or strictly closer than the tolerance; a
  frame whose boxes all lie outside the view is not counted),
* the stored scores (``scoring.recompute``),
* the review player's marks (``GET /api/v1/explanations/{id}/ground-truth/``),
* the leaderboard's clip drill-down (``GET .../leaderboard/clips/``),
* a study pointing trial clicked at the map frame's point and time,

and all of them must give the same verdict, frame by frame, including "not scored".
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from tests.annotation_support import HEIGHT, TIMESTAMPS, WIDTH, make_project, make_video, user
from tests.scoring_support import make_explanation, make_model
from wherewhen.accounts.models import Role
from wherewhen.annotations import services as annotation_services
from wherewhen.explanations.models import Explanation
from wherewhen.scoring import drilldown, leaderboards
from wherewhen.scoring import services as scoring
from wherewhen.scoring.models import ExplanationScore
from wherewhen.studies.models import Stimulus, Study
from wherewhen.studies.services import pointing_hit

pytestmark = pytest.mark.django_db

CLASSES = ["Cyclist", "car", "dog"]  # "Cyclist" meets the label "cyclist" ignoring case
LABELS = ["cyclist", "car"]
LABEL_OF_CLASS = {"Cyclist": "cyclist", "car": "car", "dog": None}
GRIDS = [(4, 4, 4), (8, 3, 5), (4, 7, 7)]


# --- the independent reference --------------------------------------------------------------------


def plain_matched_frame(t: float) -> int | None:
    best = min(range(len(TIMESTAMPS)), key=lambda i: (abs(t - TIMESTAMPS[i]), i))
    interval = 0.1  # 10 fps, evenly spaced
    return best if abs(t - TIMESTAMPS[best]) <= interval / 2 + 1e-6 else None


def plain_point(frame: np.ndarray, view: list | None = None) -> tuple[float, float]:
    h, w = frame.shape
    x0, y0, x1, y1 = view if view is not None else (0.0, 0.0, WIDTH, HEIGHT)
    best, at = -math.inf, (0, 0)
    for i in range(h):
        for j in range(w):
            if frame[i, j] > best:
                best, at = frame[i, j], (i, j)
    i, j = at
    return x0 + (j + 0.5) * (x1 - x0) / w, y0 + (i + 0.5) * (y1 - y0) / h


def plain_seen(boxes: list, view: list | None) -> bool:
    """Some box overlaps the view with positive area (always true without a view)."""
    if view is None:
        return True
    vx0, vy0, vx1, vy1 = view
    return any(
        min(x1, vx1) > max(x0, vx0) and min(y1, vy1) > max(y0, vy0) for x0, y0, x1, y1 in boxes
    )


def random_view(rng: random.Random) -> list[float]:
    """A band of the frame, full height or full width (what a short-side resize + crop sees;
    narrow and off-centre here, so that many boxes fall outside it)."""
    if rng.random() < 0.5:
        side = round(rng.uniform(0.15, 0.6) * WIDTH, 2)
        left = round(rng.uniform(0, WIDTH - side), 2)
        return [left, 0.0, left + side, float(HEIGHT)]
    side = round(rng.uniform(0.15, 0.6) * HEIGHT, 2)
    top = round(rng.uniform(0, HEIGHT - side), 2)
    return [0.0, top, float(WIDTH), top + side]


def plain_hit(x: float, y: float, boxes: list, tolerance: float) -> bool:
    for x0, y0, x1, y1 in boxes:
        dx = max(x0 - x, 0.0, x - x1)
        dy = max(y0 - y, 0.0, y - y1)
        if (dx == 0 and dy == 0) or dx * dx + dy * dy < tolerance * tolerance:
            return True
    return False


def plain_boxes(tracks: list[dict], label: str, frame: int) -> list:
    """Boxes of ``label`` on ``frame``: each generated track holds one box from its first frame
    until an ``outside`` keyframe (or the end)."""
    out = []
    for track in tracks:
        if track["label"] != label:
            continue
        first, *rest = track["keyframes"]
        end = rest[0]["frame"] if rest else len(TIMESTAMPS)
        if first["frame"] <= frame < end:
            out.append([first["x0"], first["y0"], first["x1"], first["y1"]])
    return out


# --- random cases -----------------------------------------------------------------------------


def edge(rng: random.Random, size: int, tolerance: float, cells: int) -> float:
    """A box edge: often a cell centre plus or minus the tolerance (a boundary distance)."""
    if rng.random() < 0.5:
        centre = (rng.randrange(cells) + 0.5) * size / cells
        value = centre + rng.choice([-1, 1]) * tolerance
    else:
        value = rng.uniform(0, size)
    return round(min(max(value, 0.0), float(size)), 2)


def random_box(rng: random.Random, tolerance: float, cells: int) -> tuple | None:
    xs = sorted(edge(rng, WIDTH, tolerance, cells) for _ in range(2))
    ys = sorted(edge(rng, HEIGHT, tolerance, cells) for _ in range(2))
    if xs[0] == xs[1] or ys[0] == ys[1]:
        return None
    return xs[0], ys[0], xs[1], ys[1]


def random_tracks(rng: random.Random, tolerance: float, labels: list[str]) -> list[dict]:
    tracks = []
    for label in labels:
        for _ in range(rng.randint(1, 2)):
            box = random_box(rng, tolerance, rng.choice([4, 5, 7]))
            if box is None:
                continue
            start = rng.randrange(0, 12)
            x0, y0, x1, y1 = box
            keyframes = [{"frame": start, "x0": x0, "y0": y0, "x1": x1, "y1": y1}]
            if rng.random() < 0.5:
                stop = rng.randrange(start + 1, len(TIMESTAMPS))
                keyframes.append(
                    {"frame": stop, "x0": x0, "y0": y0, "x1": x1, "y1": y1, "outside": True}
                )
            tracks.append({"label": label, "keyframes": keyframes})
    return tracks


def random_times(rng: random.Random, t: int) -> list[float]:
    choices = [
        lambda: rng.randrange(20) / 10,  # on a frame
        lambda: rng.randrange(20) / 10 + 0.05,  # exactly half-way: the earlier frame
        lambda: rng.uniform(0, 2.1),  # anywhere, sometimes past the last frame
    ]
    return sorted(round(rng.choice(choices)(), 6) for _ in range(t))


@pytest.fixture
def world(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.SCORING_AUTO_RECOMPUTE = False
    rng = random.Random(20261204)
    owner = user("owner", Role.RESEARCHER)
    model = make_model(owner)
    model.labels = CLASSES
    model.save(update_fields=["labels"])
    tolerance = 7.5
    videos, truth = [], {}
    for v in range(5):
        video = make_video(owner, f"street-{v}", label="cyclist")
        videos.append(video)
    project = make_project(owner, videos, labels=LABELS)
    scoring.set_tolerance(project, tolerance)
    for v, video in enumerate(videos):
        labels = LABELS if v < 4 else ["cyclist"]  # the last video shows no car
        tracks = random_tracks(rng, tolerance, labels)
        segments = [
            {"kind": "visual", "label": label, "start": 0.2 * (k + 1), "end": 0.2 * (k + 1) + 0.5}
            for k, label in enumerate(labels)
        ]
        annotation_services.import_ground_truth(project, video, tracks, segments)
        truth[video.pk] = tracks
    explanations = []
    np_rng = np.random.default_rng(7)
    for video in videos:
        for n in range(80):
            t, h, w = GRIDS[n % len(GRIDS)]
            heat = np_rng.integers(0, 4, size=(t, h, w)).astype(np.float32)
            if n % 5 == 0:
                heat[:] = 1.0  # a flat map: every cell ties
            e = make_explanation(
                video,
                heat,
                model=model,
                timestamps=random_times(rng, t),
                params={"n": n},
                temporal=[float(x) for x in np_rng.integers(0, 3, size=t)],
            )
            view = random_view(rng) if n % 3 == 1 else None
            Explanation.objects.filter(pk=e.pk).update(explained_target=n % 3, view=view)
            e.refresh_from_db()
            explanations.append((e, heat))
    scoring.recompute_now(project)
    return {
        "owner": owner,
        "project": project,
        "tolerance": tolerance,
        "truth": truth,
        "explanations": explanations,
    }


def reference_verdicts(world, explanation: Explanation, heat: np.ndarray) -> list | None:
    """Per map frame: None (no ground truth there) or hit/miss; None for the whole clip when
    its class is not scored on this video."""
    label = LABEL_OF_CLASS[CLASSES[explanation.explained_target]]
    tracks = world["truth"][explanation.video_id]
    if label is None or not any(t["label"] == label for t in tracks):
        return None
    out = []
    for k, t in enumerate(explanation.timestamps):
        frame = plain_matched_frame(t)
        boxes = plain_boxes(tracks, label, frame) if frame is not None else []
        if not boxes or not plain_seen(boxes, explanation.view):
            out.append(None)
            continue
        x, y = plain_point(heat[k], explanation.view)
        out.append(plain_hit(x, y, boxes, world["tolerance"]))
    return out


def reference_seen(world, explanation: Explanation) -> list[bool]:
    """Per map frame: False where the frame's boxes of the label all lie outside the view."""
    label = LABEL_OF_CLASS[CLASSES[explanation.explained_target]]
    tracks = world["truth"][explanation.video_id]
    out = []
    for t in explanation.timestamps:
        frame = plain_matched_frame(t)
        boxes = plain_boxes(tracks, label, frame) if frame is not None and label else []
        out.append(not boxes or plain_seen(boxes, explanation.view))
    return out


def test_every_path_gives_the_same_verdict(world, client):
    project, owner = world["project"], world["owner"]
    client.force_login(owner)
    study = Study.objects.create(
        owner=owner,
        title="Point",
        slug="point",
        trial_kinds=["pointing"],
        pointing_project=project,
    )
    clips: dict[int, dict] = {}
    for row in {leaderboards.row_key(e) for e, _ in world["explanations"]}:
        for clip in drilldown.leaderboard_clips(owner, project, None, None, row)["clips"]:
            clips[clip["explanation"]] = clip
    frames_checked = scored = not_scored = unseen = 0
    for explanation, heat in world["explanations"]:
        expected = reference_verdicts(world, explanation, heat)
        view = explanation.view
        stored = ExplanationScore.objects.get(
            explanation=explanation, project=project, reference="consensus"
        )
        review = client.get(f"/api/v1/explanations/{explanation.pk}/ground-truth/").json()
        clip = clips[explanation.pk]
        stimulus = Stimulus.objects.create(
            study=study, explanation=explanation, method="staa", video=explanation.video
        )
        label = LABEL_OF_CLASS[CLASSES[explanation.explained_target]]
        if expected is None:
            not_scored += 1
            assert stored.not_scored and not stored.frames and stored.frames_counted == 0
            assert clip["not_scored"] == stored.not_scored
            assert review["available"] is False and review["reason"] == stored.not_scored
            assert review["label"] == label
            for k, t in enumerate(explanation.timestamps):
                x, y = plain_point(heat[k], view)
                assert pointing_hit(study, stimulus, x, y, t) is None
            continue
        scored += 1
        assert stored.label == label and review["label"] == label and clip["label"] == label
        assert review["available"] is True and review["tolerance"] == world["tolerance"]
        assert review["view"] == (view or [0.0, 0.0, WIDTH, HEIGHT])
        seen = reference_seen(world, explanation)
        unseen += seen.count(False)
        for k, t in enumerate(explanation.timestamps):
            want = expected[k]
            x, y = plain_point(heat[k], view)
            assert stored.frames[k]["seen"] is seen[k]
            assert review["frames"][k]["seen"] is seen[k] and clip["frames"][k]["seen"] is seen[k]
            assert review["frames"][k]["counted"] is (want is not None)
            paths = {
                "stored": stored.frames[k]["hit"],
                "review": review["frames"][k]["hit"],
                "clips": clip["frames"][k]["hit"],
                "trial": pointing_hit(study, stimulus, x, y, t),
            }
            assert all(v == want for v in paths.values()), (explanation.pk, k, want, paths)
            assert review["frames"][k]["point"] == pytest.approx([x, y])
            frames_checked += 1
        assert stored.frames_counted == sum(v is not None for v in expected)
        assert stored.frames_hit == sum(v is True for v in expected)
    # the random cases really cover every kind of outcome
    assert frames_checked > 1000 and scored > 60 and not_scored > 40 and unseen > 40


def test_labels_never_count_for_each_other(world):
    """A car explanation on a video is scored against the car boxes only: replacing every
    cyclist box by a box on the car map's peak changes nothing for it."""
    project = world["project"]
    car = [
        (e, heat)
        for e, heat in world["explanations"]
        if CLASSES[e.explained_target] == "car"
        and e.video_id != world["explanations"][-1][0].video_id
    ]
    before = {
        e.pk: list(
            ExplanationScore.objects.filter(explanation=e, reference="consensus").values_list(
                "frames_counted", "frames_hit", "temporal_hit"
            )
        )
        for e, _ in car
    }
    video = car[0][0].video
    tracks = [t for t in world["truth"][video.pk] if t["label"] == "car"]
    tracks.append(
        {
            "label": "cyclist",
            "keyframes": [{"frame": 0, "x0": 0, "y0": 0, "x1": WIDTH, "y1": HEIGHT}],
        }
    )
    segments = [
        {"kind": "visual", "label": "car", "start": 0.2 * 2, "end": 0.2 * 2 + 0.5},  # as before
        {"kind": "visual", "label": "cyclist", "start": 0.0, "end": 2.0},
    ]
    annotation_services.import_ground_truth(project, video, tracks, segments)
    scoring.recompute_now(project)
    for e, _ in car:
        if e.video_id != video.pk:
            continue
        after = list(
            ExplanationScore.objects.filter(explanation=e, reference="consensus").values_list(
                "frames_counted", "frames_hit", "temporal_hit"
            )
        )
        assert after == before[e.pk]
