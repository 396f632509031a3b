"""Every page, for each role, in real Chromium: no serious or critical axe-core violations, and
no page scrolls sideways at 1280 x 800 or 1440 x 900. Also keyboard-only paths through the
participant flow and the review player."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.scoring_support import (
    box_from,
    ground_truth,
    make_explanation,
    make_model,
    make_project,
    make_video,
    peak_map,
    user,
)
from tests.studies_support import make_study
from wherewhen.accounts.models import Role
from wherewhen.scoring import services as scoring

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parents[2] / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
SIZES = ((1280, 800), (1440, 900))
PASSWORD = "pages-are-nice-42"

#: axe's serious and critical violations: [(rule, first target, help), ...]
AXE_RUN = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => [v.id, v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(" | "), v.help]);
}"""

#: Set to a folder (``make screenshots``: docs/screenshots) to keep a picture of every page
#: checked, at 1440 x 900 and at a 390 px phone width.
SCREENSHOTS = os.environ.get("WHEREWHEN_SCREENSHOTS")

SIDEWAYS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"

#: The deepest elements sticking out on the right (for the failure message).
WIDEST = """() => {
  const limit = document.documentElement.clientWidth;
  return [...document.querySelectorAll("body *")]
    .filter((el) => el.getBoundingClientRect().right > limit + 1 && !el.querySelector("*"))
    .slice(0, 4)
    .map((el) => `${el.tagName.toLowerCase()}.${el.className} (${Math.round(el.getBoundingClientRect().right)} px)`);
}"""


@pytest.fixture
def world(monkeypatch, settings):
    """A researcher's project with scores, a study, and the other roles."""
    monkeypatch.setattr(scoring.recompute, "send_recompute", lambda ids: None)
    rita = user("rita", Role.RESEARCHER, password=PASSWORD)
    user("alex", Role.ANNOTATOR, password=PASSWORD)
    user("remy", Role.REVIEWER, password=PASSWORD)
    model = make_model(rita)
    videos = [make_video(rita, f"clip {k}") for k in range(2)]
    project = make_project(rita, videos, name="Jumps")
    made = []
    for video in videos:
        ground_truth(project, video, [box_from(0, (40, 30, 80, 60))])
        made.append(
            make_explanation(video, peak_map([(1, 1)] * 4), method="staa_plus", model=model)
        )
        make_explanation(video, peak_map([(2, 2)] * 4), method="random", model=model)
    scoring.recompute_now(project)
    study = make_study(rita, settings.MEDIA_ROOT, n_videos=1)
    return {"project": project, "video": videos[0], "explanation": made[0], "study": study}


