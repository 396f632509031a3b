"""API root, OpenAPI schema (kept in step with the frontend's copy), docs, SPA routing."""

import json
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]


def test_api_root_lists_links(client):
    body = client.get("/api/v1/").json()
    assert body["version"] == "v1"
    assert body["links"]["auth-login"].endswith("/api/v1/auth/login/")
    assert body["links"]["schema"].endswith("/api/schema/")


def test_schema_is_openapi3_and_lists_auth_paths(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/auth/login/" in schema["paths"]


def test_interactive_docs_are_served_offline(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn" not in html.lower()


def test_committed_schema_matches_the_code(tmp_path):
    """frontend/openapi.json (source of the typed client) must equal the generated schema."""
    out = tmp_path / "openapi.json"
    call_command("spectacular", "--format", "openapi-json", "--file", str(out))
    committed = json.loads((ROOT / "frontend" / "openapi.json").read_text())
    assert json.loads(out.read_text()) == committed, "run `make schema` and commit the result"


@pytest.mark.parametrize("path", ["/", "/login", "/library", "/annotate/42"])
def test_browser_routes_serve_the_app_with_csrf_cookie(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert b'<div id="root">' in response.content
    assert "csrftoken" in response.cookies


def test_unknown_api_path_is_json_404_not_the_app(client):
    response = client.get("/api/v1/does-not-exist/")
    assert response.status_code == 404
