"""The reviewers' queue API, under /api/v1/annotation/review-queue/: take the next submitted
annotation to review, leased to whoever takes it (giving it back is
``POST /annotation/assignments/{id}/release-review/``)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from wherewhen.accounts.permissions import IsReviewer
from wherewhen.annotations import serializers as s
from wherewhen.annotations import services

DetailSerializer = inline_serializer("ReviewQueueDetail", {"detail": serializers.CharField()})


class ReviewQueueViewSet(viewsets.ViewSet):
    """The reviewers' queue: the next submitted annotation, leased to whoever takes it."""

    permission_classes = [IsReviewer]

    @extend_schema(
        request=s.NextReviewRequestSerializer,
        responses={200: s.NextTaskSerializer, 403: DetailSerializer, 404: DetailSerializer},
        summary="Take the next annotation to review (resumes the one you hold)",
    )
    @action(detail=False, methods=["post"])
    def next(self, request: Request) -> Response:
        body = s.NextReviewRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        project = None
        if body.validated_data["project"] is not None:
            project = (
                services.projects_visible_to(request.user)
                .filter(pk=body.validated_data["project"])
                .first()
            )
            if project is None:
                raise exceptions.NotFound("There is no such project.")
        assignment = services.next_review(request.user, project)
        if assignment is None:
            return Response(
                {"assignment": None, "message": "Nothing is waiting for review right now."}
            )
        assignment = services.with_content(services.assignments_visible_to(request.user)).get(
            pk=assignment.pk
        )
        return Response(
            {
                "assignment": s.AnnotationAssignmentDetailSerializer(assignment).data,
                "message": "Here is the next annotation to review.",
            }
        )
