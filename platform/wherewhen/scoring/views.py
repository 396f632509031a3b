"""Scoring API under /api/v1/scoring/: thin views over :mod:`wherewhen.scoring.services`."""

from __future__ import annotations

import json

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from wherewhen.accounts.permissions import IsResearcher, IsReviewer
from wherewhen.scoring import drilldown, exports, leaderboards, serializers, services

BOARD_PARAMS = [
    OpenApiParameter(
        "project", int, required=True, description="annotation project (its ground truth)"
    ),
    OpenApiParameter("dataset", int, required=False, description="only the videos of this dataset"),
    OpenApiParameter("model", int, required=False, description="only explanations of this model"),
]


def _board_args(request) -> tuple:
    params = request.query_params
    if not params.get("project"):
        from rest_framework.exceptions import ValidationError

        raise ValidationError(
            {"project": "Say which annotation project's ground truth to score against (?project=)."}
        )
    user = request.user
    project = services.project_for(user, params.get("project"))
    dataset = leaderboards.dataset_for(user, params.get("dataset"))
    model = leaderboards.model_for(user, params.get("model"))
    return project, dataset, model


@extend_schema(tags=["scoring"])
class ScoresView(APIView):
    """Pointing-game scores of one explanation, against the consensus ground truth and against
    each accepted annotation, in every project (that you can see) holding its video."""

    permission_classes = [IsReviewer]

    @extend_schema(
        summary="Scores of an explanation",
        parameters=[
            OpenApiParameter("explanation", int, required=True),
            OpenApiParameter("project", int, required=False),
            OpenApiParameter(
                "video", int, required=False, description="refuse an explanation of another video"
            ),
            OpenApiParameter(
                "tolerance",
                float,
                required=False,
                description="pixels (>= 0); other than the project's: computed now, not stored",
            ),
        ],
        responses={200: serializers.ExplanationScoresSerializer},
    )
    def get(self, request):
        params = request.query_params
        explanation = services.explanation_for(request.user, params.get("explanation"))
        tolerance = (
            services.parse_tolerance(params["tolerance"])
            if params.get("tolerance") not in (None, "")
            else None
        )
        project = (
            services.project_for(request.user, params["project"]) if params.get("project") else None
        )
        video_id = None
        if params.get("video"):
            try:
                video_id = int(params["video"])
            except ValueError:
                from rest_framework.exceptions import ValidationError

                raise ValidationError({"video": "Give the video's id."}) from None
        body = services.explanation_scores(
            request.user, explanation, project=project, video_id=video_id, tolerance=tolerance
        )
        return Response(body)


@extend_schema(tags=["scoring"])
class LeaderboardView(APIView):
    """Methods compared on a project's ground truth: pointing-game accuracy with bootstrap 95%
    intervals (resampling videos), counts, paired tests, faithfulness and cost. An empty table
    comes with a ``reason``."""

    permission_classes = [IsReviewer]

    @extend_schema(
        summary="Leaderboard of a project (x dataset x model)",
        parameters=BOARD_PARAMS,
        responses={200: serializers.LeaderboardSerializer},
    )
    def get(self, request):
        project, dataset, model = _board_args(request)
        return Response(leaderboards.leaderboard(request.user, project, dataset, model))


@extend_schema(tags=["scoring"])
class LeaderboardClipsView(APIView):
    """The clips behind one row: hit or miss per map frame and a link into the review player."""

    permission_classes = [IsReviewer]

    @extend_schema(
        summary="Clips of one leaderboard row",
        parameters=[*BOARD_PARAMS, OpenApiParameter("row", str, required=True)],
        responses={200: serializers.LeaderboardClipsSerializer},
    )
    def get(self, request):
        project, dataset, model = _board_args(request)
        row = request.query_params.get("row", "")
        return Response(drilldown.leaderboard_clips(request.user, project, dataset, model, row))


def _filename(project, dataset, model, ext: str) -> str:
    parts = [f"leaderboard-project{project.pk}"]
    if dataset:
        parts.append(f"dataset{dataset.pk}")
    if model:
        parts.append(f"model{model.pk}")
    return "-".join(parts) + f".{ext}"


@extend_schema(tags=["scoring"])
class LeaderboardCsvView(APIView):
    permission_classes = [IsReviewer]

    @extend_schema(
        summary="Leaderboard as CSV",
        parameters=BOARD_PARAMS,
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR)},
    )
    def get(self, request):
        project, dataset, model = _board_args(request)
        board = leaderboards.leaderboard(request.user, project, dataset, model)
        response = HttpResponse(leaderboards.leaderboard_csv(board), content_type="text/csv")
        response["Content-Disposition"] = (
            f'attachment; filename="{_filename(project, dataset, model, "csv")}"'
        )
        if board["reason"]:
            response["X-Leaderboard-Reason"] = board["reason"].encode("ascii", "replace").decode()
        return response


