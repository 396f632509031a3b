"""The meta-evaluation page in real Chromium: a study whose answers follow one stored metric
shows that metric's cell with an interval above 0, an unrelated metric's cell with one around
0, and the scatter of the chosen pair; screenshots at desktop and phone width."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.support import sign_in
from tests.explanations_support import researcher_fixture  # noqa: F401 - fixtures
from tests.platform.test_metaeval import world_fixture  # noqa: F401 - fixtures

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

#: Set to a folder to keep screenshots of the page (for looking at it by eye).
SCREENSHOTS = os.environ.get("WHEREWHEN_E2E_SCREENSHOTS")


def test_matrix_intervals_and_scatter(page, world):
    study, project = world
    sign_in(page, "rita", "rita-pw-42")
    page.set_viewport_size({"width": 1440, "height": 900})
    page.get_by_test_id("nav-meta").click()
    expect(page.get_by_role("heading", name="Meta-evaluation")).to_be_visible()
    page.goto(f"/meta-evaluation?study={study.pk}&project={project.pk}")
    matrix = page.get_by_test_id("meta-matrix")
    expect(matrix).to_be_visible(timeout=60_000)
    expect(page.get_by_test_id("meta-summary")).to_contain_text("16 participants")
    planted = page.locator('[data-pair="spatial|mean_rating"]')
    expect(planted).to_have_attribute("data-excludes-zero", "true")
    unrelated = page.locator('[data-pair="energy|mean_rating"]')
    expect(unrelated).to_have_attribute("data-excludes-zero", "false")
    assert float(planted.get_attribute("data-value")) > 0.3
    body = page.request.get(
        f"/api/v1/meta-evaluation/?study={study.pk}&project={project.pk}"
    ).json()
    n = {(p["level"], p["metric"], p["outcome"]): p["n"] for p in body["pairs"]}
    planted.click()
    expect(page.get_by_test_id("meta-pair")).to_contain_text("Mean rating vs Spatial pointing game")
    # one dot per stimulus with both values
    expect(page.get_by_test_id("scatter-dot")).to_have_count(
        n[("stimulus", "spatial", "mean_rating")]
    )
    # per method: one dot per method, the rankings beside
    page.get_by_test_id("meta-level-method").click()
    expect(page.get_by_test_id("scatter-dot")).to_have_count(3)
    expect(page.get_by_test_id("meta-rankings")).to_be_visible()
    page.get_by_test_id("meta-level-stimulus").click()
    expect(page.get_by_test_id("scatter-dot")).to_have_count(
        n[("stimulus", "spatial", "mean_rating")]
    )
    href = page.get_by_test_id("meta-export-csv").get_attribute("href")
    assert href.startswith("/api/v1/meta-evaluation/export.csv?")
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / "meta-1440.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.wait_for_timeout(200)
        page.screenshot(path=str(Path(SCREENSHOTS) / "meta-390.png"), full_page=True)

    # a dry run: simulated participants answer a copy, and the page switches to it
    page.set_viewport_size({"width": 1440, "height": 900})
    page.get_by_test_id("meta-dry-run").click()
    expect(page.get_by_test_id("meta-summary")).to_contain_text("15 participants", timeout=120_000)
    expect(page.get_by_test_id("meta-study").locator("option:checked")).to_contain_text("(dry run)")
    expect(page.get_by_test_id("meta-dry-run")).to_have_count(0)
    expect(page.get_by_test_id("meta-cell").first).to_be_visible()
