"""Meta-evaluation API under /api/v1/meta-evaluation/: thin views over
:mod:`wherewhen.metaeval.services`."""

from __future__ import annotations

import json

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from wherewhen.accounts.permissions import IsResearcher
from wherewhen.metaeval import dryrun, selection, serializers, services

PARAMS = [
    OpenApiParameter("study", int, required=True, description="the study (its human outcomes)"),
    OpenApiParameter(
        "project", int, required=True, description="annotation project (its stored scores)"
    ),
    OpenApiParameter("model", int, required=False, description="only explanations of this model"),
]


def _body(request) -> dict:
    study, project, model = services.arguments(request.user, request.query_params)
    return services.meta_evaluation(request.user, study, project, model)


@extend_schema(tags=["meta-evaluation"])
class MetaEvaluationView(APIView):
    """Every stored automatic metric against every human outcome of a study: Kendall's tau-b
    and Spearman's rho per stimulus and per method, with bootstrap intervals resampling videos
    and participants, the points behind each pair and the rankings of methods."""

    permission_classes = [IsResearcher]

    @extend_schema(
        summary="Meta-evaluation of a study against a project's scores",
        parameters=PARAMS,
        responses={200: serializers.MetaEvaluationSerializer},
    )
    def get(self, request):
        return Response(_body(request))


@extend_schema(tags=["meta-evaluation"])
class MetaEvaluationCsvView(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(
        summary="Meta-evaluation as CSV (one row per level x metric x outcome)",
        parameters=PARAMS,
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR)},
    )
    def get(self, request):
        body = _body(request)
        response = HttpResponse(services.as_csv(body), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="{services.filename(body, "csv")}"'
        return response


@extend_schema(tags=["meta-evaluation"])
class MetaEvaluationJsonView(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(
        summary="Meta-evaluation as a JSON file",
        parameters=PARAMS,
        responses={(200, "application/json"): OpenApiResponse(OpenApiTypes.OBJECT)},
    )
    def get(self, request):
        body = _body(request)
        response = HttpResponse(
            json.dumps(body, indent=1, allow_nan=False), content_type="application/json"
        )
        response["Content-Disposition"] = (
            f'attachment; filename="{services.filename(body, "json")}"'
        )
        return response


@extend_schema(tags=["meta-evaluation"])
class StimulusSelectionView(APIView):
    """Choose a study's clips where two metrics (or two methods) disagree most, balanced over
    that disagreement, or at random; the choice, its parameters and seed are stored."""

    permission_classes = [IsResearcher]

    @extend_schema(
        summary="The stimulus selections of a study",
        responses={200: serializers.SelectionSerializer(many=True)},
    )
    def get(self, request, pk: int):
        study = services.study_for(request.user, pk)
        return Response([selection.selection_payload(s) for s in study.stimulus_selections.all()])

    @extend_schema(
        summary="Choose clips and add their explanations as stimuli",
        request=serializers.SelectionRequestSerializer,
        responses={201: serializers.SelectionSerializer},
    )
    def post(self, request, pk: int):
        study = services.study_for(request.user, pk)
        chosen = selection.select_stimuli(request.user, study, request.data)
        return Response(selection.selection_payload(chosen), status=status.HTTP_201_CREATED)


@extend_schema(tags=["meta-evaluation"])
class DryRunView(APIView):
    """Simulated participants (seeded, with chosen answer policies) answer a copy of the study
    through the participant API, so its analysis and meta-evaluation can be read before launch.
    Runs within the request (at most ``API_LIMIT`` participants; more with
    ``manage.py dry_run_study``)."""

    permission_classes = [IsResearcher]
    API_LIMIT = 40

    @extend_schema(
        summary="The dry runs of a study", responses={200: serializers.DryRunSerializer(many=True)}
    )
    def get(self, request, pk: int):
        study = services.study_for(request.user, pk)
        return Response([dryrun.payload(r) for r in study.dry_runs.all()])

    @extend_schema(
        summary="Dry-run a study with simulated participants",
        request=serializers.DryRunRequestSerializer,
        responses={201: serializers.DryRunSerializer},
    )
    def post(self, request, pk: int):
        study = services.study_for(request.user, pk)
        run = dryrun.dry_run(request.user, study, request.data, limit=self.API_LIMIT)
        return Response(dryrun.payload(run), status=status.HTTP_201_CREATED)
