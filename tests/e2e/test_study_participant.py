"""A whole participant session in real Chromium: a link without ids is refused, then consent,
instructions, a practice trial, pairwise and pointing trials, an attention check, and the
completion code; coming back with the same id shows the code again (no restart)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.explanations_support import researcher_fixture  # noqa: F401 - fixtures
from tests.scoring_support import box_from, ground_truth, make_project
from tests.studies_support import make_study
from wherewhen.studies.models import Response, Session, Study, Trial

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def study(researcher, settings):
    study = make_study(
        researcher,
        settings.MEDIA_ROOT,
        n_videos=1,
        methods=["staa", "rollout"],
        trial_kinds=["pairwise", "pointing"],
        trials_per_participant=4,
        practice_trials=1,
        attention_every=2,
    )
    first = study.stimuli.first()
    video = first.video
    label = first.explanation.model.labels[first.explanation.explained_target]  # the maps' class
    project = make_project(researcher, [video], labels=[label])
    ground_truth(project, video, [box_from(0, (0, 0, 64, 48), label=label)])
    Study.objects.filter(pk=study.pk).update(pointing_project=project)
    return study


def answer_current(page) -> str:
    trial = page.get_by_test_id("trial")
    kind = trial.get_attribute("data-kind")
    if kind == "pairwise":
        page.get_by_role("button", name="Option A").click()
    elif kind == "pointing":
        # click on a frame the video shows (not in the instant after its last frame, which no
        # annotated frame covers)
        page.locator("[data-testid=stimulus-frame] video").first.evaluate(
            "v => { v.pause(); v.currentTime = 0.5; }"
        )
        frame = page.get_by_test_id("stimulus-frame").first
        box = frame.bounding_box()
        frame.click(position={"x": box["width"] * 0.3, "y": box["height"] * 0.3})
        page.get_by_role("button", name="Submit point").click()
    elif kind == "attention":
        page.get_by_role("button", name="blue").click()
    else:
        raise AssertionError(f"unexpected trial kind {kind}")
    return kind


def test_participant_session_from_link_to_completion_code(page, study):
    page.goto(f"/p/{study.slug}")
    expect(page.get_by_role("alert")).to_contain_text("no participant id")
    assert not Session.objects.exists()

    link = f"/p/{study.slug}?PROLIFIC_PID=e2e-1&STUDY_ID=st&SESSION_ID=se"
    page.goto(link)
    expect(page.get_by_role("heading", name="Consent")).to_be_visible()
    page.get_by_label("I have read the information above").check()
    page.get_by_role("button", name="I agree").click()
    expect(page.get_by_role("heading", name="Instructions")).to_be_visible()
    page.get_by_role("button", name="Start").click()

    session = Session.objects.get(participant_id="e2e-1")
    total = Trial.objects.filter(session=session).count()
    seen = []
    for index in range(total):
        trial = page.get_by_test_id("trial")
        expect(trial).to_have_attribute("data-index", str(index))
        if index == 0:
            expect(page.get_by_text("Practice trial")).to_be_visible()
        seen.append(answer_current(page))
    expect(page.get_by_test_id("completion-code")).to_have_text("C0DE1234")

    assert {"pairwise", "pointing", "attention"} <= set(seen)
    responses = Response.objects.filter(session=session)
    assert responses.count() == total
    pointing = responses.filter(trial__kind="pointing")
    assert pointing.exists() and all(r.correct for r in pointing)
    assert all(r.viewport.get("width") for r in responses)

    # Coming back with the same id resumes at the end: the code again, nothing restarts.
    page.goto(link)
    expect(page.get_by_test_id("completion-code")).to_have_text("C0DE1234")
    assert Session.objects.count() == 1 and Response.objects.count() == total
