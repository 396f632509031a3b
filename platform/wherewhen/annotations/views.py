"""Thin DRF views over :mod:`wherewhen.annotations.services`: projects, tasks, the annotators'
queue and assignments (assisted tracking and the review queue have modules of their own). Its
size is one concern: the HTTP face of those four resources, each view a few lines."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from wherewhen.accounts.permissions import DoesAnnotationWork, IsAnnotator, IsResearcher, IsReviewer
from wherewhen.annotations import serializers as s
from wherewhen.annotations import services
from wherewhen.annotations.models import Assignment, Project, Task
from wherewhen.core import media
from wherewhen.core.exceptions import Conflict
from wherewhen.core.parsers import SafeJSONParser
from wherewhen.core.schema import INVALID
from wherewhen.core.streaming import media_response
from wherewhen.videos.models import Video

DetailSerializer = inline_serializer("AnnotationDetail", {"detail": serializers.CharField()})
ERRORS = {
    400: INVALID,
    403: DetailSerializer,
    404: DetailSerializer,
}


class CanReadProjects(IsReviewer):
    """Researchers (their projects) and reviewers (read-only) may look at projects."""

    message = "Only researchers and reviewers can see annotation projects."


def _file_response(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class ProjectViewSet(viewsets.ModelViewSet):
    """Annotation projects: a researcher's own; reviewers may read every project."""

    serializer_class = s.AnnotationProjectSerializer
    pagination_class = None

    def get_permissions(self):
        if self.action in ("list", "retrieve", "quality", "ground_truth", "class_map", "export"):
            return [CanReadProjects()]
        return [IsResearcher()]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Project.objects.none()
        return services.projects_visible_to(self.request.user).prefetch_related("annotators")

    def perform_create(self, serializer):
        serializer.save(owner=self.request.user)

    @extend_schema(
        request=s.AnnotationAddVideosSerializer,
        responses={201: s.AnnotationTaskSerializer(many=True), **ERRORS},
        summary="Add videos (by id, or a whole dataset) to the project",
    )
    @action(detail=True, methods=["post"])
    def videos(self, request: Request, pk=None) -> Response:
        project = self.get_object()
        body = s.AnnotationAddVideosSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        data = body.validated_data
        created = services.add_videos(
            project,
            data["video_objects"],
            data["dataset_object"],
            label=data["label"],
            gold=data["gold"],
        )
        return Response(
            s.AnnotationTaskSerializer(created, many=True).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        responses={200: s.AnnotationQualitySerializer, **ERRORS}, summary="Quality report"
    )
    @action(detail=True, methods=["get"])
    def quality(self, request: Request, pk=None) -> Response:
        return Response(services.project_quality(self.get_object()))

    @extend_schema(
        parameters=[OpenApiParameter("video", int, required=True)],
        responses={200: s.VideoGroundTruthSerializer, **ERRORS},
        summary="Ground truth of one video (consensus or gold answer)",
    )
    @action(detail=True, methods=["get"], url_path="ground-truth")
    def ground_truth(self, request: Request, pk=None) -> Response:
        project = self.get_object()
        video = _video_of_project(project, request.query_params.get("video"))
        return Response(services.ground_truth_for_video(project, video))

    @extend_schema(
        parameters=[OpenApiParameter("model", int, required=True)],
        responses={200: s.ClassMapSerializer, **ERRORS},
        summary="How a registered model's classes map to the project's labels",
    )
    @action(detail=True, methods=["get"], url_path="class-map")
    def class_map(self, request: Request, pk=None) -> Response:
        from wherewhen.explanations import services as explanation_services

        project = self.get_object()
        raw = request.query_params.get("model")
        try:
            model_id = int(raw)
        except (TypeError, ValueError):
            raise exceptions.ValidationError(
                {"model": ["Give the registered model's id (?model=)."]}
            ) from None
        model = explanation_services.visible_models(request.user).filter(pk=model_id).first()
        if model is None:
            raise exceptions.NotFound(f"No registered model with id {model_id} is visible to you.")
        names = [str(name) for name in (model.labels or [])]
        return Response(
            {
                "model": model.pk,
                "labels": services.project_labels(project),
                "classes": services.class_choices(project, names),
            }
        )

    @extend_schema(
        parameters=[s.AnnotationExportQuerySerializer],
        responses={
            (200, "application/json"): OpenApiTypes.OBJECT,
            (200, "text/csv"): OpenApiTypes.STR,
            (200, "application/zip"): OpenApiTypes.BINARY,
            **ERRORS,
        },
        summary="Export (COCO-style JSON, CSV, or a zip of CVAT for video 1.1 files)",
    )
    @action(detail=True, methods=["get"])
    def export(self, request: Request, pk=None) -> HttpResponse:
        project = self.get_object()
        query = s.AnnotationExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        exported = services.export_project(project, data["type"], data["source"], data["frames"])
        return _file_response(exported.content, exported.content_type, exported.filename)

    @extend_schema(
        request={"multipart/form-data": s.CvatImportSerializer},
        responses={201: s.CvatImportResultSerializer, **ERRORS},
        summary="Import a CVAT for video 1.1 file as ground truth or as a gold answer",
        description=(
            "Answers with the stored assignment and a `summary` of the file: what it read "
            "(tracks, boxes, keyframes, occluded and outside flags, attributes, labels, segments) "
            "and every change made to keep each box as it is on its frame. Anything that cannot "
            "be represented is a 400 naming it, and nothing is written."
        ),
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="import",
        url_name="import",
        parser_classes=[MultiPartParser, FormParser],
    )
    def import_file(self, request: Request, pk=None) -> Response:
        project = self.get_object()
        body = s.CvatImportSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        video = _video_of_project(project, body.validated_data["video"])
        imported = services.import_cvat(
            project, video, body.validated_data["file"].read(), body.validated_data["target"]
        )
        return Response(
            {
                **s.AnnotationAssignmentSerializer(imported.assignment).data,
                "summary": imported.summary,
            },
            status=status.HTTP_201_CREATED,
        )