def sign_in(page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # generous: signing in hashes a password, slow on a loaded machine
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible(timeout=30_000)


def shot_name(role: str, path: str) -> str:
    words = re.sub(r"\?.*$", "", path).strip("/").replace("/", "-") or "dashboard"
    words = re.sub(r"-\d+", "-detail", words)
    return f"{role}-{words}"


def keep_screenshots(page, name: str) -> None:
    folder = Path(SCREENSHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(300)
    page.screenshot(path=str(folder / f"{name}-390.png"))
    page.set_viewport_size({"width": 1440, "height": 900})


def check_page(page, path: str, problems: list[str], role: str = "public") -> None:
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.goto(path)
        page.wait_for_load_state("networkidle")
        expect(page.locator("h1").first).to_be_visible()
        overflow = page.evaluate(SIDEWAYS)
        if overflow > 0:
            widest = ", ".join(page.evaluate(WIDEST))
            problems.append(
                f"{path} at {width}x{height} scrolls sideways by {overflow} px: {widest}"
            )
    if SCREENSHOTS:
        page.wait_for_timeout(500)  # canvases and charts drawn
        keep_screenshots(page, shot_name(role, path))
    # evaluated through the browser's debugging protocol, which the page's CSP does not block
    page.evaluate(AXE.read_text() + "\n;true")
    for rule, target, text in page.evaluate(AXE_RUN):
        problems.append(f"{path}: {rule} ({text}) at {target}")


def pages_for(role: str, world) -> list[str]:
    video, project, study = world["video"], world["project"], world["study"]
    explanation = world["explanation"]
    common = ["/"]
    if role == "annotator":
        return [*common, "/annotate"]
    if role == "reviewer":
        return [
            *common,
            "/library",
            "/explanations",
            f"/explanations/review/{video.pk}?ids={explanation.pk}",
            f"/leaderboard?project={project.pk}",
        ]
    return [
        *common,
        "/library",
        f"/library/{video.pk}",
        "/explanations",
        f"/explanations/review/{video.pk}?ids={explanation.pk}",
        "/annotate",
        f"/annotate/projects/{project.pk}",
        "/studies",
        f"/studies/{study.pk}",
        f"/leaderboard?project={project.pk}",
        "/meta-evaluation",
    ]


@pytest.mark.parametrize(
    "username,role", [("rita", "researcher"), ("remy", "reviewer"), ("alex", "annotator")]
)
def test_pages_pass_axe_and_fit_the_screen(page, world, username, role):
    assert AXE.exists(), "frontend/node_modules/axe-core is missing (make install)"
    sign_in(page, username)
    problems: list[str] = []
    for path in pages_for(role, world):
        check_page(page, path, problems, role)
    assert not problems, "\n".join(problems)


def test_login_and_participant_pages_pass_axe_and_fit(page, world):
    problems: list[str] = []
    check_page(page, "/login", problems)
    check_page(page, f"/p/{world['study'].slug}?PROLIFIC_PID=axe-1", problems)
    assert not problems, "\n".join(problems)


def test_participant_flow_by_keyboard_only(page, world):
    study = world["study"]
    page.goto(f"/p/{study.slug}?PROLIFIC_PID=keys-1")
    expect(page.get_by_role("heading", name="Consent")).to_be_visible()
    checkbox = page.get_by_label("I have read the information above")
    checkbox.focus()
    page.keyboard.press("Space")
    expect(checkbox).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="I agree")).to_be_focused()
    page.keyboard.press("Enter")
    start = page.get_by_role("button", name="Start")
    expect(start).to_be_visible()
    start.focus()
    page.keyboard.press("Enter")
    trial = page.get_by_test_id("trial")
    for index in range(3):
        expect(trial).to_have_attribute("data-index", str(index))
        kind = trial.get_attribute("data-kind")
        # Tab from the top of the page to the first answer control, then answer with keys only.
        page.locator("body").focus()
        if kind == "rating":
            while page.evaluate("document.activeElement.name") != "rating":
                page.keyboard.press("Tab")
            page.keyboard.press("ArrowRight")  # radio group: moves and checks
            page.keyboard.press("Tab")
            expect(page.get_by_role("button", name="Next")).to_be_focused()
            page.keyboard.press("Enter")
        else:
            while "trial-choice" not in (page.evaluate("document.activeElement.className") or ""):
                page.keyboard.press("Tab")
            page.keyboard.press("Enter")
    expect(page.get_by_test_id("trial")).not_to_have_attribute("data-index", "0")


def test_review_player_by_keyboard_only(page, world):
    stimulus = world["study"].stimuli.first()  # a video with a playback file
    video, explanation = stimulus.video, stimulus.explanation
    sign_in(page, "rita")
    page.goto(f"/explanations/review/{video.pk}?ids={explanation.pk}")
    pane = page.get_by_test_id("review-pane")
    expect(pane).to_have_count(1)
    # Tab from the top to the scale switch; the arrow keys choose per clip (kept in the URL).
    page.locator("body").focus()
    for _ in range(150):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "overlay-normalization":
            break
    else:
        raise AssertionError("the scale switch is not reachable with Tab")
    page.keyboard.press("ArrowRight")
    expect(page).to_have_url(re.compile(r"norm=clip"))
    expect(page.get_by_test_id("color-legend")).to_contain_text("of the clip's range")
    # ... and on to the play button, which Enter starts.
    for _ in range(150):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.dataset.testid") == "player-play":
            break
    else:
        raise AssertionError("the play button is not reachable with Tab")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "el => !el.paused", arg=page.get_by_test_id("review-video-master").element_handle()
    )
