"""Every trial shows its stimulus, in real Chromium: the bundled model explains a real (ffmpeg
"game of life", 8 s, silent) video with STAA and STAA+, a blinded study is made of the two maps,
and a participant's overlay has highlighted pixels at several points of every trial's playback:
sought to eight points of each stimulus, and sampled while the video really plays. The pixels
reach the screen (a screenshot with the overlay differs from one without it, in the overlay's
colours), the trial names no method (blinding), and each answer records the display rule and
threshold it was shown with."""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.e2e.support import CANVAS_PIXELS
from tests.explanations_support import fake_broker_fixture, researcher_fixture  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SECONDS = 8
SCREENSHOTS = os.environ.get("WHEREWHEN_SCREENSHOTS")
#: Points of the playback that are sampled (fractions of the duration), and how many of them
#: must show highlighted pixels for each stimulus (the designer refuses maps blank on most frames).
POINTS = (0.05, 0.18, 0.3, 0.43, 0.55, 0.68, 0.8, 0.93)
AT_LEAST = 5


def life_clip(path: Path) -> Path:
    from workers.video.tools import ffmpeg_exe

    source = "life=size=320x240:rate=15:seed=7:mold=10:life_color=#00ccff:death_color=#003344"
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"{source},trim=duration={SECONDS}",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", "-threads", "1", str(path)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return path


@pytest.fixture
def study(researcher, fake_broker, tmp_path):
    from wherewhen.explanations import compute
    from wherewhen.explanations import services as explanations
    from wherewhen.explanations.demo import bundled_model_dir
    from wherewhen.explanations.models import Explanation
    from wherewhen.studies import services as studies
    from wherewhen.studies.models import Study
    from wherewhen.videos.services import ingest_file

    video = ingest_file(
        owner=researcher,
        path=life_clip(tmp_path / "life.mp4"),
        original_name="life.mp4",
        title="life",
        process="now",
    ).video
    assert video.status == "ready", video.error
    model = explanations.register_model(
        owner=researcher, name="tiny-timesformer", checkpoint_dir=str(bundled_model_dir())
    )
    made = []
    for method in ("staa", "staa_plus"):
        outcome = explanations.request_explanation(
            researcher, video=video, model=model, method=method
        )
        compute.run(outcome.explanation.pk)
        made.append(Explanation.objects.get(pk=outcome.explanation.pk))
    assert all(e.status == "done" for e in made), [(e.method, e.error) for e in made]
    for e in made:  # shown when the test fails
        print(e.method, e.timestamps, studies.coverage_for(e, "frame", 0.2))
    study = Study.objects.create(
        owner=researcher,
        title="Which highlighting helps?",
        slug="visible",
        status=Study.Status.OPEN,
        blinded=True,
        trial_kinds=["rating", "pairwise"],
        trials_per_participant=2,
        practice_trials=1,
        attention_every=0,
        min_response_ms=0,
        completion_code="SEEN0001",
    )
    studies.add_stimuli(study, made)  # refused if a map would show nothing on most frames
    studies.validate_design(study)
    return study


def overlay_shows_at(page, figure, fraction: float) -> int:
    """Seek the stimulus's video to ``fraction`` of its duration; the overlay's painted pixels."""
    video = figure.locator("video")
    video.evaluate("(v, f) => { v.pause(); v.currentTime = f * v.duration; }", fraction)
    page.wait_for_function(
        "([v, f]) => v.readyState >= 2 && !v.seeking && Math.abs(v.currentTime - f * v.duration) < 0.05",
        arg=[video.element_handle(), fraction],
    )
    canvas = figure.get_by_test_id("overlay-canvas")
    # the canvas has caught up with the seek when it shows the map frame of this time
    page.wait_for_function(
        """([v, c]) => {
          const ts = JSON.parse(c.closest('figure').dataset.timestamps);
          let k = 0;
          while (k + 1 < ts.length && ts[k + 1] <= v.currentTime + 1e-9) k += 1;
          return Number(c.dataset.frame) === k && c.dataset.drawn !== undefined;
        }""",
        arg=[video.element_handle(), canvas.element_handle()],
    )
    return canvas.evaluate(CANVAS_PIXELS)


#: Words that would unblind a trial.
METHOD_WORDS = ("STAA", "staa", "tiny-timesformer", "rollout")


