"""Every API operation, called by six people: who gets in, who is turned away.

The operations are those of the served OpenAPI schema (plus the plain file and health views it
does not list); every id in a path, and every id a request names, is one of researcher A's
objects (:mod:`tests.api_support`). The callers: nobody (anonymous), a user with the
participant role, an annotator (with a task in progress on A's video), a reviewer, A (the
owner) and researcher B (another researcher). A request that the owner makes is a valid one,
so B being turned away means B may not, not that the request was bad.

:data:`RULES` says, per kind of resource, what each of the six gets; :data:`OPERATIONS` gives
every operation its rule. An operation missing from the table fails the test: a new endpoint
must be classified. The rules follow ``docs/architecture.md``, ``docs/security.md``,
``accounts/access.py`` and the apps' ``services/access.py``: researchers own their videos,
datasets, projects, models, explanations' videos, studies and bulk runs; reviewers read every
project, video, model and explanation (and flag and review them) but change nothing of
others'; annotators see their own assignments and the videos of their live tasks; a
participant's study session is reached with its token only, never with an account.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import URLResolver, get_resolver, resolve

from tests.annotation_support import annotation, box_track, playback_mp4
from tests.api_support import MARK, ROLES, World, build_world

pytestmark = pytest.mark.django_db

# What a caller may get (every cell also: never a 5xx).
OK = "ok"  # 2xx
DENY = "deny"  # 401, 403 or 404: turned away before anything happens
REFUSE = "refuse"  # any 4xx: e.g. 400 "no video with this id is visible to you"
STATE = "state"  # a 4xx other than 401/403/404: let in, refused for the state of things
LIST = "list"  # 2xx, and none of A's objects in it
ANY = "any"  # anything but a 5xx
DENIED = (401, 403, 404)

# fmt: off
#: Per kind of resource, what each caller gets:
#:                anonymous participant annotator reviewer owner other
RULES: dict[str, tuple[str, str, str, str, str, str]] = {
    # Open to everyone (see PUBLIC): sign-in, the API root, the participant API (its session
    # token is the key, whoever sends it), health and the schema.
    "public":       (ANY,  ANY,  ANY,  ANY,  ANY,  ANY),
    # One's own account.
    "account":      (DENY, OK,   OK,   OK,   OK,   OK),
    # Reviewers' and researchers' reference data, nobody's private rows.
    "catalogue":    (DENY, DENY, DENY, OK,   OK,   OK),
    # Lists: reviewers see every owner's rows, a researcher only theirs.
    "shared-list":  (DENY, DENY, DENY, OK,   OK,   LIST),
    # Lists of what only researchers have (studies, bulk runs): their own.
    "own-list":     (DENY, DENY, DENY, DENY, OK,   LIST),
    # Creating something of one's own.
    "create":       (DENY, DENY, DENY, DENY, OK,   OK),
    # Creating something from A's things (B may not use them).
    "create-on-a":  (DENY, DENY, DENY, DENY, OK,   REFUSE),
    # Asking for work on A's things: reviewers may too (explanations of any video).
    "request-on-a": (DENY, DENY, DENY, OK,   OK,   REFUSE),
    # Reading A's thing: reviewers read everything.
    "shared-read":  (DENY, DENY, DENY, OK,   OK,   DENY),
    # Watching A's video: also the annotator whose live task it is.
    "watch":        (DENY, DENY, OK,   OK,   OK,   DENY),
    # Changing or reading A's own thing: A alone.
    "owner":        (DENY, DENY, DENY, DENY, OK,   DENY),
    # Judging A's things: reviewers and A (flags, reviews of submitted work, exports).
    "judge":        (DENY, DENY, DENY, OK,   OK,   DENY),
    # The reviewers' queue: reviewers and researchers (theirs only: B gets none of A's work).
    "review-queue": (DENY, DENY, DENY, OK,   OK,   LIST),
    # The annotators' task queue.
    "queue":        (DENY, DENY, OK,   DENY, DENY, DENY),
    # Assignments listed: an annotator's own, a researcher's projects', reviewers' queue.
    "work-list":    (DENY, DENY, OK,   OK,   OK,   LIST),
    # An annotator's assignment in progress: theirs and the project owner's to read.
    "work-read":    (DENY, DENY, OK,   DENY, OK,   DENY),
    # ... and theirs alone to work on.
    "work-own":     (DENY, DENY, OK,   DENY, DENY, DENY),
}
# fmt: on

#: The operations open without an account (documented in docs/security.md).
PUBLIC = {
    "GET /api/v1/",
    "GET /api/v1/auth/csrf/",
    "POST /api/v1/auth/login/",
    "POST /api/v1/auth/logout/",
    "POST /api/v1/auth/token/",
    "POST /api/v1/participate/start/{slug}/",
    "GET /api/v1/participate/state/",
    "POST /api/v1/participate/consent/",
    "POST /api/v1/participate/instructions/",
    "GET /api/v1/participate/trial/",
    "POST /api/v1/participate/answer/",
    "POST /api/v1/participate/return/",
    "GET /api/v1/participate/media/{token}/{stimulus}/video",
    "GET /api/v1/participate/media/{token}/{stimulus}/map",
    "GET /healthz",
    "GET /api/schema/",
    "GET /api/docs/",
}

#: Every operation of the schema, and the plain views under /api/ it does not list.
OPERATIONS: dict[str, str] = {
    "GET /api/v1/": "public",
    # accounts
    "GET /api/v1/auth/csrf/": "public",
    "POST /api/v1/auth/login/": "public",
    "POST /api/v1/auth/logout/": "public",
    "POST /api/v1/auth/token/": "public",
    "GET /api/v1/auth/me/": "account",
    # videos
    "GET /api/v1/videos/": "shared-list",
    "POST /api/v1/videos/": "create",
    "GET /api/v1/videos/labels/": "shared-list",
    "GET /api/v1/videos/limits/": "catalogue",
    "GET /api/v1/videos/{id}/": "watch",
    "GET /api/v1/videos/{id}/timestamps/": "watch",
    "PATCH /api/v1/videos/{id}/": "owner",
    "DELETE /api/v1/videos/{id}/": "owner",
    "POST /api/v1/videos/{id}/reprocess/": "owner",
    "GET /api/v1/videos/{id}/stream/": "watch",
    "GET /api/v1/videos/{id}/poster/": "watch",
    "GET /api/v1/videos/{id}/sprite/": "watch",
    "GET /api/v1/videos/{id}/original/": "watch",
    "GET /api/v1/videos/{id}/waveform/": "watch",
    # annotation projects and tasks
    "GET /api/v1/annotation/projects/": "shared-list",
    "POST /api/v1/annotation/projects/": "create",
    "GET /api/v1/annotation/projects/{id}/": "shared-read",
    "GET /api/v1/annotation/projects/{id}/class-map/": "shared-read",
    "GET /api/v1/annotation/projects/{id}/export/": "shared-read",
    "GET /api/v1/annotation/projects/{id}/ground-truth/": "shared-read",
    "GET /api/v1/annotation/projects/{id}/quality/": "shared-read",
    "PUT /api/v1/annotation/projects/{id}/": "owner",
    "PATCH /api/v1/annotation/projects/{id}/": "owner",
    "DELETE /api/v1/annotation/projects/{id}/": "owner",
    "POST /api/v1/annotation/projects/{id}/import/": "owner",
    "POST /api/v1/annotation/projects/{id}/videos/": "owner",
    "GET /api/v1/annotation/tasks/": "shared-list",
    "GET /api/v1/annotation/tasks/{id}/": "shared-read",
    "GET /api/v1/annotation/tasks/{id}/ground-truth/": "shared-read",
    "DELETE /api/v1/annotation/tasks/{id}/": "owner",
    "PUT /api/v1/annotation/tasks/{id}/gold/": "owner",
    "POST /api/v1/annotation/tasks/{id}/more-annotators/": "owner",
    # annotators' work
    "GET /api/v1/annotation/queue/": "queue",
    "POST /api/v1/annotation/queue/next/": "queue",
    "GET /api/v1/annotation/assignments/": "work-list",
    "GET /api/v1/annotation/assignments/{id}/": "work-read",
    "GET /api/v1/annotation/assignments/{id}/cvat/": "work-read",
    "GET /api/v1/annotation/assignments/{id}/video/": "work-read",
    "PUT /api/v1/annotation/assignments/{id}/draft/": "work-own",
    "POST /api/v1/annotation/assignments/{id}/submit/": "work-own",
    "POST /api/v1/annotation/assignments/{id}/release/": "work-own",
    "POST /api/v1/annotation/assignments/{id}/resume/": "work-own",
    "POST /api/v1/annotation/assignments/{id}/review/": "judge",
    "POST /api/v1/annotation/assignments/{id}/release-review/": "judge",
    "POST /api/v1/annotation/review-queue/next/": "review-queue",
    "POST /api/v1/annotation/tracking/": "work-own",
    "GET /api/v1/annotation/tracking/{id}/": "work-own",
    "POST /api/v1/annotation/tracking/{id}/cancel/": "work-own",
    # models and explanations
    "GET /api/v1/models/": "shared-list",
    "POST /api/v1/models/": "create",
    "GET /api/v1/models/{id}/": "shared-read",
    "PATCH /api/v1/models/{id}/": "owner",
    "DELETE /api/v1/models/{id}/": "owner",
    "GET /api/v1/explanation-methods/": "catalogue",
    "GET /api/v1/explanations/": "shared-list",
    "POST /api/v1/explanations/": "request-on-a",
    "POST /api/v1/explanations/import/": "create-on-a",
    "GET /api/v1/explanations/{id}/": "shared-read",
    "PATCH /api/v1/explanations/{id}/": "owner",
    "GET /api/v1/explanations/{id}/status/": "shared-read",
    "GET /api/v1/explanations/{id}/status/wait/": "shared-read",
    "GET /api/v1/explanations/{id}/map/": "shared-read",
    "GET /api/v1/explanations/{id}/ground-truth/": "shared-read",
    "GET /api/v1/explanations/{id}/exports/": "shared-read",
    "POST /api/v1/explanations/{id}/exports/": "judge",
    "GET /api/v1/explanations/{id}/flags/": "shared-read",
    "POST /api/v1/explanations/{id}/flags/": "judge",
    "GET /api/v1/explanation-flags/": "shared-list",
    "GET /api/v1/explanation-flags/{id}/": "shared-read",
    "PATCH /api/v1/explanation-flags/{id}/": "owner",
    "DELETE /api/v1/explanation-flags/{id}/": "owner",
    "GET /api/v1/explanation-exports/{id}/": "shared-read",
    "GET /api/v1/explanation-exports/{id}/download/": "shared-read",
    "GET /api/v1/bulk-runs/": "own-list",
    "POST /api/v1/bulk-runs/": "create-on-a",
    "GET /api/v1/bulk-runs/{id}/": "owner",
    # scoring
    "GET /api/v1/scoring/scores/": "shared-read",
    "GET /api/v1/scoring/leaderboards/": "shared-read",
    "GET /api/v1/scoring/leaderboards/clips/": "shared-read",
    "GET /api/v1/scoring/leaderboards/export.csv": "shared-read",
    "GET /api/v1/scoring/leaderboards/export.json": "shared-read",
    "GET /api/v1/scoring/scores/export.csv": "shared-read",
    "GET /api/v1/scoring/scores/export.json": "shared-read",
    "GET /api/v1/scoring/projects/{id}/": "shared-read",
    "PUT /api/v1/scoring/projects/{id}/": "owner",
    "PATCH /api/v1/scoring/projects/{id}/": "owner",
    "POST /api/v1/scoring/projects/{id}/recompute/": "owner",
    # studies
    "GET /api/v1/studies/": "own-list",
    "POST /api/v1/studies/": "create",
    "GET /api/v1/studies/{id}/": "owner",
    "PUT /api/v1/studies/{id}/": "owner",
    "PATCH /api/v1/studies/{id}/": "owner",
    "DELETE /api/v1/studies/{id}/": "owner",
    "GET /api/v1/studies/{id}/analysis/": "owner",
    "GET /api/v1/studies/{id}/export/": "owner",
    "POST /api/v1/studies/{id}/preview/": "owner",
    "GET /api/v1/studies/{id}/stimuli/": "owner",
    "POST /api/v1/studies/{id}/stimuli/": "owner",
    "GET /api/v1/studies/{id}/trial-preview/": "owner",
    "POST /api/v1/studies/{id}/returned/": "owner",
    # meta-evaluation (a study's owner, over the scores of their project)
    "GET /api/v1/meta-evaluation/": "owner",
    "GET /api/v1/meta-evaluation/export.csv": "owner",
    "GET /api/v1/meta-evaluation/export.json": "owner",
    "GET /api/v1/studies/{id}/stimulus-selections/": "owner",
    "POST /api/v1/studies/{id}/stimulus-selections/": "owner",
    "GET /api/v1/studies/{id}/dry-runs/": "owner",
    "POST /api/v1/studies/{id}/dry-runs/": "owner",
    "POST /api/v1/participate/start/{slug}/": "public",
    "GET /api/v1/participate/state/": "public",
    "POST /api/v1/participate/consent/": "public",
    "POST /api/v1/participate/instructions/": "public",
    "GET /api/v1/participate/trial/": "public",
    "POST /api/v1/participate/answer/": "public",
    "POST /api/v1/participate/return/": "public",
    "GET /api/v1/participate/media/{token}/{stimulus}/video": "public",
    "GET /api/v1/participate/media/{token}/{stimulus}/map": "public",
    # outside the schema
    "GET /healthz": "public",
    "GET /api/schema/": "public",
    "GET /api/docs/": "public",
}

#: Views under /api/ (and /healthz) that the schema does not list.
NOT_IN_SCHEMA = {
    "GET /api/v1/videos/{id}/stream/",
    "GET /api/v1/videos/{id}/poster/",
    "GET /api/v1/videos/{id}/sprite/",
    "GET /api/v1/videos/{id}/original/",
    "GET /api/v1/videos/{id}/waveform/",
    # The status long-poll (an async view; the same answers as the status URL).
    "GET /api/v1/explanations/{id}/status/wait/",
    "GET /healthz",
    "GET /api/schema/",
    "GET /api/docs/",
}

#: Cells where the rule's answer is not the one to expect, and why.
EXCEPTIONS: dict[str, tuple[dict[str, str], str]] = {
    "POST /api/v1/studies/{id}/stimulus-selections/": (
        {"owner": STATE},
        "A's study has a participant, so its stimuli no longer change: 409",
    ),
    "DELETE /api/v1/videos/{id}/": ({"owner": STATE}, "A's study shows the video: 409"),
    "DELETE /api/v1/models/{id}/": ({"owner": STATE}, "the model has explanations: 409"),
    "DELETE /api/v1/studies/{id}/": (
        {"owner": STATE},
        "participants' trials show its stimuli: 409 (their answers are kept)",
    ),
    "DELETE /api/v1/annotation/tasks/{id}/": (
        {"owner": STATE},
        "annotators worked on the video: 409",
    ),
    "POST /api/v1/models/": (
        {"owner": STATE, "other": REFUSE},
        "no checkpoint directory here: 400 (registering: test_explanations_*)",
    ),
    "GET /healthz": (
        dict.fromkeys(ROLES, "health"),
        "200 or 503: the answer is the health verdict (no workers run here)",
    ),
}


@dataclass
class Call:
    query: dict = field(default_factory=dict)
    json: object = None
    multipart: dict | None = None


def requests(world: World) -> dict[str, Call]:
    """The request each operation is called with: one the owner may make."""
    w = world
    drawn = annotation(box_track((0, (10, 10, 60, 60)), (19, (20, 20, 80, 80))))
    return {
        "POST /api/v1/auth/login/": Call(json={"username": "nobody", "password": "wrong"}),
        "POST /api/v1/auth/token/": Call(json={"username": "nobody", "password": "wrong"}),
        "POST /api/v1/videos/": Call(
            multipart={
                "file": SimpleUploadedFile(
                    "new.mp4", playback_mp4().read_bytes(), content_type="video/mp4"
                ),
                "title": "uploaded",
            }
        ),
        "PATCH /api/v1/videos/{id}/": Call(json={"title": f"renamed-{MARK}"}),
        "POST /api/v1/annotation/projects/": Call(json={"name": "new", "labels": ["jump"]}),
        "PUT /api/v1/annotation/projects/{id}/": Call(
            json={"name": w.project.name, "labels": ["jump", "wave"], "overlap": 2}
        ),
        "PATCH /api/v1/annotation/projects/{id}/": Call(json={"instructions": "Box it."}),
        "GET /api/v1/annotation/projects/{id}/class-map/": Call(query={"model": w.model.pk}),
        "GET /api/v1/annotation/projects/{id}/export/": Call(query={"type": "coco"}),
        "GET /api/v1/annotation/projects/{id}/ground-truth/": Call(query={"video": w.video.pk}),
        "POST /api/v1/annotation/projects/{id}/import/": Call(
            multipart={
                "file": SimpleUploadedFile("truth.xml", w.cvat_xml, content_type="text/xml"),
                "video": w.video.pk,
                "target": "ground_truth",
            }
        ),
        "POST /api/v1/annotation/projects/{id}/videos/": Call(json={"videos": [w.video.pk]}),
        "PUT /api/v1/annotation/tasks/{id}/gold/": Call(json=drawn),
        "POST /api/v1/annotation/tasks/{id}/more-annotators/": Call(json={"count": 1}),
        "POST /api/v1/annotation/queue/next/": Call(json={"project": w.project.pk}),
        "PUT /api/v1/annotation/assignments/{id}/draft/": Call(
            json={**drawn, "version": w.in_progress.version}
        ),
        "POST /api/v1/annotation/assignments/{id}/submit/": Call(json=drawn),
        "POST /api/v1/annotation/assignments/{id}/review/": Call(json={"decision": "accept"}),
        "POST /api/v1/annotation/tracking/": Call(
            json={"assignment": w.in_progress.pk, "frame": 0, "box": [10, 10, 50, 50], "count": 2}
        ),
        "POST /api/v1/models/": Call(json={"name": "new", "checkpoint_dir": "/nonexistent"}),
        "PATCH /api/v1/models/{id}/": Call(json={"description": "changed"}),
        "POST /api/v1/explanations/": Call(
            json={"video": w.video.pk, "model": w.model.pk, "method": "staa"}
        ),
        "POST /api/v1/explanations/import/": Call(
            multipart={
                "file": SimpleUploadedFile("map.npz", w.npz),
                "video": w.video.pk,
                "method": "external",
            }
        ),
        "PATCH /api/v1/explanations/{id}/": Call(json={"name": "renamed"}),
        "GET /api/v1/explanations/{id}/ground-truth/": Call(query={"project": w.project.pk}),
        "POST /api/v1/explanations/{id}/exports/": Call(json={"kind": "mp4"}),
        # A status other than the row's answers at once (no waiting in the table).
        "GET /api/v1/explanations/{id}/status/wait/": Call(
            query={"status": "running", "progress": 0.5, "timeout": 1}
        ),
        "POST /api/v1/explanations/{id}/flags/": Call(json={"reason": "other", "comment": "odd"}),
        "PATCH /api/v1/explanation-flags/{id}/": Call(json={"resolved": True}),
        "POST /api/v1/bulk-runs/": Call(
            json={"dataset": w.dataset.pk, "model": w.model.pk, "methods": ["staa"]}
        ),
        "GET /api/v1/scoring/scores/": Call(query={"explanation": w.explanation.pk}),
        "GET /api/v1/scoring/leaderboards/": Call(query={"project": w.project.pk}),
        "GET /api/v1/scoring/leaderboards/clips/": Call(
            query={"project": w.project.pk, "row": "staa"}
        ),
        "GET /api/v1/scoring/leaderboards/export.csv": Call(query={"project": w.project.pk}),
        **{
            f"GET /api/v1/meta-evaluation/{suffix}": Call(
                query={"study": w.study.pk, "project": w.project.pk}
            )
            for suffix in ("", "export.csv", "export.json")
        },
        "GET /api/v1/scoring/leaderboards/export.json": Call(query={"project": w.project.pk}),
        "GET /api/v1/scoring/scores/export.csv": Call(query={"project": w.project.pk}),
        "GET /api/v1/scoring/scores/export.json": Call(query={"project": w.project.pk}),
        "PUT /api/v1/scoring/projects/{id}/": Call(json={"tolerance": 10}),
        "PATCH /api/v1/scoring/projects/{id}/": Call(json={"tolerance": 12}),
        "POST /api/v1/studies/": Call(
            json={"title": "new", "slug": "new-study", "trial_kinds": ["rating"]}
        ),
        "PUT /api/v1/studies/{id}/": Call(
            json={
                "title": w.study.title,
                "slug": w.study.slug,
                "status": "open",
                "trial_kinds": ["rating", "pairwise"],
            }
        ),
        "PATCH /api/v1/studies/{id}/": Call(json={"title": f"study-{MARK}-2"}),
        "POST /api/v1/studies/{id}/stimuli/": Call(json={"explanations": [w.explanation.pk]}),
        "POST /api/v1/studies/{id}/dry-runs/": Call(json={"participants": {"random": 1}}),
        "GET /api/v1/studies/{id}/trial-preview/": Call(query={"kind": "rating"}),
        "POST /api/v1/studies/{id}/returned/": Call(json={"participant": w.session.participant_id}),
        "POST /api/v1/studies/{id}/stimulus-selections/": Call(
            json={
                "strategy": "random",
                "project": w.project.pk,
                "methods": [w.explanation.method],
                "count": 1,
            }
        ),
        "POST /api/v1/participate/start/{slug}/": Call(json={"params": {"participant": "p-2"}}),
        "POST /api/v1/participate/consent/": Call(json={"agree": True}),
        "POST /api/v1/participate/answer/": Call(
            json={"index": 0, "response_id": "r-1", "answer": {"rating": 3}}
        ),
    }


def path_for(template: str, world: World) -> str:
    """The template with A's objects in it."""
    w = world
    ids = {
        "/api/v1/annotation/assignments/": (
            w.submitted.pk
            if template.endswith(("/review/", "/release-review/"))
            else w.in_progress.pk
        ),
        "/api/v1/annotation/projects/": w.project.pk,
        "/api/v1/annotation/tasks/": w.task.pk,
        "/api/v1/annotation/tracking/": w.extra["tracking_job"].pk,
        "/api/v1/bulk-runs/": w.bulk_run.pk,
        "/api/v1/explanation-exports/": w.export.pk,
        "/api/v1/explanation-flags/": w.flag.pk,
        "/api/v1/explanations/": w.explanation.pk,
        "/api/v1/models/": w.model.pk,
        "/api/v1/scoring/projects/": w.project.pk,
        "/api/v1/studies/": w.study.pk,
        "/api/v1/videos/": w.video.pk,
    }
    path = template.replace("{token}", w.session.token).replace("{stimulus}", w.stimulus.token)
    path = path.replace("{slug}", w.study.slug)
    if "{id}" in path:
        prefix = path.split("{id}")[0]
        assert prefix in ids, f"{template}: say which of A's objects its id names"
        path = path.replace("{id}", str(ids[prefix]))
    return path


