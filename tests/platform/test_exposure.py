"""Clean ground truth: who was exposed to which videos' explanations (review player views,
study previews, projects that show model predictions), recorded once and cheaply, and the
consensus leaving out the annotations of exposed annotators (a project setting, on by
default), with the count reported to scoring and the leaderboard."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.annotation_support import annotation, box_track
from tests.scoring_support import (
    box_from,
    ground_truth,
    make_explanation,
    make_project,
    make_video,
    peak_map,
    user,
)
from tests.studies_support import make_study
from wherewhen.accounts.models import Role
from wherewhen.annotations import services as annotation_services
from wherewhen.annotations.models import Exposure, Project
from wherewhen.scoring import leaderboards
from wherewhen.scoring import services as scoring_services
from wherewhen.scoring.models import ExplanationScore

pytestmark = pytest.mark.django_db

A = (20, 20, 60, 60)
B = (24, 20, 64, 60)  # IoU with A 0.82: one object, so two annotators fuse into the median


def client_for(person) -> APIClient:
    client = APIClient()
    client.force_authenticate(person)
    return client


def annotate(project, person, box) -> int:
    """``person`` takes the project's next task and submits one box on frame 0 (accepted at
    once: the project auto-accepts)."""
    assignment = annotation_services.next_task(person, project)
    assert assignment is not None
    annotation_services.submit(assignment.pk, person, annotation(box_track((0, box))))
    return assignment.pk


@pytest.fixture
def rita():
    return user("rita", Role.RESEARCHER)


def frame0(project, video):
    truth = annotation_services.ground_truth_for_video(project, video)
    return truth, truth["frames"][0]["boxes"]


def test_review_player_views_record_one_exposure_idempotently(rita):
    video = make_video(rita)
    e = make_explanation(video, peak_map([(1, 1)] * 4))
    reviewer = user("rev", Role.REVIEWER)
    api = client_for(reviewer)
    for _ in range(2):  # repeated views (and double writes) change nothing and never fail
        assert api.get(f"/api/v1/explanations/{e.pk}/").status_code == 200
        assert api.get(f"/api/v1/explanations/{e.pk}/map/").status_code == 200
        assert api.get(f"/api/v1/explanations/{e.pk}/ground-truth/").status_code == 200
    rows = list(Exposure.objects.filter(user=reviewer))
    assert [(r.video_id, r.source) for r in rows] == [(video.pk, "review")]
    first = rows[0].first_seen
    annotation_services.record_exposure(reviewer, video.pk, "review", timezone.now())
    assert Exposure.objects.get(user=reviewer).first_seen == first
    # a list of explanations is not a view of one; nobody anonymous is recorded
    Exposure.objects.all().delete()
    assert api.get("/api/v1/explanations/").status_code == 200
    assert APIClient().get(f"/api/v1/explanations/{e.pk}/map/").status_code in (401, 403)
    assert not Exposure.objects.exists()


def test_a_project_that_shows_predictions_exposes_its_annotators(rita):
    video = make_video(rita)
    shown = make_project(rita, [video], show_predictions=True, auto_accept=True)
    hidden = make_project(rita, [video], auto_accept=True)
    ann = user("ann", Role.ANNOTATOR)
    annotation_services.next_task(ann, hidden)
    assert not Exposure.objects.exists()
    annotation_services.next_task(ann, shown)
    row = Exposure.objects.get()
    assert (row.user_id, row.video_id, row.source) == (ann.pk, video.pk, "project")


def test_previewing_a_study_exposes_the_researcher_to_its_videos(rita, settings):
    study = make_study(rita, settings.MEDIA_ROOT)
    response = client_for(rita).post(f"/api/v1/studies/{study.pk}/preview/")
    assert response.status_code == 200
    seen = set(Exposure.objects.filter(user=rita, source="study").values_list("video", flat=True))
    shown = set(study.stimuli.values_list("video", flat=True))
    assert seen and seen <= shown


def test_an_exposed_annotators_box_is_dropped_and_counted(rita, monkeypatch):
    monkeypatch.setattr(scoring_services.recompute, "send_recompute", lambda ids: None)
    video = make_video(rita)
    project = make_project(rita, [video], overlap=2, auto_accept=True)
    assert project.exclude_exposed  # on by default
    ann, bob = user("ann", Role.ANNOTATOR), user("bob", Role.ANNOTATOR)
    annotate(project, ann, A)
    # bob saw an explanation of this video (in the review player) before annotating it
    annotation_services.record_exposure(bob, video.pk, "review")
    bob_assignment = annotate(project, bob, B)

    truth, boxes = frame0(project, video)
    assert boxes == [list(A)]  # ann's box alone: bob's is left out
    assert truth["annotations"] == 1 and truth["excluded_annotations"] == 1

    e = make_explanation(video, peak_map([(1, 1)] * 4))
    scoring_services.recompute_now(project)
    score = ExplanationScore.objects.get(explanation=e, reference="consensus")
    assert score.excluded_annotations == 1 and score.annotations_used == 1
    # bob's annotation is not a reference of its own either
    assert not ExplanationScore.objects.filter(assignment_id=bob_assignment).exists()
    board = leaderboards.leaderboard(rita, project)
    assert board["ground_truth"] == {
        "exclude_exposed": True,
        "annotations_used": 1,
        "excluded_annotations": 1,
        "videos_with_exclusions": 1,
    }
    assert board["stale_scores"] == 0

    # turning the setting off restores bob's box: the consensus is the median of both
    project.exclude_exposed = False
    project.save()
    project = Project.objects.get(pk=project.pk)
    truth, boxes = frame0(project, video)
    assert boxes == [[22.0, 20.0, 62.0, 60.0]]
    assert truth["annotations"] == 2 and truth["excluded_annotations"] == 0
    # the scores computed with bob left out are now stale, and say why
    board = leaderboards.leaderboard(rita, project)
    assert board["stale_scores"] == 1
    assert board["ground_truth"]["excluded_annotations"] == 0
    scoring_services.recompute_now(project)
    score = ExplanationScore.objects.get(explanation=e, reference="consensus")
    assert score.excluded_annotations == 0 and score.annotations_used == 2
    assert leaderboards.leaderboard(rita, project)["stale_scores"] == 0


def test_an_exposure_after_submitting_does_not_taint_the_annotation(rita):
    video = make_video(rita)
    project = make_project(rita, [video], overlap=2, auto_accept=True)
    ann, bob = user("ann", Role.ANNOTATOR), user("bob", Role.ANNOTATOR)
    annotate(project, ann, A)
    annotate(project, bob, B)
    later = timezone.now() + timedelta(minutes=5)
    annotation_services.record_exposure(bob, video.pk, "review", later)
    truth, boxes = frame0(project, video)
    assert truth["excluded_annotations"] == 0 and boxes == [[22.0, 20.0, 62.0, 60.0]]


def test_imported_ground_truth_and_gold_are_never_excluded(rita):
    video = make_video(rita)
    project = make_project(rita, [video])
    ground_truth(project, video, [box_from(0, A)])
    annotation_services.record_exposure(rita, video.pk, "review")
    truth, boxes = frame0(project, video)
    assert truth["excluded_annotations"] == 0 and boxes == [list(A)]