@extend_schema(tags=["scoring"])
class LeaderboardJsonView(APIView):
    permission_classes = [IsReviewer]

    @extend_schema(
        summary="Leaderboard as a JSON file, with the clips of every row",
        parameters=BOARD_PARAMS,
        responses={(200, "application/json"): OpenApiResponse(OpenApiTypes.OBJECT)},
    )
    def get(self, request):
        project, dataset, model = _board_args(request)
        board = leaderboards.leaderboard(request.user, project, dataset, model)
        board["clips"] = {
            row["key"]: drilldown.leaderboard_clips(
                request.user, project, dataset, model, row["key"]
            )["clips"]
            for row in board["rows"]
        }
        response = HttpResponse(
            json.dumps(board, indent=1, allow_nan=False), content_type="application/json"
        )
        response["Content-Disposition"] = (
            f'attachment; filename="{_filename(project, dataset, model, "json")}"'
        )
        return response


@extend_schema(tags=["scoring"])
class ScoresExportView(APIView):
    """Every consensus score of a project (x dataset x model), one line per explanation, with
    its provenance (checkpoint, method and parameters, video and ground truth versions, code
    version) and whether it is stale."""

    permission_classes = [IsReviewer]
    fmt = "csv"

    @extend_schema(
        summary="Scores with provenance (CSV or JSON)",
        parameters=BOARD_PARAMS,
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR),
            (200, "application/json"): OpenApiResponse(OpenApiTypes.OBJECT),
        },
    )
    def get(self, request):
        project, dataset, model = _board_args(request)
        rows = exports.score_rows(project, dataset, model)
        name = _filename(project, dataset, model, self.fmt).replace("leaderboard", "scores", 1)
        if self.fmt == "csv":
            response = HttpResponse(exports.scores_csv(rows), content_type="text/csv")
        else:
            body = {"project": project.pk, "code_version": services.code_version(), "scores": rows}
            response = HttpResponse(
                json.dumps(body, indent=1, allow_nan=False), content_type="application/json"
            )
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


def _settings_body(project) -> dict:
    row = services.settings_for(project)
    pending = services.pending_requests(project)
    return {
        "project": project.pk,
        "name": project.name,
        "tolerance": row.tolerance,
        "stale": pending > 0,
        "pending": pending,
        "last_run_at": row.last_run_at,
        "last_error": row.last_error,
    }


@extend_schema(tags=["scoring"])
class ProjectScoringView(APIView):
    """A project's scoring settings (the tolerance, in pixels) and whether scores are pending.
    Changing the tolerance recomputes every score of the project."""

    def get_permissions(self):
        if self.request.method in ("PUT", "PATCH"):
            return [IsResearcher()]
        return [IsReviewer()]

    @extend_schema(summary="Scoring settings", responses=serializers.ScoringSettingsSerializer)
    def get(self, request, pk: int):
        project = services.project_for(request.user, pk)
        return Response(serializers.ScoringSettingsSerializer(_settings_body(project)).data)

    @extend_schema(
        summary="Change the tolerance",
        request=serializers.ScoringSettingsSerializer,
        responses=serializers.ScoringSettingsSerializer,
    )
    def patch(self, request, pk: int):
        project = services.project_for(request.user, pk)
        incoming = serializers.ScoringSettingsSerializer(data=request.data, partial=True)
        incoming.is_valid(raise_exception=True)
        if "tolerance" in incoming.validated_data:
            services.set_tolerance(project, incoming.validated_data["tolerance"])
        return Response(serializers.ScoringSettingsSerializer(_settings_body(project)).data)

    put = patch


@extend_schema(tags=["scoring"])
class RecomputeView(APIView):
    """Queue a recompute of every score of the project (unchanged pairs are still skipped)."""

    permission_classes = [IsResearcher]

    @extend_schema(
        summary="Recompute a project's scores",
        request=None,
        responses={202: serializers.ScoringRecomputeSerializer},
    )
    def post(self, request, pk: int):
        project = services.project_for(request.user, pk)
        services.request_recompute([(project.pk, None, None)], reason="asked for")
        return Response(
            {"pending": services.pending_requests(project) + 1}, status=status.HTTP_202_ACCEPTED
        )