def schema_operations(client: Client) -> dict[str, dict]:
    schema = client.get("/api/schema/?format=json").json()
    return {
        f"{method.upper()} {path}": operation
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in ("get", "put", "post", "patch", "delete")
    }


def api_route_names() -> set[str]:
    """The names of every URL pattern under /api/ and /healthz."""
    names: set[str] = set()

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif route.startswith("api/") or route == "healthz":
                names.add(pattern.name)

    walk(get_resolver().url_patterns, "")
    return names


def expected(label: str, role: str) -> str:
    rule = RULES[OPERATIONS[label]][ROLES.index(role)]
    overrides, _why = EXCEPTIONS.get(label, ({}, ""))
    return overrides.get(role, rule)


def verdict(expectation: str, status: int, body: bytes) -> str | None:
    """What is wrong with the answer (None: nothing)."""
    if expectation == "health":
        return None if status in (200, 503) else "expected 200 or 503"
    if status >= 500:
        return "server error"
    if expectation == OK and not 200 <= status < 300:
        return "expected 2xx"
    if expectation == LIST:
        if not 200 <= status < 300:
            return "expected 2xx"
        if MARK.encode() in body:
            return "lists A's private objects"
    if expectation == DENY and status not in DENIED:
        return "expected 401/403/404"
    if expectation == REFUSE and not 400 <= status < 500:
        return "expected a 4xx"
    if expectation == STATE and (status in DENIED or not 400 <= status < 500):
        return "expected a 4xx other than 401/403/404"
    return None


