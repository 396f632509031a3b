"""One small world of real objects for the whole-API tests (fuzzing and the permission matrix).

Researcher A (``owner``) owns everything: a ready video with its files, a dataset, an
annotation project with the video (one annotator's work in progress, another's submitted), a
private model, done explanations with a flag and a finished export, a bulk run and an open
study with a participant session. Researcher B (``other``), a reviewer, the two annotators
and a user with the participant role own nothing. Every name, title and comment of A's things
carries :data:`MARK`, so a list answered to someone else can be searched for A's rows.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.conf import settings
from rest_framework.authtoken.models import Token

from tests.annotation_support import annotation, box_track, make_project, make_video, user
from tests.scoring_support import make_explanation, peak_map
from wherewhen.accounts.models import Role, User
from wherewhen.annotations import services as annotation_services
from wherewhen.annotations.models import Assignment, Project, Task, TrackingJob
from wherewhen.explanations.models import BulkRun, Explanation, Export, Flag, RegisteredModel
from wherewhen.studies import services as study_services
from wherewhen.studies.models import Session, Stimulus, Study
from wherewhen.videos.models import Dataset, Video

#: In every name of researcher A's objects (and nowhere else).
MARK = "zqowneramark"

ROLES = ("anonymous", "participant", "annotator", "reviewer", "owner", "other")


@dataclass
class World:
    users: dict[str, User]
    tokens: dict[str, str]
    video: Video
    dataset: Dataset
    project: Project
    task: Task
    in_progress: Assignment  # annotator's, lease live
    submitted: Assignment  # annotator2's, waiting for review
    model: RegisteredModel
    explanation: Explanation
    flag: Flag
    export: Export
    bulk_run: BulkRun
    study: Study
    session: Session
    stimulus: Stimulus
    cvat_xml: bytes
    npz: bytes
    extra: dict = field(default_factory=dict)

    def auth_headers(self, role: str) -> dict[str, str]:
        """Request headers of ``role`` (``Authorization: Token ...``; none when anonymous)."""
        token = self.tokens.get(role)
        return {"Authorization": f"Token {token}"} if token else {}


def npz_bytes(duration: float) -> bytes:
    """A valid explanation file for a video of ``duration`` seconds."""
    rng = np.random.default_rng(7)
    buf = io.BytesIO()
    np.savez_compressed(
        buf,
        map=rng.random((4, 5, 5)).astype(np.float32),
        timestamps=np.linspace(0.0, duration / 2, 4),
        temporal=np.array([0.1, 0.9, 0.4, 0.2], dtype=np.float32),
    )
    return buf.getvalue()


def _file(name: str, content: bytes) -> str:
    path = Path(settings.MEDIA_ROOT) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return name


def build_world() -> World:
    users = {
        "participant": user("pat-participant", Role.PARTICIPANT),
        "annotator": user("ann-annotator", Role.ANNOTATOR),
        "reviewer": user("rev-reviewer", Role.REVIEWER),
        "owner": user("own-researcher-a", Role.RESEARCHER),
        "other": user("oth-researcher-b", Role.RESEARCHER),
    }
    annotator2 = user("ann2-annotator", Role.ANNOTATOR)
    tokens = {role: Token.objects.create(user=u).key for role, u in users.items()}
    owner = users["owner"]

    video = make_video(owner, title=f"clip-{MARK}", label=f"label-{MARK}", with_file=True)
    folder = Path(video.original.name).parent.as_posix()
    video.poster = _file(f"{folder}/poster.jpg", b"\xff\xd8\xff\xe0poster")
    video.sprite = _file(f"{folder}/sprite.jpg", b"\xff\xd8\xff\xe0sprite")
    video.waveform = _file(f"{folder}/waveform.json", b'{"bins_per_second": 1, "peaks": []}')
    video.has_audio = True
    _file(video.original.name, b"original bytes")
    video.save(update_fields=["poster", "sprite", "waveform", "has_audio"])
    dataset = Dataset.objects.create(owner=owner, name=f"set-{MARK}")
    dataset.videos.add(video)

    project = make_project(owner, name=f"project-{MARK}", overlap=2, max_overlap=3)
    annotation_services.add_videos(project, [video], label="jump")
    task = project.tasks.get()
    in_progress = annotation_services.next_task(users["annotator"], project)
    tracking_job = TrackingJob.objects.create(
        assignment=in_progress,
        direction="forward",
        start_frame=0,
        end_frame=2,
        box=[10, 10, 50, 50],
        status=TrackingJob.Status.DONE,
        in_process=True,
    )
    mine = annotation_services.next_task(annotator2, project)
    submitted = annotation_services.submit(
        mine.pk,
        annotator2,
        annotation(box_track((0, (10, 10, 60, 60)), (19, (20, 20, 80, 80)))),
        mine.version,
    )
    cvat = annotation_services.export_assignment_cvat(
        annotation_services.with_content(Assignment.objects.all()).get(pk=submitted.pk)
    )

    model = RegisteredModel.objects.create(
        owner=owner,
        name=f"model-{MARK}",
        architecture="timesformer",
        checkpoint_dir="/nonexistent",
        labels=["jump", "wave"],
        input_spec={"num_frames": 4, "image_size": 32, "patch_size": 8},
        fingerprint="0" * 64,
        public=False,
    )
    explanation = make_explanation(video, peak_map([(0, 0), (1, 1), (2, 2), (3, 3)]), model=model)
    second = make_explanation(
        video, peak_map([(3, 3), (2, 2), (1, 1), (0, 0)]), model=model, method="rollout"
    )
    flag = Flag.objects.create(explanation=explanation, author=owner, comment=f"flag-{MARK}")
    export = Export.objects.create(
        explanation=explanation,
        kind=Export.Kind.PNG,
        options={},
        options_hash="e" * 64,
        status=Export.Status.DONE,
        file=_file(f"explanations/exports/{MARK}.png", b"\x89PNG\r\n\x1a\nstrip"),
        size_bytes=16,
        requested_by=owner,
    )
    bulk_run = BulkRun.objects.create(owner=owner, dataset=dataset, model=model, methods=["staa"])
    bulk_run.explanations.add(explanation)

    study = Study.objects.create(
        owner=owner,
        title=f"study-{MARK}",
        slug=f"study-{MARK}",
        status=Study.Status.OPEN,
        trial_kinds=["rating", "pairwise"],
        trials_per_participant=4,
        practice_trials=0,
        attention_every=0,
        min_response_ms=0,
        consent_text="I agree.",
        instructions_text="Look and answer.",
        completion_code=MARK,
    )
    study_services.add_stimuli(study, [explanation, second])
    session, _ = study_services.start_session(study, {"participant": "p-world"})
    first = session.trials.order_by("index").first()
    return World(
        users=users,
        tokens=tokens,
        video=video,
        dataset=dataset,
        project=project,
        task=task,
        in_progress=in_progress,
        submitted=submitted,
        model=model,
        explanation=explanation,
        flag=flag,
        export=export,
        bulk_run=bulk_run,
        study=study,
        session=session,
        stimulus=first.stimulus_a,
        cvat_xml=cvat.encode("utf-8"),
        npz=npz_bytes(float(video.duration)),
        extra={
            "second_explanation": second,
            "annotator2": annotator2,
            "tracking_job": tracking_job,
        },
    )
