"""The app shell in real headless Chromium: login through the UI, dashboard, guard, logout."""

import re

import pytest
from playwright.sync_api import expect

from wherewhen.accounts.models import Role, User

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def annotator():
    return User.objects.create_user(
        "alex", password="annotate-me-42", role=Role.ANNOTATOR, first_name="Alex"
    )


@pytest.fixture
def researcher():
    return User.objects.create_user("rita", password="research-me-42", role=Role.RESEARCHER)


def sign_in(page, username: str, password: str) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_login_lands_on_dashboard_with_health(page, researcher):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login$"))
    sign_in(page, "rita", "research-me-42")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_test_id("user-menu-username")).to_have_text("rita")
    # No worker runs in this test: the health panel must say so, from the real /healthz.
    expect(page.get_by_test_id("health-overall")).to_have_attribute("data-status", "degraded")
    expect(page.get_by_test_id("health-check-database")).to_have_attribute("data-ok", "true")
    expect(page.get_by_test_id("health-queue-gpu")).to_have_attribute("data-workers", "0")
    nav = page.get_by_role("navigation", name="Main")
    for area in ("library", "explanations", "annotate", "studies", "leaderboard"):
        expect(nav.get_by_test_id(f"nav-{area}")).to_be_visible()


def test_wrong_password_shows_the_servers_message(page, researcher):
    page.goto("/login")
    sign_in(page, "rita", "not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("Invalid username or password.")
    expect(page).to_have_url(re.compile(r"/login"))


def test_guard_keeps_next_and_role_limits_nav_and_sign_out(page, annotator):
    page.goto("/annotate")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fannotate$"))
    sign_in(page, "alex", "annotate-me-42")
    expect(page).to_have_url(re.compile(r"/annotate$"))
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_test_id("nav-annotate")).to_be_visible()
    expect(nav.get_by_test_id("nav-studies")).to_have_count(0)
    expect(nav.get_by_test_id("nav-leaderboard")).to_have_count(0)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login"))
    # The session is really gone on the server.
    assert page.request.get("/api/v1/auth/me/").status == 403
