"""Assisted tracking API, under /api/v1/annotation/tracking/: start a run on an assignment the
annotator holds, read its progress and proposals, cancel it."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from wherewhen.accounts.permissions import DoesAnnotationWork
from wherewhen.annotations import serializers as s
from wherewhen.annotations import services
from wherewhen.core.parsers import SafeJSONParser
from wherewhen.core.schema import INVALID

DetailSerializer = inline_serializer("TrackingDetail", {"detail": serializers.CharField()})
ERRORS = {400: INVALID, 403: DetailSerializer, 404: DetailSerializer}
RUN_ID = [OpenApiParameter("id", int, OpenApiParameter.PATH, description="The tracking run")]


class TrackingJobViewSet(viewsets.ViewSet):
    """An annotator's assisted-tracking runs: start, progress and proposals, cancel."""

    permission_classes = [DoesAnnotationWork]
    parser_classes = [SafeJSONParser]

    @extend_schema(
        request=s.TrackRequestSerializer,
        responses={
            200: s.TrackingJobSerializer,
            202: s.TrackingJobSerializer,
            409: DetailSerializer,
            **ERRORS,
        },
        summary=(
            "Track a box forward or backward: short runs answer at once (200), long ones are "
            "queued on the media queue (202; poll the run)"
        ),
    )
    def create(self, request: Request) -> Response:
        body = s.TrackRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        job = services.start_tracking(
            data["assignment"],
            request.user,
            frame=data["frame"],
            box=data["box"],
            direction=data["direction"],
            count=data.get("count"),
            method=data["method"],
        )
        code = status.HTTP_200_OK if job.in_process else status.HTTP_202_ACCEPTED
        return Response(s.TrackingJobSerializer(job).data, status=code)

    @extend_schema(
        parameters=RUN_ID,
        responses={200: s.TrackingJobSerializer, **ERRORS},
        summary="A tracking run",
    )
    def retrieve(self, request: Request, pk=None) -> Response:
        job = services.tracking_job(_job_pk(pk), request.user)
        return Response(s.TrackingJobSerializer(job).data)

    @extend_schema(
        parameters=RUN_ID,
        request=None,
        responses={200: s.TrackingJobSerializer, **ERRORS},
        summary="Cancel a tracking run (the boxes found so far are kept)",
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk=None) -> Response:
        job = services.cancel_tracking(_job_pk(pk), request.user)
        return Response(s.TrackingJobSerializer(job).data)


def _job_pk(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise exceptions.NotFound("There is no such tracking run.") from None
