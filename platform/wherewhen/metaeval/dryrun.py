"""A dry run of a study: simulated participants answer it through the real participant API, so
a researcher sees the analysis and the meta-evaluation before launching.

The run never touches the study itself: it copies the design and stimuli into a separate study
(slug ``<slug>-dry-run``, status open, title marked "dry run"), replacing the previous copy, and
every simulated participant goes through ``/api/v1/participate/`` in-process (Django's test
client against the project's own URLs): start, consent, instructions, then for every trial GET
the trial and POST an answer, exactly as the participant page does. The copy keeps every
setting except the speed checks: simulated answers arrive within milliseconds, so the copy's
``min_response_ms`` and ``time_limit_seconds`` are 0.

**Policies** (how a simulated participant answers; seeded, one ``random.Random`` per person):

* ``metric`` -- answers follow a stored metric of the project (``metric``, default the spatial
  pointing game) through its percentile rank ``q`` among the study's stimuli: a rating of about
  ``1 + q (points - 1)`` with noise, a pairwise choice of A with probability
  ``1 / (1 + exp(-6 (q_A - q_B)))``, a correct forward simulation or distinction with
  probability ``0.2 + 0.7 q`` (``q`` of the predicted class's explanation). Attention checks
  are passed. Where the study asks for confidence, it follows the chance of being right:
  ``round(1 + 4 p)`` with noise (so the calibration table shows a rising accuracy).
* ``random`` -- uniform answers and confidence; attention checks passed.
* ``careless`` -- uniform answers and failed attention checks (shows the exclusions, or the
  screen-out where the study screens out).
* ``returning`` -- answers like ``random`` and gives the study back halfway (shows the
  ``returned`` sessions and their Latin-square rows going to the next participants).

Pointing trials get a click in the middle of the frame at the middle of the clip.
"""

from __future__ import annotations

import math
import random
import uuid
from collections import defaultdict
from typing import Any

from django.conf import settings
from django.db import transaction
from django.test import Client

from wherewhen.core import exceptions
from wherewhen.metaeval.models import DryRun
from wherewhen.metaeval.services import METRICS, metric_values, owned_project
from wherewhen.scoring.models import ExplanationScore
from wherewhen.studies import services as study_services
from wherewhen.studies.models import Session, Study, Trial

POLICIES = ("metric", "random", "careless", "returning")
MAX_PARTICIPANTS = 200
SUFFIX = "-dry-run"


def parse(body: dict[str, Any]) -> dict[str, Any]:
    """``{"participants": {"metric": 8, "random": 2}, "seed": 0, "project": id,
    "metric": "spatial"}`` checked; ``project`` is needed by the ``metric`` policy."""
    if not isinstance(body, dict):
        raise exceptions.Invalid({"detail": "Send the dry run as a JSON object."})
    counts = body.get("participants")
    if not isinstance(counts, dict) or not counts:
        raise exceptions.Invalid(
            {"participants": 'Say how many of each policy, e.g. {"metric": 8, "random": 2}.'}
        )
    clean: dict[str, int] = {}
    for policy, n in counts.items():
        if policy not in POLICIES:
            raise exceptions.Invalid({"participants": f"Policies: {', '.join(POLICIES)}."})
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise exceptions.Invalid({"participants": "Counts are whole numbers (0 or more)."})
        clean[policy] = n
    total = sum(clean.values())
    if not 1 <= total <= MAX_PARTICIPANTS:
        raise exceptions.Invalid(
            {"participants": f"Simulate between 1 and {MAX_PARTICIPANTS} participants."}
        )
    seed = body.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**31:
        raise exceptions.Invalid({"seed": "The seed is a whole number from 0 to 2^31 - 1."})
    metric = body.get("metric") or "spatial"
    if metric not in METRICS:
        raise exceptions.Invalid({"metric": f"Name a stored metric: {', '.join(METRICS)}."})
    return {"participants": clean, "seed": seed, "metric": metric, "project": body.get("project")}


def _copy(study: Study) -> Study:
    """A fresh open copy of ``study``'s design and stimuli (the previous copy removed)."""
    slug = f"{study.slug[: 64 - len(SUFFIX)]}{SUFFIX}"
    old = Study.objects.filter(slug=slug, owner=study.owner).first()
    if old is not None:
        Session.objects.filter(study=old).delete()
        old.delete()
    elif Study.objects.filter(slug=slug).exists():
        raise exceptions.Conflict(f"The slug {slug!r} is taken by another study.")
    fields = {
        f.name: getattr(study, f.name)
        for f in Study._meta.concrete_fields
        if f.name not in ("id", "slug", "title", "status", "created_at", "updated_at")
    }
    fields.update(
        slug=slug,
        title=f"{study.title} (dry run)"[:200],
        status=Study.Status.OPEN,
        min_response_ms=0,
        time_limit_seconds=0,
    )
    fields["owner"] = study.owner
    fields["pointing_project"] = study.pointing_project
    copy = Study.objects.create(**fields)
    for stimulus in study.stimuli.select_related("explanation", "video"):  # in their order
        study_services.add_stimuli(
            copy, [stimulus.explanation], allow_sparse=stimulus.allow_sparse
        )  # each as the researcher accepted it
    return copy


