"""Schemathesis over the whole API schema, in process, on PostgreSQL: no server error and no
answer that breaks the schema it documents, for a researcher, an annotator and an anonymous
participant.

The schema is read from the running Django app (``/api/schema/``) and every operation gets a
fixed, small number of generated requests (derandomized, so a run is repeatable): valid ones
(positive) and invalid ones (negative). About half of the valid requests name real rows (the
objects of :mod:`tests.api_support`) in their path, their id filters and the id fields of their
body, so they reach the views' real work instead of stopping at "not found". Each request runs in a savepoint that is rolled back, so
every request meets the same database. Every problem found is listed at the end, once per
operation and kind of problem, with a command that reproduces it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.hooks import HookDispatcher, HookScope
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from tests.api_support import World, build_world

pytestmark = [pytest.mark.django_db, pytest.mark.postgres, pytest.mark.slow]

#: Generated requests per operation (and role): valid ones, then invalid ones.
EXAMPLES = {GenerationMode.POSITIVE: 15, GenerationMode.NEGATIVE: 8}
CHECKS = [
    schemathesis.checks.not_a_server_error,
    response_schema_conformance,
    content_type_conformance,
]
ROLES = ["owner", "annotator", "anonymous"]


@pytest.fixture(scope="module")
def api_schema(django_db_blocker):
    with django_db_blocker.unblock():
        return schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


@pytest.fixture
def in_process_requests() -> Iterator[None]:
    """Requests sent straight to the WSGI app run inside the test's transaction: keep Django
    from closing that connection at the start and end of each request (its test client does
    the same)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def real_path_parameters(path: str, world: World) -> dict[str, object]:
    """Path parameters that name the world's objects, for the operation at ``path``."""
    if "/participate/media/" in path:
        return {"token": world.session.token, "stimulus": world.stimulus.token}
    if "/participate/start/" in path:
        return {"slug": world.study.slug}
    if "{id}" not in path:
        return {}
    objects = {
        "/annotation/assignments/": (
            world.submitted if path.endswith("/review/") else world.in_progress
        ),
        "/annotation/projects/": world.project,
        "/annotation/tasks/": world.task,
        "/annotation/tracking/": world.extra["tracking_job"],
        "/bulk-runs/": world.bulk_run,
        "/explanation-exports/": world.export,
        "/explanation-flags/": world.flag,
        "/explanations/": world.explanation,
        "/models/": world.model,
        "/scoring/projects/": world.project,
        "/studies/": world.study,
        "/videos/": world.video,
    }
    for prefix, obj in objects.items():
        if f"/api/v1{prefix}{{id}}" in path:
            return {"id": obj.pk}
    raise AssertionError(f"{path}: say which object of the world its id names")


def real_query(operation, world: World) -> dict[str, object]:
    """Id filters the operation takes, set to the world's objects."""
    ids = {
        "project": world.project.pk,
        "video": world.video.pk,
        "model": world.model.pk,
        "explanation": world.explanation.pk,
        "dataset": world.dataset.pk,
        "task": world.task.pk,
    }
    names = {parameter.name for parameter in operation.query}
    return {name: value for name, value in ids.items() if name in names}


def real_body_hooks(world: World) -> HookDispatcher:
    """Hooks that give every generated JSON or form body a twin naming the world's objects
    in its id fields (``video``, ``model``, ``explanations``, ...)."""
    ids = {
        "video": world.video.pk,
        "videos": [world.video.pk],
        "model": world.model.pk,
        "dataset": world.dataset.pk,
        "project": world.project.pk,
        "pointing_project": world.project.pk,
        "explanations": [world.explanation.pk],
    }

    def flatmap_body(context, body):
        if not isinstance(body, dict) or not ids.keys() & body.keys():
            return st.just(body)
        real = {**body, **{name: ids[name] for name in ids.keys() & body.keys()}}
        return st.sampled_from([body, real])

    hooks = HookDispatcher(scope=HookScope.TEST)
    hooks.register_hook_with_name(flatmap_body, "flatmap_body")
    return hooks


