"""Designer API (researchers) and participant API (anonymous, session token, blinded)."""

from __future__ import annotations

import secrets

from django.db import transaction
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers as drf_serializers
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from wherewhen.accounts.permissions import IsResearcher
from wherewhen.core import media
from wherewhen.core.streaming import media_response
from wherewhen.explanations import services as explanation_services
from wherewhen.explanations.models import Explanation
from wherewhen.studies import analysis, services
from wherewhen.studies import serializers as s
from wherewhen.studies.models import Session, Study

SESSION_HEADER = "X-Study-Session"


# --- Designer -----------------------------------------------------------------------------------


class StudyViewSet(viewsets.ModelViewSet):
    """Studies of the signed-in researcher."""

    serializer_class = s.StudySerializer
    permission_classes = [IsResearcher]
    pagination_class = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Study.objects.none()
        return services.studies_of(self.request.user)

    def perform_create(self, serializer) -> None:
        serializer.save(owner=self.request.user)

    def perform_update(self, serializer) -> None:
        services.check_opening(serializer.save())

    @extend_schema(methods=["GET"], responses=s.StimulusSerializer(many=True))
    @extend_schema(
        methods=["POST"],
        request=s.AddStimuliSerializer,
        responses={201: s.StimulusSerializer(many=True)},
    )
    @action(detail=True, methods=["get", "post"], url_path="stimuli", url_name="stimuli")
    def stimuli(self, request, pk=None):
        study = self.get_object()
        if request.method == "POST":
            body = s.AddStimuliSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            found = services.explanations_for(request.user, body.validated_data["explanations"])
            with transaction.atomic():
                created = services.add_stimuli(
                    study, found, allow_sparse=body.validated_data["allow_sparse"]
                )
            return Response(s.StimulusSerializer(created, many=True).data, status=201)
        items = study.stimuli.select_related("explanation__model", "video")
        return Response(s.StimulusSerializer(items, many=True).data)

    @extend_schema(
        request=None,
        responses=inline_serializer("PreviewLink", {"link": drf_serializers.CharField()}),
    )
    @action(detail=True, methods=["post"], url_path="preview", url_name="preview")
    def preview(self, request, pk=None):
        """A fresh preview session (not counted, not analysed) to try the study as a participant."""
        study = self.get_object()
        pid = f"preview-{secrets.token_hex(6)}"
        session, _ = services.start_session(study, {"participant": pid}, preview=True)
        _record_preview_exposure(request.user, session)
        return Response({"link": f"/p/{study.slug}?participant={pid}&preview=1"})

    @extend_schema(
        parameters=[s.TrialPreviewQuerySerializer], responses=s.ParticipantTrialSerializer
    )
    @action(detail=True, methods=["get"], url_path="trial-preview", url_name="trial-preview")
    def trial_preview(self, request, pk=None):
        """What a participant would see of a trial of this kind (nothing is stored)."""
        study = self.get_object()
        query = s.TrialPreviewQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(services.preview_payload(study, query.validated_data["kind"]))

    @extend_schema(request=s.ReturnedSerializer, responses=s.StageSerializer)
    @action(detail=True, methods=["post"], url_path="returned", url_name="returned")
    def returned(self, request, pk=None):
        """Mark a participant as returned (as the recruitment platform reports it): the session
        ends and its Latin-square row goes to the next participant."""
        study = self.get_object()
        body = s.ReturnedSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        session = services.mark_returned(study, body.validated_data["participant"])
        return Response(services.session_state(session))

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"], url_path="analysis", url_name="analysis")
    def analysis_(self, request, pk=None):
        return Response(analysis.analyze(self.get_object()))

    @extend_schema(
        responses={(200, "text/csv"): OpenApiTypes.STR},
        parameters=[
            OpenApiParameter(
                "table",
                str,
                enum=["responses", "calibration"],
                required=False,
                description="responses (long format, the default) or calibration "
                "(accuracy by confidence level)",
            )
        ],
    )
    @action(detail=True, methods=["get"], url_path="export", url_name="export")
    def export(self, request, pk=None):
        study = self.get_object()
        table = request.query_params.get("table") or "responses"
        if table not in ("responses", "calibration"):
            raise ValidationError({"table": "responses or calibration"})
        if table == "calibration":
            text, name = analysis.calibration_csv_text(study), f"study-{study.slug}-calibration"
        else:
            text, name = analysis.csv_text(study), f"study-{study.slug}"
        response = HttpResponse(text, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response


def _record_preview_exposure(user, session: Session) -> None:
    """Whoever previews a study sees its stimuli: exposed to their videos (clean ground truth).
    Participants are anonymous (no account), so their sessions record no exposure."""
    from wherewhen.annotations import services as annotation_services

    videos = set()
    for a, b in session.trials.values_list("stimulus_a__video_id", "stimulus_b__video_id"):
        videos |= {v for v in (a, b) if v is not None}
    annotation_services.record_exposures(user, videos, annotation_services.ExposureSource.STUDY)


# --- Participant --------------------------------------------------------------------------------


class ParticipantView(APIView):
    """Anonymous: a participant is known by the opaque session token in ``X-Study-Session``.
    No cookie authenticates these requests, so cross-site forms cannot act for a participant."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def session(self, request) -> Session:
        return services.session_for(request.headers.get(SESSION_HEADER, ""))


class StartView(ParticipantView):
    @extend_schema(request=s.StartSerializer, responses={200: s.StageSerializer})
    def post(self, request, slug: str):
        study = Study.objects.filter(slug=slug).first()
        body = s.StartSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        params = body.validated_data["params"]
        if study is None:
            raise NotFound("There is no such study.")
        preview_pid = str(params.get("participant", ""))
        preview = bool(params.get("preview")) and preview_pid.startswith("preview-")
        if preview:
            found = Session.objects.filter(
                study=study, participant_id=preview_pid, preview=True
            ).first()
            if found is None:
                raise NotFound("This preview link has expired; start a new preview.")
            session = found
        else:
            session, _ = services.start_session(
                study,
                params,
                user_agent=request.headers.get("User-Agent", ""),
                viewport=body.validated_data.get("viewport") or {},
            )
        return Response({"session": session.token, **services.session_state(session)})


class StateView(ParticipantView):
    @extend_schema(responses=s.StageSerializer)
    def get(self, request):
        return Response(services.session_state(self.session(request)))


class ConsentView(ParticipantView):
    @extend_schema(request=s.ConsentSerializer, responses=s.StageSerializer)
    def post(self, request):
        session = self.session(request)
        body = s.ConsentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.consent(session, body.validated_data["agree"])
        return Response(services.session_state(session))


class InstructionsView(ParticipantView):
    @extend_schema(request=None, responses=s.StageSerializer)
    def post(self, request):
        session = self.session(request)
        services.finish_instructions(session)
        return Response(services.session_state(session))


class ReturnView(ParticipantView):
    @extend_schema(request=None, responses=s.StageSerializer)
    def post(self, request):
        """The participant gives the study back (their place goes to someone else)."""
        session = self.session(request)
        services.return_session(session)
        return Response(services.session_state(session))


class TrialView(ParticipantView):
    @extend_schema(responses=s.ParticipantTrialSerializer)
    def get(self, request):
        session = self.session(request)
        trial = services.current_trial(session)
        response = Response(services.trial_payload(session, trial))
        response["Cache-Control"] = "no-store"
        return response


class AnswerView(ParticipantView):
    @extend_schema(request=s.AnswerSerializer, responses=s.AnswerResultSerializer)
    def post(self, request):
        session = self.session(request)
        body = s.AnswerSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        outcome = services.answer_trial(
            session,
            index=data["index"],
            response_id=data["response_id"],
            answer=data["answer"],
            client_ms=data.get("client_ms"),
            client_times=data.get("client_times"),
            viewport=data.get("viewport"),
        )
        return Response(outcome.result, status=status.HTTP_200_OK)


class StimulusVideoView(ParticipantView):
    @extend_schema(
        responses={(200, "video/mp4"): OpenApiTypes.BINARY},
        parameters=[OpenApiParameter("Range", str, OpenApiParameter.HEADER, required=False)],
    )
    def get(self, request, token: str, stimulus: str):
        item = services.stimulus_for(token, stimulus)
        name = item.video.playback.name or item.video.original.name
        if not media.exists(name):
            raise NotFound("The video file is missing.")
        # Proxied, never redirected: a presigned URL would name the video's folder (blinding).
        return media_response(request, name, "video/mp4", etag_seed=item.token, redirect=False)


class StimulusMapView(ParticipantView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, token: str, stimulus: str):
        item = services.stimulus_for(token, stimulus)
        if item.explanation.status != Explanation.Status.DONE:
            raise NotFound("The map is not available.")
        response = Response(explanation_services.map_payload(item.explanation))
        response["Cache-Control"] = "private, max-age=3600"
        return response