def send(client: Client, label: str, world: World, role: str, call: Call):
    method, template = label.split(" ", 1)
    path = path_for(template, world)
    if call.query:
        path += "?" + urlencode(call.query)
    headers = {}
    token = world.tokens.get(role)
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Token {token}"
    if "/participate/" in template:
        headers["HTTP_X_STUDY_SESSION"] = world.session.token
    if call.multipart is not None:
        for value in call.multipart.values():
            if hasattr(value, "seek"):
                value.seek(0)
        return client.post(path, call.multipart, **headers)
    if call.json is not None:
        return client.generic(
            method, path, json.dumps(call.json), content_type="application/json", **headers
        )
    return client.generic(method, path, **headers)


def _content(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


# --- the table itself -------------------------------------------------------------------------


def test_the_table_classifies_every_operation_of_the_schema(client):
    in_schema = schema_operations(client)
    unclassified = sorted(set(in_schema) - set(OPERATIONS))
    assert not unclassified, (
        "Operations without a permission rule: add each to OPERATIONS (and its request to "
        "requests() if it needs one):\n  " + "\n  ".join(unclassified)
    )
    listed = set(in_schema) | NOT_IN_SCHEMA
    assert not sorted(set(OPERATIONS) - listed), "OPERATIONS names operations that do not exist"
    assert not sorted(NOT_IN_SCHEMA & set(in_schema)), "NOT_IN_SCHEMA lists schema operations"


def test_every_api_route_is_in_the_table():
    placeholders = {"{id}": "1", "{token}": "t", "{stimulus}": "s", "{slug}": "s"}
    covered = set()
    for label in OPERATIONS:
        path = label.split(" ", 1)[1]
        for name, value in placeholders.items():
            path = path.replace(name, value)
        covered.add(resolve(path).url_name)
    missing = sorted(api_route_names() - covered)
    assert not missing, (
        f"URL patterns under /api/ that no operation of the table reaches: {missing}"
    )


def test_only_the_documented_operations_are_public(client):
    public = {label for label, rule in OPERATIONS.items() if rule == "public"}
    assert public == PUBLIC
    for rule, cells in RULES.items():
        if rule not in ("public", "account"):
            assert cells[:2] == (DENY, DENY), f"{rule}: anonymous and participants are turned away"
    # The schema says the same: only public operations may be called without credentials.
    for label, operation in schema_operations(client).items():
        open_to_all = {} in operation.get("security", [])
        assert open_to_all == (label in PUBLIC), f"{label}: security in the schema"


def test_researcher_b_gets_nothing_of_a_by_id():
    for label, rule in OPERATIONS.items():
        if "{id}" in label and rule != "public":
            assert expected(label, "other") in (DENY, REFUSE), label


def test_a_public_model_is_shared_read_only():
    """Models are the one thing researchers share: B reads A's public model, changes nothing."""
    from tests.annotation_support import user
    from wherewhen.accounts.models import Role
    from wherewhen.explanations.models import RegisteredModel

    owner, other = user("pub-owner", Role.RESEARCHER), user("pub-other", Role.RESEARCHER)
    model = RegisteredModel.objects.create(
        owner=owner,
        name="shared",
        architecture="timesformer",
        checkpoint_dir="/nonexistent",
        labels=["jump"],
        input_spec={"num_frames": 4, "image_size": 32, "patch_size": 8},
        fingerprint="0" * 64,
        public=True,
    )
    client = Client()
    client.force_login(other)
    assert client.get(f"/api/v1/models/{model.pk}/").status_code == 200
    assert model.pk in [m["id"] for m in client.get("/api/v1/models/").json()["results"]]
    patched = client.patch(
        f"/api/v1/models/{model.pk}/", {"public": False}, content_type="application/json"
    )
    assert patched.status_code == 403
    assert client.delete(f"/api/v1/models/{model.pk}/").status_code == 403
    model.refresh_from_db()
    assert model.public


# --- the matrix -------------------------------------------------------------------------------


def test_permission_matrix(settings):
    settings.LOGIN_THROTTLE_RATE = "100000/min"
    world = build_world()
    calls = requests(world)
    assert not set(calls) - set(OPERATIONS), "requests() names unknown operations"
    client = Client()
    problems = []
    for label in OPERATIONS:
        call = calls.get(label, Call())
        for role in ROLES:
            expectation = expected(label, role)
            with transaction.atomic():
                response = send(client, label, world, role, call)
                body = _content(response)
                transaction.set_rollback(True)
            wrong = verdict(expectation, response.status_code, body)
            if wrong:
                text = body[:200].decode("utf-8", "replace").replace("\n", " ")
                problems.append(
                    f"{label:55} {role:11} {response.status_code} ({wrong}; "
                    f"rule {OPERATIONS[label]!r}): {text}"
                )
    assert not problems, f"{len(problems)} cell(s) wrong:\n" + "\n".join(problems)
