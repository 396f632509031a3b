"""One verdict, seen in real Chromium: a two-label video (a car top left, a cyclist bottom
right) and a map of the car class that points at the car on some frames and at the cyclist on
others. The review player's hit/miss marks, the leaderboard's clip drill-down and a study
pointing trial clicked where the map points give the same verdict for every map frame, and the
player says the car was scored; the dog map says why it is not scored."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.support import sign_in
from tests.scoring_support import make_explanation, make_model, make_project, make_video, user
from wherewhen.accounts.models import Role
from wherewhen.annotations import services as annotation_services
from wherewhen.explanations.models import Explanation
from wherewhen.scoring import services as scoring
from wherewhen.studies.models import Stimulus, Study
from wherewhen.studies.services import pointing_hit

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TIMES = [0.0, 0.5, 1.0, 1.5]
# cell (0, 0) of a 4 x 4 map on 160 x 120 is the car's corner, cell (3, 3) the cyclist's
CELLS = [(0, 0), (3, 3), (0, 0), (3, 3)]
EXPECTED = [True, False, True, False]


def box(x0, y0, x1, y1) -> dict:
    return {"frame": 0, "x0": x0, "y0": y0, "x1": x1, "y1": y1}


@pytest.fixture
def street(monkeypatch):
    import numpy as np

    monkeypatch.setattr(scoring.recompute, "send_recompute", lambda ids: None)
    rita = user("rita", Role.RESEARCHER, password="research-me-42")
    model = make_model(rita)
    model.labels = ["car", "cyclist", "dog"]
    model.save(update_fields=["labels"])
    video = make_video(rita, "street", label="car", with_file=True)
    project = make_project(rita, [video], name="Street", labels=["car", "cyclist"])
    annotation_services.import_ground_truth(
        project,
        video,
        [
            {"label": "car", "keyframes": [box(0, 0, 40, 30)]},
            {"label": "cyclist", "keyframes": [box(120, 90, 160, 120)]},
        ],
        [
            {"kind": "visual", "label": "car", "start": 0.0, "end": 0.2},
            {"kind": "visual", "label": "cyclist", "start": 0.9, "end": 1.1},
        ],
    )
    heat = np.full((4, 4, 4), 0.1, dtype=np.float32)
    for t, (i, j) in enumerate(CELLS):
        heat[t, i, j] = 1.0
    car = make_explanation(video, heat, model=model, timestamps=TIMES, params={"k": 1})
    dog = make_explanation(video, heat, model=model, timestamps=TIMES, params={"k": 2})
    Explanation.objects.filter(pk=dog.pk).update(explained_target=2)
    scoring.recompute_now(project)
    return {"project": project, "video": video, "car": car, "dog": dog, "rita": rita}


def test_review_player_drilldown_and_trial_agree(page, street):
    car, dog, video = street["car"], street["dog"], street["video"]
    sign_in(page, "rita", "research-me-42")

    # the review player, frame by frame (the link's ?t= seeks to the map frame's time)
    player_marks = []
    for t in TIMES:
        page.goto(f"/explanations/review/{video.pk}?ids={car.pk}&t={t:.3f}")
        pane = page.get_by_test_id("review-pane")
        expect(pane.get_by_text("scored against", exact=False)).to_contain_text("car")
        mark = pane.get_by_test_id("pointing-mark")
        expect(mark).to_have_count(1)
        player_marks.append(mark.get_attribute("data-hit") == "true")

    # the leaderboard's drill-down of the same explanation's row
    page.goto(f"/leaderboard?project={street['project'].pk}")
    rows = page.get_by_test_id("leaderboard-row")
    expect(rows).to_have_count(2)
    rows.first.get_by_test_id("row-clips").click()
    panel = page.get_by_test_id("clips-panel")
    expect(panel.get_by_test_id("clip-item")).to_have_count(1)
    chips = panel.get_by_test_id("clip-frame")
    expect(chips).to_have_count(4)
    drilldown = [chip.get_attribute("data-hit") == "true" for chip in chips.all()]

    # a pointing trial clicked where each map frame points, at its time
    study = Study.objects.create(
        owner=street["rita"], title="Point", slug="point", pointing_project=street["project"]
    )
    stimulus = Stimulus.objects.create(study=study, explanation=car, method="staa", video=video)
    points = [((j + 0.5) * 40, (i + 0.5) * 30) for i, j in CELLS]
    trial = [
        pointing_hit(study, stimulus, x, y, t) for (x, y), t in zip(points, TIMES, strict=True)
    ]

    assert player_marks == drilldown == trial == EXPECTED

    # the dog class maps to no label: the player says so instead of marking misses
    page.goto(f"/explanations/review/{video.pk}?ids={dog.pk}&t=0.000")
    pane = page.get_by_test_id("review-pane")
    expect(pane).to_contain_text("maps to no annotation label")
    expect(pane.get_by_test_id("pointing-mark")).to_have_count(0)