def _quality(copy: Study, project, metric: str) -> dict[str, float]:
    """Each stimulus token's percentile rank on ``metric`` (0.5 where it has no value)."""
    stimuli = list(copy.stimuli.all())
    values: dict[str, float] = {}
    if project is not None:
        scores = {
            s.explanation_id: s
            for s in ExplanationScore.objects.filter(
                project=project,
                reference=ExplanationScore.Reference.CONSENSUS,
                explanation_id__in=[s.explanation_id for s in stimuli],
            ).select_related("explanation")
        }
        for s in stimuli:
            score = scores.get(s.explanation_id)
            if score is not None and not (score.not_scored or score.error):
                value = metric_values(score).get(metric)
                if value is not None:
                    values[s.token] = value
    ordered = sorted(values.values())
    out = {}
    for s in stimuli:
        if s.token in values and len(ordered) > 1:
            below = sum(v < values[s.token] for v in ordered)
            ties = sum(v == values[s.token] for v in ordered)
            out[s.token] = (below + (ties - 1) / 2) / (len(ordered) - 1)
        else:
            out[s.token] = 0.5
    return out


def _answer(trial: dict, policy: str, rng: random.Random, quality: dict[str, float], truth):
    """The policy's answer, with a confidence rating where the trial asks for one."""
    answer, p_right = _choose(trial, policy, rng, quality, truth)
    prompt = trial.get("confidence")
    if prompt:
        low, high = int(prompt["min"]), int(prompt["max"])
        if policy == "metric" and p_right is not None:
            value = low + p_right * (high - low) + rng.gauss(0, 0.7)
            answer["confidence"] = int(min(high, max(low, round(value))))
        else:
            answer["confidence"] = rng.randint(low, high)
    return answer


def _choose(trial: dict, policy: str, rng: random.Random, quality: dict[str, float], truth):
    """The answer and (where it can be right or wrong) the chance the policy gave it of being
    right."""
    kind = trial["kind"]
    choices = [c["value"] for c in trial["choices"]]
    stimuli = [s["id"] for s in trial["stimuli"]]
    if kind == "attention":
        if policy == "careless":
            wrong = [c for c in choices if c != truth.get(("check", trial["index"]))]
            return {"choice": rng.choice(wrong or choices)}, None
        return {"choice": truth.get(("check", trial["index"]), choices[0])}, None
    if kind == "rating":
        points = int(trial["likert_points"])
        if policy != "metric":
            return {"rating": rng.randint(1, points)}, None
        q = quality.get(stimuli[0], 0.5)
        value = 1 + q * (points - 1) + rng.gauss(0, 0.8)
        return {"rating": int(min(points, max(1, round(value))))}, None
    if kind == "pairwise":
        # in the explanations' order, not the screen's, so a seed gives the same choices
        first, second = sorted(stimuli, key=lambda t: truth.get(("order", t), 0))
        if policy != "metric":
            return {"choice": first if rng.random() < 0.5 else second}, None
        qa, qb = quality.get(first, 0.5), quality.get(second, 0.5)
        p = 1 / (1 + math.exp(-6 * (qa - qb)))
        return {"choice": first if rng.random() < p else second}, None
    if kind in ("forward", "distinction"):
        right = truth.get(("label", stimuli[0]))
        labels = [int(c) for c in choices]
        # a distinction trial's quality is that of the predicted class's explanation
        shown = [t for t in stimuli if truth.get(("target", t)) == right] or stimuli
        if policy == "metric" and right is not None:
            p = 0.2 + 0.7 * quality.get(shown[0], 0.5)
            if rng.random() < p:
                return {"label": right}, p
            others = [x for x in labels if x != right]
            return {"label": rng.choice(others or labels)}, p
        return {"label": rng.choice(labels)}, 1 / max(1, len(labels))
    if kind == "pointing":
        s = trial["stimuli"][0]
        return {
            "x": (s.get("width") or 2) / 2,
            "y": (s.get("height") or 2) / 2,
            "time": (s.get("duration") or 0) / 2,
        }, None
    raise exceptions.Invalid({"detail": f"The dry run cannot answer a {kind!r} trial."})


