"""A distinction trial with a confidence rating in real Chromium, answered with the keyboard
only on a 360 px wide phone screen: k candidate explanations of one clip, each named by its
class, drawn with the study's rule; then a failed attention check ends the session politely
with the screen-out code (never the completion code)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.support import sign_in
from tests.e2e.test_pages_accessible import SIDEWAYS, WIDEST
from tests.explanations_support import researcher_fixture  # noqa: F401 - fixtures
from tests.studies_support import make_distinction_study
from wherewhen.studies.models import Response, Session, Trial

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# where the pages are photographed for a person to look at (a temporary folder by default)
SHOTS = Path(os.environ.get("WHEREWHEN_VAR_DIR", "/tmp")) / "screens"
SHOTS.mkdir(parents=True, exist_ok=True)


@pytest.fixture
def study(researcher, settings):
    return make_distinction_study(
        researcher,
        settings.MEDIA_ROOT,
        n_videos=1,
        methods=["staa"],
        k=3,
        ask_confidence=True,
        trials_per_participant=2,
        attention_every=1,
        max_failed_checks=0,
        attention_checks=[
            {
                "prompt": "Pick 'blue' to show you are reading.",
                "choices": ["red", "blue"],
                "answer": "blue",
            }
        ],
    )


def test_distinction_with_confidence_by_keyboard_on_a_phone(page, study):
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(f"/p/{study.slug}?PROLIFIC_PID=phone-1")
    consent = page.get_by_label("I have read the information above")
    consent.focus()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # I agree
    start = page.get_by_role("button", name="Start")
    start.focus()
    page.keyboard.press("Enter")

    trial = page.get_by_test_id("trial")
    expect(trial).to_have_attribute("data-kind", "distinction")
    frames = page.get_by_test_id("stimulus-frame")
    expect(frames).to_have_count(3)
    captions = page.locator("figure.stimulus figcaption")
    texts = captions.all_inner_texts()
    assert len(texts) == 3 and any("blue" in t for t in texts), texts  # the predicted class
    # every candidate's overlay is drawn (the study's per-frame rule shows every frame)
    page.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid=stimulus-frame] canvas')]
            .every(c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                          for (let i = 3; i < d.length; i += 4) if (d[i] > 0) return true;
                          return false; })""",
        timeout=15000,
    )
    # readable on a phone: nothing scrolls sideways
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(SHOTS / "participant-distinction-360.png"), full_page=True)

    # keyboard only: the predicted class, a confidence of 4, then Next
    page.get_by_role("radio", name="blue").focus()
    page.keyboard.press("Space")
    expect(page.get_by_role("radio", name="blue")).to_be_checked()
    next_button = page.get_by_role("button", name="Next")
    expect(next_button).to_be_disabled()  # confidence is still missing
    expect(page.get_by_test_id("confidence")).to_contain_text(study.confidence_question)
    page.get_by_test_id("confidence").get_by_role("radio", name="4").focus()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    expect(next_button).to_be_focused()
    page.keyboard.press("Enter")

    # the attention check (no confidence asked), failed: the session ends with the screen-out code
    expect(trial).to_have_attribute("data-kind", "attention")
    expect(page.get_by_test_id("confidence")).to_have_count(0)
    red = page.get_by_role("button", name="red")
    red.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("screen-out-code")).to_have_text("SCREEN99")
    expect(page.get_by_test_id("completion-code")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    session = Session.objects.get(participant_id="phone-1")
    assert session.screened_out_at is not None and session.completed_at is None
    answer = Response.objects.get(session=session, trial__kind="distinction")
    assert answer.answer == {"label": 2} and answer.correct is True and answer.confidence == 4
    assert answer.overlay_display_rule == {"normalization": "frame", "threshold": 0.2}
    # coming back shows the screen-out code again, nothing restarts
    page.goto(f"/p/{study.slug}?PROLIFIC_PID=phone-1")
    expect(page.get_by_test_id("screen-out-code")).to_have_text("SCREEN99")
    page.screenshot(path=str(SHOTS / "participant-screened-out-360.png"), full_page=True)


def test_the_designer_previews_a_distinction_trial_with_the_study_rule(page, study, researcher):
    """The study page's live preview is the participant's trial: the k candidates, each named
    by its class and drawn with the study's display rule, the confidence scale; no session."""
    sign_in(page, researcher.username, f"{researcher.username}-pw-42")
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"/studies/{study.pk}")
    preview = page.get_by_test_id("trial-preview")
    expect(preview.get_by_test_id("trial")).to_have_attribute("data-kind", "distinction")
    frames = preview.get_by_test_id("stimulus-frame")
    expect(frames).to_have_count(3)
    expect(preview.locator("figure.stimulus").first).to_have_attribute(
        "data-normalization", "frame"
    )
    page.wait_for_function(
        """() => [...document.querySelectorAll(
                '[data-testid=trial-preview] [data-testid=stimulus-frame] canvas')]
            .every(c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                          for (let i = 3; i < d.length; i += 4) if (d[i] > 0) return true;
                          return false; })""",
        timeout=15000,
    )
    expect(preview.get_by_test_id("confidence")).to_be_visible()
    preview.get_by_role("radio", name="blue").check()
    preview.get_by_test_id("confidence").get_by_role("radio", name="5").check()
    preview.get_by_role("button", name="Next").click()
    expect(preview).to_contain_text('"label":2')
    assert page.evaluate("document.documentElement.scrollWidth") <= 1440
    # the attention check is previewed too; nothing is stored
    preview.get_by_label("Trial kind").select_option("attention")
    expect(preview.get_by_test_id("trial")).to_have_attribute("data-kind", "attention")
    assert not Session.objects.filter(study=study).exists()
    page.screenshot(path=str(SHOTS / "designer-preview-1440.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    preview.get_by_label("Trial kind").select_option("distinction")
    expect(preview.get_by_test_id("stimulus-frame")).to_have_count(3)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(SHOTS / "designer-preview-390.png"), full_page=True)


def test_the_report_says_what_it_was_computed_from_and_warns_of_stale_answers(
    page, study, researcher
):
    """After real answers, the researcher's report names the code version and the explanations
    and checkpoints behind it; once an explanation is computed again, it warns that answers were
    given on another map than the one stored now."""
    from django.test import Client
    from django.utils import timezone

    from tests.studies_support import Participant
    from wherewhen.explanations.models import Explanation

    p = Participant(Client(), study.slug, {"PROLIFIC_PID": "p-report"})
    assert p.start().status_code == 200
    p.post("consent/", {"agree": True})
    p.post("instructions/")
    body = p.trial().json()
    assert p.answer(body["index"], {"label": 2, "confidence": 4}).status_code == 200

    sign_in(page, researcher.username, f"{researcher.username}-pw-42")
    for width, height in ((1440, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"/studies/{study.pk}")
        line = page.get_by_test_id("report-provenance")
        expect(line).to_contain_text("Computed by wherewhen ")
        shown_count = study.stimuli.values("explanation").distinct().count()
        expect(line).to_contain_text(f"from {shown_count} explanations of 1 model checkpoint")
        expect(page.get_by_test_id("report-stale")).to_have_count(0)
        assert page.evaluate(SIDEWAYS) <= 0, page.evaluate(WIDEST)

    shown = Trial.objects.get(session__token=p.token, index=body["index"]).stimulus_a.explanation_id
    Explanation.objects.filter(pk=shown).update(finished_at=timezone.now() + timedelta(hours=1))
    page.reload()
    warning = page.get_by_test_id("report-stale")
    expect(warning).to_contain_text("1 answer was given on a map that has been computed again")
    assert page.evaluate(SIDEWAYS) <= 0, page.evaluate(WIDEST)
    page.get_by_test_id("study-report").screenshot(path=str(SHOTS / "report-stale-390.png"))
    page.set_viewport_size({"width": 1440, "height": 900})
    page.get_by_test_id("study-report").screenshot(path=str(SHOTS / "report-stale-1440.png"))