def strategy_for(operation, world: World, mode: GenerationMode):
    if mode is GenerationMode.NEGATIVE:
        return operation.as_strategy(generation_mode=mode)
    hooks = real_body_hooks(world)
    anything = operation.as_strategy(generation_mode=mode, hooks=hooks)
    real = real_path_parameters(operation.path, world)
    query = real_query(operation, world)
    if not real and not query:
        return anything
    return st.one_of(
        anything,
        operation.as_strategy(
            generation_mode=mode, hooks=hooks, path_parameters=real or None, query=query or None
        ),
    )


def _describe(case, response, exc: BaseException) -> tuple[str, str]:
    """(what went wrong in one line, the details to show)."""
    failures = getattr(exc, "exceptions", None) or [exc]
    titles = sorted({getattr(f, "title", type(f).__name__) for f in failures})
    status = response.status_code if response is not None else "no response"
    kind = f"{status}: {'; '.join(titles)}"
    body = response.content[:400].decode("utf-8", "replace") if response is not None else ""
    messages = "\n".join(str(getattr(f, "message", f))[:800] for f in failures)
    try:
        curl = case.as_curl_command()
    except Exception:  # the report is best effort
        curl = repr(case)
    return kind, f"{messages}\n  body: {body}\n  reproduce: {curl}"


def send_generated(strategy, count: int, headers: dict, record) -> int:
    """Send ``count`` requests drawn from ``strategy``; ``record(case, response, exc)`` each
    one (``exc`` None when it passed). Returns how many were sent."""
    sent = 0

    @settings(
        max_examples=count,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case):
        nonlocal sent
        sent += 1
        response = None
        with transaction.atomic():
            try:
                response = case.call(headers=headers)
                case.validate_response(response, checks=CHECKS, headers=headers)
            except (Exception, BaseExceptionGroup) as exc:  # check failures come as a group
                record(case, response, exc)
            else:
                record(case, response, None)
            transaction.set_rollback(True)

    run()
    return sent


def fuzz_operation(
    operation, world: World, headers: dict, problems: dict, reached: set[str]
) -> int:
    """Send the operation's generated requests; record what fails, and in ``reached`` the
    operation when one of them succeeded (2xx). Returns the count sent."""
    sent = 0
    for mode, count in EXAMPLES.items():
        label = (operation.label, mode.value)

        def record(case, response, exc, label=label):
            if exc is None:
                if 200 <= response.status_code < 300:
                    reached.add(operation.label)
                return
            kind, details = _describe(case, response, exc)
            problems.setdefault((*label, kind), details)

        try:
            sent += send_generated(strategy_for(operation, world, mode), count, headers, record)
        except (Exception, BaseExceptionGroup) as exc:  # e.g. a schema it cannot satisfy
            if isinstance(exc, Unsatisfiable) and mode is GenerationMode.NEGATIVE:
                continue  # nothing to make invalid (no parameters, no body)
            problems.setdefault((*label, "generation"), f"{type(exc).__name__}: {exc}")
    return sent


@pytest.mark.parametrize("role", ROLES)
def test_every_operation_survives_generated_requests(
    role, api_schema, in_process_requests, settings
):
    settings.LOGIN_THROTTLE_RATE = "100000/min"  # the fuzzer signs in far more than people do
    world = build_world()
    headers = {**world.auth_headers(role), "X-Study-Session": world.session.token}
    problems: dict[tuple[str, str, str], str] = {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 90, "the schema lost operations"
    started = time.monotonic()
    reached: set[str] = set()
    sent = sum(fuzz_operation(op, world, headers, problems, reached) for op in operations)
    elapsed = time.monotonic() - started
    report = "\n\n".join(
        f"{label} [{mode}] {kind}\n  {details}"
        for (label, mode, kind), details in sorted(problems.items())
    )
    assert not problems, (
        f"{len(problems)} problem(s) in {sent} requests as {role} ({elapsed:.0f} s):\n\n{report}"
    )
    if role == "owner":
        # The requests reach the views' real work, not only their refusals.
        missed = sorted(op.label for op in operations if op.label not in reached)
        assert len(reached) >= 0.6 * len(operations), f"never a 2xx: {missed}"