def _client() -> Client:
    host = next((h for h in settings.ALLOWED_HOSTS if h and "*" not in h), "localhost")
    return Client(SERVER_NAME=host.lstrip("."), HTTP_HOST=host.lstrip("."))


def _call(client: Client, method: str, path: str, token: str | None, body: Any = None):
    headers = {"HTTP_X_STUDY_SESSION": token} if token else {}
    secure = bool(getattr(settings, "SECURE_SSL_REDIRECT", False))
    if method == "GET":
        response = client.get(path, secure=secure, **headers)
    else:
        response = client.post(
            path, body or {}, content_type="application/json", secure=secure, **headers
        )
    if response.status_code >= 400:
        detail = response.json().get("detail", "") if response.content else ""
        raise exceptions.Conflict(
            f"The participant API refused the dry run at {path} ({response.status_code}): {detail}"
        )
    return response.json()


def _participant(client: Client, copy: Study, pid: str, policy, rng, quality, truth) -> int:
    state = _call(
        client,
        "POST",
        f"/api/v1/participate/start/{copy.slug}/",
        None,
        {"params": {"PROLIFIC_PID": pid}},
    )
    token = state["session"]
    _call(client, "POST", "/api/v1/participate/consent/", token, {"agree": True})
    _call(client, "POST", "/api/v1/participate/instructions/", token)
    answered = 0
    total = None
    for _ in range(10_000):
        state = _call(client, "GET", "/api/v1/participate/state/", token)
        if state.get("stage") != "trials":
            break
        total = total or state["progress"]["total"]
        if policy == "returning" and answered >= total // 2:
            _call(client, "POST", "/api/v1/participate/return/", token)
            break
        trial = _call(client, "GET", "/api/v1/participate/trial/", token)
        if trial["kind"] == "attention":
            # the simulator knows the design's answer, as a careful participant would
            item = Trial.objects.get(session__token=token, index=trial["index"]).check_item
            truth = {**truth, ("check", trial["index"]): str(item.get("answer", ""))}
        body = {
            "index": trial["index"],
            "response_id": uuid.UUID(int=rng.getrandbits(128)).hex,
            "answer": _answer(trial, policy, rng, quality, truth),
            "client_ms": rng.randint(700, 4000),
            "viewport": {"width": 1280, "height": 800},
        }
        _call(client, "POST", "/api/v1/participate/answer/", token, body)
        answered += 1
    return answered


def dry_run(user, study: Study, body: dict[str, Any], *, limit: int = MAX_PARTICIPANTS) -> DryRun:
    """Simulate participants through the participant API on a copy of ``study`` (see the module
    docstring) and record the run."""
    params = parse(body)
    if sum(params["participants"].values()) > limit:
        raise exceptions.Invalid({"participants": f"Simulate at most {limit} participants here."})
    project = None
    if params["project"] not in (None, ""):
        project = owned_project(user, params["project"])
    elif params["participants"].get("metric"):
        raise exceptions.Invalid(
            {"project": "The metric policy follows a project's scores: name the project."}
        )
    study_services.validate_design(study)
    with transaction.atomic():
        copy = _copy(study)
    quality = _quality(copy, project, params["metric"])
    truth: dict[Any, Any] = {}
    for s in copy.stimuli.select_related("explanation__model"):
        truth[("label", s.token)] = study_services.predicted_label(s)
        truth[("order", s.token)] = s.explanation_id
        truth[("target", s.token)] = s.explanation.explained_target
    client = _client()
    rng = random.Random(params["seed"])
    answered: dict[str, int] = defaultdict(int)
    k = 0
    for policy in POLICIES:
        for _ in range(params["participants"].get(policy, 0)):
            person = random.Random(rng.getrandbits(64))
            pid = f"dry-run-{policy}-{k}"
            k += 1
            answered[policy] += _participant(client, copy, pid, policy, person, quality, truth)
    run = DryRun.objects.create(
        study=study,
        copy=copy,
        project=project,
        params=params,
        seed=params["seed"],
        answers=dict(answered),
    )
    return run


def payload(run: DryRun) -> dict[str, Any]:
    copy = run.copy
    project = f"&project={run.project_id}" if run.project_id else ""
    return {
        "id": run.pk,
        "study": run.study_id,
        "copy": {"id": copy.pk, "slug": copy.slug, "title": copy.title} if copy else None,
        "project": run.project_id,
        "params": run.params,
        "seed": run.seed,
        "answers": run.answers,
        "analysis_url": f"/api/v1/studies/{copy.pk}/analysis/" if copy else None,
        "meta_evaluation_url": (
            f"/meta-evaluation?study={copy.pk}{project}" if copy and run.project_id else None
        ),
        "created_at": run.created_at.isoformat(),
    }