def painted_while_playing(page, figure, samples: int = 12) -> dict[int, int]:
    """Play the stimulus from its start and sample the overlay as it plays: {map frame: the
    most pixels painted on it}."""
    video = figure.locator("video")
    canvas = figure.get_by_test_id("overlay-canvas")
    video.evaluate("v => { v.currentTime = 0; return v.play(); }")
    seen: dict[int, int] = {}
    duration = video.evaluate("v => v.duration")
    for _ in range(samples):
        page.wait_for_timeout(int(duration * 1000 / samples))
        state = canvas.evaluate(
            "(c) => [Number(c.dataset.frame), (" + CANVAS_PIXELS + ")(c),"
            " !c.closest('figure').querySelector('video').paused]"
        )
        frame, painted, playing = state
        assert playing, "the stimulus stopped playing"
        seen[frame] = max(seen.get(frame, 0), painted)
    video.evaluate("v => v.pause()")
    return seen


def on_screen_difference(page, figure) -> int:
    """Pixels of the stimulus on screen that the overlay changes: a screenshot with the
    canvas shown against one with it hidden (the video paused in between)."""
    frame = figure.get_by_test_id("stimulus-frame")
    canvas = figure.get_by_test_id("overlay-canvas")
    style = canvas.evaluate(
        "c => { const s = getComputedStyle(c); return [s.display, s.visibility, s.opacity]; }"
    )
    assert style[0] != "none" and style[1] == "visible" and float(style[2]) > 0, style
    shown = np.asarray(Image.open(io.BytesIO(frame.screenshot())).convert("RGB"), np.int16)
    canvas.evaluate("c => { c.style.visibility = 'hidden'; }")
    hidden = np.asarray(Image.open(io.BytesIO(frame.screenshot())).convert("RGB"), np.int16)
    canvas.evaluate("c => { c.style.visibility = ''; }")
    return int((np.abs(shown - hidden).max(axis=2) > 24).sum())


def test_every_trial_shows_highlighted_pixels_throughout_playback(page, study):
    from wherewhen.studies.models import Response, Session, Trial

    page.goto(f"/p/{study.slug}?PROLIFIC_PID=seen-1")
    page.get_by_label("I have read the information above").check()
    page.get_by_role("button", name="I agree").click()
    page.get_by_role("button", name="Start").click()

    session = Session.objects.get(participant_id="seen-1")
    total = Trial.objects.filter(session=session).count()
    assert total == 3
    methods_seen = set()
    for index in range(total):
        trial = page.get_by_test_id("trial")
        expect(trial).to_have_attribute("data-index", str(index))
        figures = trial.locator("figure.stimulus")
        count = figures.count()
        assert count >= 1
        text = trial.inner_text()
        assert not [w for w in METHOD_WORDS if w in text], f"trial {index} names a method: {text}"
        for k in range(count):
            figure = figures.nth(k)
            expect(figure).to_have_attribute("data-normalization", "frame")
            painted = [overlay_shows_at(page, figure, f) for f in POINTS]
            lit = sum(1 for p in painted if p > 0)
            assert lit >= AT_LEAST, f"trial {index}, stimulus {k}: painted pixels {painted}"
            # ... on screen, not only in the canvas's memory,
            lit_point = POINTS[next(i for i, p in enumerate(painted) if p > 0)]
            overlay_shows_at(page, figure, lit_point)
            changed = on_screen_difference(page, figure)
            assert changed > 50, f"trial {index}, stimulus {k}: {changed} pixels on screen"
            # ... and while the video plays (not only when sought): several map frames lit.
            playing = painted_while_playing(page, figure)
            lit_frames = sorted(f for f, p in playing.items() if p > 0)
            assert len(lit_frames) >= 3, f"trial {index}, stimulus {k}: while playing {playing}"
        if SCREENSHOTS and index == 1:
            Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
            page.set_viewport_size({"width": 1440, "height": 900})
            overlay_shows_at(page, figures.first, 0.3)
            page.screenshot(path=str(Path(SCREENSHOTS) / "participant-trial.png"))
            page.set_viewport_size({"width": 390, "height": 844})
            page.screenshot(path=str(Path(SCREENSHOTS) / "participant-trial-390.png"))
            page.set_viewport_size({"width": 1280, "height": 720})
        db_trial = Trial.objects.get(session=session, index=index)
        methods_seen |= {s.method for s in (db_trial.stimulus_a, db_trial.stimulus_b) if s}
        if trial.get_attribute("data-kind") == "pairwise":
            page.get_by_role("button", name="Option A").click()
        else:
            page.get_by_label("5").check()
            page.get_by_role("button", name="Next").click()
    expect(page.get_by_test_id("completion-code")).to_have_text("SEEN0001")

    assert methods_seen == {"staa", "staa_plus"}
    rules = [r.overlay_display_rule for r in Response.objects.filter(session=session)]
    assert rules, "no answer was stored"
    assert all(rule == {"normalization": "frame", "threshold": 0.2} for rule in rules), rules
