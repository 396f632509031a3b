"""The leaderboard in real Chromium: seeded scores show as a table and a bar chart with interval
whiskers, and a row's clips link into the review player at the frame in question."""

from __future__ import annotations

import re

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
from wherewhen.accounts.models import Role
from wherewhen.scoring import services

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def seeded(monkeypatch):
    monkeypatch.setattr(services.recompute, "send_recompute", lambda ids: None)
    rita = user("rita", Role.RESEARCHER, password="research-me-42")
    model = make_model(rita)
    videos = [make_video(rita, f"clip {k}") for k in range(4)]
    project = make_project(rita, videos, name="Jumps")
    for k, video in enumerate(videos):
        ground_truth(project, video, [box_from(0, (40, 30, 80, 60))])
        make_explanation(video, peak_map([(1, 1)] * 4), method="staa_plus", model=model)
        # the random map misses on every other clip's third frame
        miss = (3, 3) if k % 2 else (1, 1)
        make_explanation(
            video, peak_map([(1, 1), (1, 1), miss, (1, 1)]), method="random", model=model
        )
    services.recompute_now(project)
    return project


def test_leaderboard_table_chart_and_drilldown(page, seeded):
    page.goto("/login")
    page.get_by_label("Username").fill("rita")
    page.get_by_label("Password").fill("research-me-42")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    page.goto(f"/leaderboard?project={seeded.pk}")
    expect(page.get_by_role("heading", name="Leaderboard")).to_be_visible()
    rows = page.get_by_test_id("leaderboard-row")
    expect(rows).to_have_count(2)
    staa = page.locator('[data-testid="leaderboard-row"][data-method="staa_plus"]')
    expect(staa.get_by_test_id("cell-spatial")).to_have_attribute("aria-label", "100% [100–100%]")

    chart = page.get_by_test_id("leaderboard-chart")
    expect(chart.get_by_test_id("chart-bar")).to_have_count(2)
    expect(chart.get_by_test_id("chart-whisker")).to_have_count(2)
    widths = [float(bar.get_attribute("width")) for bar in chart.get_by_test_id("chart-bar").all()]
    assert widths[0] < widths[1]  # random (14 of 16 frames) below STAA+ (all)
    expect(page.get_by_test_id("comparison-row")).to_have_count(1)

    random_row = page.locator('[data-testid="leaderboard-row"][data-method="random"]')
    random_row.get_by_test_id("row-clips").click()
    panel = page.get_by_test_id("clips-panel")
    expect(panel.get_by_test_id("clip-item")).to_have_count(4)
    expect(panel.locator('[data-testid="clip-frame"][data-hit="false"]')).to_have_count(2)
    link = panel.get_by_test_id("clip-link").nth(1)
    expect(link).to_have_attribute(
        "href", re.compile(r"^/explanations/review/\d+\?ids=\d+&t=1\.000$")
    )


def test_leaderboard_says_which_scores_are_stale_and_what_was_excluded(page, seeded):
    import os
    from pathlib import Path

    # one more accepted annotation on the first clip: its scores were computed on older ground
    # truth (no recompute runs here)
    video = seeded.tasks.order_by("id").first().video
    ground_truth(seeded, video, [box_from(0, (40, 30, 80, 60))])

    page.goto("/login")
    page.get_by_label("Username").fill("rita")
    page.get_by_label("Password").fill("research-me-42")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"/leaderboard?project={seeded.pk}")
    expect(page.get_by_test_id("leaderboard-outdated")).to_have_text("2 stale scores")
    expect(page.get_by_test_id("leaderboard-provenance")).to_contain_text(
        "ground truth changed since scoring (2)"
    )
    expect(page.get_by_test_id("leaderboard-excluded")).to_contain_text(
        "Ground truth: 5 annotations · 0 excluded (exposed annotators)"
    )
    expect(page.get_by_test_id("row-stale")).to_have_count(2)
    expect(page.get_by_test_id("export-scores")).to_have_attribute(
        "href", f"/api/v1/scoring/scores/export.csv?project={seeded.pk}"
    )
    shots = os.environ.get("WHEREWHEN_E2E_SCREENSHOTS")
    if shots:
        page.screenshot(path=str(Path(shots) / "leaderboard-stale-1440.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        expect(page.get_by_test_id("leaderboard-outdated")).to_be_visible()
        page.screenshot(path=str(Path(shots) / "leaderboard-stale-390.png"), full_page=True)
