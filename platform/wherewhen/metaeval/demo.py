"""Demo data: a blinded study (pairwise + forward simulation) over the synthetic benchmark's
STAA / STAA+ / random explanations of the bundled model, with a dry run of simulated
participants, so the meta-evaluation page shows real numbers.

The explanations are computed by the gpu worker after start-up (this asks for them) and scored
when they finish; the study is built as soon as the last clip's three explanations are scored
(:mod:`wherewhen.metaeval.signals`), or by a later ``seed_demo`` (every ``manage.py up`` runs it)
that finds at least three clips ready. Idempotent: the study is found by its slug.
"""

from __future__ import annotations

from wherewhen.accounts.models import User
from wherewhen.annotations.demo import BENCHMARK_PROJECT
from wherewhen.annotations.models import Project
from wherewhen.core import exceptions
from wherewhen.explanations import services as explanation_services
from wherewhen.explanations.demo import BUNDLED_NAME
from wherewhen.explanations.models import Explanation, RegisteredModel
from wherewhen.metaeval import dryrun, selection
from wherewhen.scoring.models import ExplanationScore
from wherewhen.studies.models import Study
from wherewhen.videos.models import Video

DEMO_STUDY = "demo-which-map-helps"
METHODS = ("random", "staa", "staa_plus")
PARTICIPANTS = {"metric": 12, "random": 2, "careless": 1}


def _say(stdout, text: str) -> None:
    if stdout is not None:
        stdout.write(text)


def ready_clips(project: Project, model: RegisteredModel) -> list[int]:
    """Benchmark clips whose three explanations are done and scored in ``project``."""
    videos = Video.objects.filter(annotation_tasks__project=project).distinct()
    done = Explanation.objects.filter(
        video__in=videos, model=model, method__in=METHODS, status=Explanation.Status.DONE
    )
    scored = set(
        ExplanationScore.objects.filter(
            project=project, reference=ExplanationScore.Reference.CONSENSUS, explanation__in=done
        ).values_list("explanation_id", flat=True)
    )
    methods: dict[int, set[str]] = {}
    for e in done:
        if e.pk in scored:
            methods.setdefault(e.video_id, set()).add(e.method)
    return sorted(v for v, found in methods.items() if found == set(METHODS))


def build_demo_study(owner, project: Project, model: RegisteredModel, stdout=None) -> Study | None:
    """The demo study with its dry run, once the explanations are ready (else None)."""
    study = Study.objects.filter(slug=DEMO_STUDY).first()
    if study is not None and study.dry_runs.exists():
        return study
    clips = ready_clips(project, model)
    if len(clips) < 3:
        _say(
            stdout,
            f"Demo study: {len(clips)} benchmark clip(s) have STAA, STAA+ and random "
            "explanations done and scored; it is built by the next start (or manage.py "
            "seed_demo) once the gpu worker has computed them.",
        )
        return None
    if study is None:
        study = Study.objects.create(
            owner=owner,
            title="Which highlighting helps? (demo)",
            slug=DEMO_STUDY,
            blinded=True,
            trial_kinds=["pairwise", "forward"],
            trials_per_participant=min(18, 4 * len(clips)),
            practice_trials=1,
            attention_every=6,
            attention_checks=[
                {
                    "prompt": "To show you are reading, pick 'square'.",
                    "choices": ["circle", "square", "triangle"],
                    "answer": "square",
                }
            ],
            instructions_text="Watch each clip with its highlighting and answer the question.",
            seed=0,
        )
        selection.select_stimuli(
            owner,
            study,
            {
                "strategy": "random",
                "project": project.pk,
                "methods": list(METHODS),
                "model": model.pk,
                "count": len(clips),
                "seed": 0,
                # STAA+ keeps only the key frames (2 or 3 of 8 on the benchmark clips): its
                # maps are shown as they are, which is what the study compares
                "allow_sparse": True,
            },
        )
    run = dryrun.dry_run(
        owner,
        study,
        {"participants": PARTICIPANTS, "project": project.pk, "metric": "spatial", "seed": 0},
    )
    _say(
        stdout,
        f"Demo study '{study.title}': {study.stimuli.count()} stimuli, dry run with "
        f"{sum(PARTICIPANTS.values())} simulated participants (meta-evaluation: "
        f"{dryrun.payload(run)['meta_evaluation_url']}).",
    )
    return study


def build_when_ready(project_id: int) -> Study | None:
    """Build the demo study when ``project_id`` is the demo benchmark and every clip is ready."""
    project = Project.objects.filter(
        pk=project_id, name=BENCHMARK_PROJECT, owner__username="researcher"
    ).first()
    if project is None or Study.objects.filter(slug=DEMO_STUDY, dry_runs__isnull=False).exists():
        return None
    model = RegisteredModel.objects.filter(name=BUNDLED_NAME).first()
    if model is None:
        return None
    clips = Video.objects.filter(annotation_tasks__project=project).distinct().count()
    if len(ready_clips(project, model)) < clips:
        return None
    return build_demo_study(project.owner, project, model)


def seed_demo(stdout=None) -> Study | None:
    owner = User.objects.filter(username="researcher").first()
    project = Project.objects.filter(owner=owner, name=BENCHMARK_PROJECT).first() if owner else None
    model = RegisteredModel.objects.filter(name=BUNDLED_NAME).first()
    if owner is None or project is None or model is None:
        _say(stdout, "Demo study: needs the demo researcher, the benchmark and the bundled model.")
        return None
    for video in Video.objects.filter(annotation_tasks__project=project).distinct():
        for method in METHODS:
            try:
                explanation_services.request_explanation(
                    owner, video=video, model=model, method=method
                )
            except exceptions.DomainError as exc:
                _say(stdout, f"Demo study: no {method} explanation of {video.title}: {exc}")
    return build_demo_study(owner, project, model, stdout)