def _video_of_project(project: Project, video_id) -> Video:
    try:
        video_id = int(video_id)
    except (TypeError, ValueError):
        raise exceptions.ValidationError({"video": ["Give the id of a video."]}) from None
    task = Task.objects.filter(project=project, video_id=video_id).select_related("video").first()
    if task is None:
        raise exceptions.ValidationError({"video": [f"Video {video_id} is not in this project."]})
    return task.video


@extend_schema_view(
    list=extend_schema(
        parameters=[OpenApiParameter("project", int, description="Only this project")]
    )
)
class TaskViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The videos of projects (one task each), with their progress and agreement."""

    serializer_class = s.AnnotationTaskSerializer

    def get_permissions(self):
        if self.action in ("list", "retrieve", "ground_truth"):
            return [CanReadProjects()]
        return [IsResearcher()]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Task.objects.none()
        qs = services.tasks_visible_to(self.request.user).select_related("project", "video")
        if self.action in ("destroy", "more_annotators", "gold"):
            qs = (
                qs.filter(project__owner=self.request.user)
                if not self.request.user.is_superuser
                else qs
            )
        project = self.request.query_params.get("project")
        if project:
            if not project.isdigit():
                raise exceptions.ValidationError({"project": ["Give a project id."]})
            qs = qs.filter(project_id=int(project))
        return qs.order_by("id")

    def perform_destroy(self, instance: Task) -> None:
        if instance.assignments.filter(source=Assignment.Source.CROWD).exists():
            raise Conflict("Annotators have worked on this video; it cannot be removed.")
        instance.delete()

    @extend_schema(
        request=s.MoreAnnotatorsSerializer,
        responses={200: s.AnnotationTaskSerializer, **ERRORS},
        summary="Let more annotators work on this video",
    )
    @action(detail=True, methods=["post"], url_path="more-annotators")
    def more_annotators(self, request: Request, pk=None) -> Response:
        body = s.MoreAnnotatorsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        task = services.request_more_annotators(self.get_object(), body.validated_data["count"])
        return Response(s.AnnotationTaskSerializer(task).data)

    @extend_schema(
        request=s.AnnotationSerializer,
        responses={200: s.AnnotationTaskSerializer, **ERRORS},
        summary="Set the known answer of a gold item",
    )
    @action(detail=True, methods=["put"])
    def gold(self, request: Request, pk=None) -> Response:
        task = self.get_object()
        body = s.AnnotationWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.set_gold_answer(task, body.annotation())
        task.refresh_from_db()
        return Response(s.AnnotationTaskSerializer(task).data)

    @extend_schema(
        responses={200: s.VideoGroundTruthSerializer, **ERRORS},
        summary="Ground truth of this video (consensus or gold answer)",
    )
    @action(detail=True, methods=["get"], url_path="ground-truth")
    def ground_truth(self, request: Request, pk=None) -> Response:
        task = self.get_object()
        return Response(services.ground_truth_for_video(task.project, task.video))


class QueueViewSet(viewsets.ViewSet):
    """The annotator's task queue."""

    permission_classes = [IsAnnotator]

    @extend_schema(
        responses={200: s.AnnotationQueueProjectSerializer(many=True), 403: DetailSerializer},
        summary="Projects open to you",
    )
    def list(self, request: Request) -> Response:
        user = request.user
        projects = services.open_projects_for(user).order_by("created_at", "id")
        rows = []
        for project in projects:
            mine = Assignment.objects.filter(task__project=project, annotator=user)
            rows.append(
                {
                    "id": project.pk,
                    "name": project.name,
                    "instructions": project.instructions,
                    "labels": project.labels,
                    "available": services.work_available(user, project),
                    "mine": mine.count(),
                }
            )
        return Response(rows)

    @extend_schema(
        request=s.NextTaskRequestSerializer,
        responses={200: s.NextTaskSerializer, 403: DetailSerializer, 404: DetailSerializer},
        summary="Get your next task (resumes the one in progress)",
    )
    @action(detail=False, methods=["post"])
    def next(self, request: Request) -> Response:
        body = s.NextTaskRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        project = None
        if body.validated_data["project"] is not None:
            project = Project.objects.filter(pk=body.validated_data["project"]).first()
            if project is None:
                raise exceptions.NotFound("There is no such project.")
        assignment = services.next_task(request.user, project)
        if assignment is None:
            return Response({"assignment": None, "message": "No tasks are waiting for you now."})
        assignment = services.assignments_visible_to(request.user).get(pk=assignment.pk)
        return Response(
            {
                "assignment": s.AnnotationAssignmentDetailSerializer(assignment).data,
                "message": "Here is your next task.",
            }
        )


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=[c for c, _ in Assignment.Status.choices]),
            OpenApiParameter("project", int),
            OpenApiParameter("task", int),
        ]
    )
)
class AssignmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Assignments: an annotator's own, a researcher's projects', reviewers' review queue."""

    permission_classes = [DoesAnnotationWork]
    parser_classes = [SafeJSONParser]

    def get_serializer_class(self):
        return (
            s.AnnotationAssignmentDetailSerializer
            if self.action != "list"
            else s.AnnotationAssignmentSerializer
        )

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Assignment.objects.none()
        qs = services.assignments_visible_to(self.request.user)
        params = self.request.query_params
        if self.action == "list":
            for name in ("project", "task"):
                value = params.get(name)
                if value:
                    if not value.isdigit():
                        raise exceptions.ValidationError({name: [f"Give a {name} id."]})
                    qs = qs.filter(
                        **{"task__project_id" if name == "project" else "task_id": int(value)}
                    )
            wanted = params.get("status")
            if wanted:
                if wanted not in Assignment.Status.values:
                    raise exceptions.ValidationError({"status": [f"Unknown status '{wanted}'."]})
                qs = qs.filter(status=wanted)
            qs = qs.order_by("submitted_at" if wanted == "submitted" else "-created_at", "id")
        return qs

    def _detail(self, assignment_id: int) -> Response:
        assignment = services.with_content(services.assignments_visible_to(self.request.user)).get(
            pk=assignment_id
        )
        return Response(s.AnnotationAssignmentDetailSerializer(assignment).data)

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        assignment = self.get_object()
        return self._detail(assignment.pk)

    @extend_schema(
        request=s.AnnotationWriteSerializer,
        responses={200: s.DraftSavedSerializer, 409: DetailSerializer, **ERRORS},
        summary="Autosave the draft (renews the lease)",
    )
    @action(detail=True, methods=["put"])
    def draft(self, request: Request, pk=None) -> Response:
        body = s.AnnotationWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        assignment = services.save_draft(
            _pk(pk), request.user, body.annotation(), body.validated_data.get("version")
        )
        return Response(
            {
                "version": assignment.version,
                "draft_saved_at": assignment.draft_saved_at,
                "lease_expires_at": assignment.lease_expires_at,
            }
        )

    @extend_schema(
        request=s.AnnotationSubmitSerializer,
        responses={200: s.AnnotationAssignmentDetailSerializer, 409: DetailSerializer, **ERRORS},
        summary="Submit the annotation (the body, or the saved draft when empty)",
    )
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk=None) -> Response:
        body = s.AnnotationSubmitSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        assignment = services.submit(
            _pk(pk), request.user, body.annotation(), body.validated_data.get("version")
        )
        return self._detail(assignment.pk)

    @extend_schema(
        request=None,
        responses={200: s.AnnotationAssignmentDetailSerializer, 409: DetailSerializer, **ERRORS},
        summary="Continue: renew the lease, reopen after a rejection, or take back an expired task",
    )
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk=None) -> Response:
        assignment = services.resume(_pk(pk), request.user)
        return self._detail(assignment.pk)

    @extend_schema(
        request=None,
        responses={200: s.AnnotationAssignmentSerializer, 409: DetailSerializer, **ERRORS},
        summary="Give the task back to the pool (the draft is kept)",
    )
    @action(detail=True, methods=["post"])
    def release(self, request: Request, pk=None) -> Response:
        assignment = services.release(_pk(pk), request.user)
        return Response(s.AnnotationAssignmentSerializer(assignment).data)

    @extend_schema(
        request=s.AnnotationReviewSerializer,
        responses={200: s.AnnotationAssignmentSerializer, 409: DetailSerializer, **ERRORS},
        summary="Accept or reject a submitted annotation",
    )
    @action(detail=True, methods=["post"])
    def review(self, request: Request, pk=None) -> Response:
        body = s.AnnotationReviewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        assignment = services.review(
            _pk(pk), request.user, data["decision"], data["comment"], notes=data["notes"]
        )
        return Response(s.AnnotationAssignmentSerializer(assignment).data)

    @extend_schema(
        request=None,
        responses={200: s.AnnotationAssignmentSerializer, **ERRORS},
        summary="Give an annotation you took from the review queue back to it",
    )
    @action(detail=True, methods=["post"], url_path="release-review")
    def release_review(self, request: Request, pk=None) -> Response:
        assignment = services.release_review(_pk(pk), request.user)
        return Response(s.AnnotationAssignmentSerializer(assignment).data)

    @extend_schema(
        responses={(200, "application/xml"): OpenApiTypes.STR, **ERRORS},
        summary="This annotation as CVAT for video 1.1 XML",
    )
    @action(detail=True, methods=["get"])
    def cvat(self, request: Request, pk=None) -> HttpResponse:
        assignment = services.with_content(self.get_queryset()).get(pk=self.get_object().pk)
        xml = services.export_assignment_cvat(assignment)
        name = f"assignment-{assignment.pk}-cvat.xml"
        return _file_response(xml.encode("utf-8"), "application/xml; charset=utf-8", name)

    @extend_schema(
        responses={
            (200, "video/mp4"): OpenApiTypes.BINARY,
            (206, "video/mp4"): OpenApiTypes.BINARY,
            **ERRORS,
        },
        summary="Stream the assignment's video (supports Range requests)",
    )
    @action(detail=True, methods=["get"])
    def video(self, request: Request, pk=None) -> HttpResponse:
        assignment = self.get_object()
        if assignment.annotator_id == request.user.id and not services.annotator_may_watch(
            assignment
        ):
            raise exceptions.PermissionDenied(
                "This task is no longer yours (you gave it back or its lease ran out). "
                "Open it again from your tasks to watch its video."
            )
        video = assignment.task.video
        if not video.playback or not media.exists(video.playback.name):
            raise exceptions.NotFound("This video has no playable file yet.")
        seed = f"{video.content_hash[:16]}-annotate-"
        return media_response(request, video.playback.name, "video/mp4", etag_seed=seed)


def _pk(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise exceptions.NotFound("There is no such assignment.") from None
