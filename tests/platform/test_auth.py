"""Accounts and roles: session login for the browser, token auth for scripts, clear 4xx."""

import pytest
from rest_framework.test import APIClient

from wherewhen.accounts.models import Role, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def researcher():
    return User.objects.create_user("rita", password="s3cret-pass!", role=Role.RESEARCHER)


def test_login_sets_session_and_me_returns_role(researcher):
    client = APIClient(enforce_csrf_checks=True)
    client.get("/api/v1/auth/csrf/")
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/api/v1/auth/login/",
        {"username": "rita", "password": "s3cret-pass!"},
        format="json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 200
    assert response.json() == {
        "id": researcher.id,
        "username": "rita",
        "role": "researcher",
        "display_name": "rita",
    }
    assert client.get("/api/v1/auth/me/").json()["role"] == "researcher"


def test_login_without_csrf_token_is_refused(researcher):
    client = APIClient(enforce_csrf_checks=True)
    response = client.post(
        "/api/v1/auth/login/", {"username": "rita", "password": "s3cret-pass!"}, format="json"
    )
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"username": "rita", "password": "wrong"},
        {"username": "nobody", "password": "s3cret-pass!"},
    ],
)
def test_wrong_credentials_give_400_with_message(researcher, body):
    response = APIClient().post("/api/v1/auth/login/", body, format="json")
    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid username or password."}


def test_missing_fields_name_the_field(researcher):
    response = APIClient().post("/api/v1/auth/login/", {"username": "rita"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"password": ["This field is required."]}


def test_malformed_json_gives_readable_400(researcher):
    response = APIClient().post(
        "/api/v1/auth/login/", data=b'{"username": "rita", ', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith(
        "The request body could not be read: it is not valid JSON"
    )


def test_me_without_login_is_403_with_message():
    response = APIClient().get("/api/v1/auth/me/")
    assert response.status_code == 403
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_token_auth_for_scripts(researcher):
    client = APIClient()
    token = client.post(
        "/api/v1/auth/token/", {"username": "rita", "password": "s3cret-pass!"}, format="json"
    ).json()["token"]
    assert len(token) == 40
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/auth/me/").json()["username"] == "rita"


def test_bad_token_is_401(researcher):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.get("/api/v1/auth/me/")
    assert response.status_code in (401, 403)
    assert response.json() == {"detail": "Invalid token."}


def test_logout_ends_session(researcher):
    client = APIClient()
    client.post(
        "/api/v1/auth/login/", {"username": "rita", "password": "s3cret-pass!"}, format="json"
    )
    assert client.post("/api/v1/auth/logout/").status_code == 204
    assert client.get("/api/v1/auth/me/").status_code == 403


def test_seed_demo_creates_one_user_per_role_and_is_idempotent():
    from django.core.management import call_command

    call_command("seed_demo", verbosity=0)
    call_command("seed_demo", verbosity=0)
    roles = sorted(User.objects.values_list("role", flat=True))
    assert roles == sorted(Role.values)
    assert User.objects.get(username="annotator").check_password("annotator-demo-pass")


def test_admin_login_page_renders(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
