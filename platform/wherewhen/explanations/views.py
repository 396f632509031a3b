"""Models and explanations API: thin views over :mod:`wherewhen.explanations.services`.

One module for the app's resources (registered models, methods, explanations with their
status, map, ground truth and imports, flags, exports, bulk runs), each a thin view: it parses
the request, calls the services and shapes the answer; the services' domain errors become
400/403/404/409 in the API's one exception handler. Its size is one concern: the app's
HTTP surface, kept together so the routes read as one list.
"""

from __future__ import annotations

from django.db.models import Count
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from wherewhen.accounts.permissions import IsResearcher, IsReviewer
from wherewhen.core.parsers import SafeJSONParser
from wherewhen.core.streaming import media_response
from wherewhen.explanations import methods, serializers, services
from wherewhen.explanations.models import Explanation, Export, Flag, RegisteredModel

IMMUTABLE = "public, max-age=31536000, immutable"


# --- Model registry -----------------------------------------------------------------------------


@extend_schema(tags=["models"])
class RegisteredModelViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Video classifiers the workers can load. Researchers register checkpoint directories;
    the directory is validated (config, labels, weights) before it is accepted."""

    serializer_class = serializers.RegisteredModelSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_permissions(self):
        if self.action in ("create", "partial_update", "destroy"):
            return [IsResearcher()]
        return [IsReviewer()]

    def get_queryset(self):
        return services.visible_models(self.request.user).select_related("owner")

    def get_object(self) -> RegisteredModel:
        model = super().get_object()
        if self.action in ("partial_update", "destroy") and not services.can_edit_model(
            self.request.user, model
        ):
            raise PermissionDenied("Only the model's owner can change or delete it.")
        return model

    @extend_schema(
        request=serializers.RegisteredModelCreateSerializer,
        responses={201: serializers.RegisteredModelSerializer},
        summary="Register a checkpoint directory",
    )
    def create(self, request, *args, **kwargs):
        body = serializers.RegisteredModelCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        model = services.register_model(owner=request.user, **body.validated_data)
        out = serializers.RegisteredModelSerializer(model, context={"request": request})
        return Response(out.data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=serializers.RegisteredModelUpdateSerializer,
        responses={200: serializers.RegisteredModelSerializer},
        summary="Change a model's description, device preference or visibility",
    )
    def partial_update(self, request, *args, **kwargs):
        model = self.get_object()
        body = serializers.RegisteredModelUpdateSerializer(model, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        body.save()
        return Response(
            serializers.RegisteredModelSerializer(model, context={"request": request}).data
        )

    def destroy(self, request, *args, **kwargs):
        services.delete_model(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Methods ------------------------------------------------------------------------------------


class MethodListView(APIView):
    permission_classes = [IsReviewer]

    @extend_schema(
        tags=["explanations"],
        responses=serializers.MethodSerializer(many=True),
        summary="Attribution methods, their families, parameters and defaults",
    )
    def get(self, request):
        return Response(methods.catalogue())


# --- Explanations -------------------------------------------------------------------------------

LIST_FILTERS = [
    OpenApiParameter("video", int),
    OpenApiParameter("model", int),
    OpenApiParameter("method", str),
    OpenApiParameter("status", str, enum=[s.value for s in Explanation.Status]),
    OpenApiParameter("source", str, enum=[s.value for s in Explanation.Source]),
    OpenApiParameter("ids", str, description="comma-separated ids"),
]


@extend_schema(tags=["explanations"])
class ExplanationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Space-time explanations: request one (202), follow its status, fetch its map, name it."""

    serializer_class = serializers.ExplanationSerializer
    permission_classes = [IsReviewer]
    parser_classes = [SafeJSONParser, MultiPartParser, FormParser]

    def get_queryset(self):
        if self.action == "status_":  # polled (and read by every long-poll): the row's own columns
            return services.visible_explanations(self.request.user).only(*services.STATUS_FIELDS)
        qs = (
            services.visible_explanations(self.request.user)
            .select_related("video", "model", "requested_by")
            .annotate(flag_count=Count("flags"))
            .order_by("-created_at", "-id")
        )
        if self.action == "list":
            params = self.request.query_params
            for name in ("video", "model"):
                value = params.get(name, "").strip()
                if value:
                    if not value.isdigit():
                        raise ValidationError({name: f"{name} must be an id (a whole number)."})
                    qs = qs.filter(**{f"{name}_id": int(value)})
            for name in ("method", "status", "source"):
                value = params.get(name, "").strip()
                if value:
                    qs = qs.filter(**{name: value})
            ids = params.get("ids", "").strip()
            if ids:
                try:
                    wanted = [int(x) for x in ids.split(",") if x.strip()]
                except ValueError as exc:
                    raise ValidationError({"ids": "ids must be comma-separated numbers."}) from exc
                qs = qs.filter(pk__in=wanted[:100])
        return qs

    @extend_schema(parameters=LIST_FILTERS)
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def _seen(self, explanation: Explanation) -> None:
        """The review player showed ``explanation``: its viewer is exposed to the video (clean
        ground truth, ``annotations.services.exposure``)."""
        from wherewhen.annotations import services as annotation_services

        annotation_services.record_exposure(
            self.request.user, explanation.video_id, annotation_services.ExposureSource.REVIEW
        )

    def retrieve(self, request, *args, **kwargs):
        explanation = self.get_object()
        self._seen(explanation)
        return Response(self.get_serializer(explanation).data)

    def _accepted(self, request, outcome: services.RequestOutcome) -> Response:
        e = outcome.explanation
        if outcome.queued:
            # The task was sent when the transaction committed; if the broker could not be
            # reached the row is failed by now: say so instead of "queued".
            e.refresh_from_db(fields=["status", "error"])
            if e.status == Explanation.Status.FAILED:
                return Response(
                    {"detail": e.error, "id": e.pk, "status": e.status},
                    status=status.HTTP_503_SERVICE_UNAVAILABLE,
                    headers={"Retry-After": "10"},
                )
        body = {
            "id": e.pk,
            "status": e.status,
            "created": outcome.created,
            "queued": outcome.queued,
            "status_url": request.build_absolute_uri(reverse("explanation-status", args=[e.pk])),
            "url": request.build_absolute_uri(reverse("explanation-detail", args=[e.pk])),
        }
        code = (
            status.HTTP_200_OK if e.status == Explanation.Status.DONE else status.HTTP_202_ACCEPTED
        )
        headers = {"Location": body["status_url"]}
        return Response(body, status=code, headers=headers)

    @extend_schema(
        request=serializers.ExplanationRequestSerializer,
        responses={
            202: serializers.ExplanationAcceptedSerializer,
            200: OpenApiResponse(
                serializers.ExplanationAcceptedSerializer,
                description="An identical request is already done: its explanation",
            ),
            409: OpenApiResponse(description="The video is not ready yet"),
        },
        summary="Request an explanation (idempotent: the same inputs give the same explanation)",
    )
    def create(self, request, *args, **kwargs):
        if not services.can_request(request.user):
            raise PermissionDenied("Only researchers and reviewers can request explanations.")
        body = serializers.ExplanationRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        outcome = services.request_explanation(
            request.user,
            video=services.video_for(request.user, data["video"]),
            model=services.model_for(request.user, data["model"]),
            method=data["method"],
            params=data.get("params"),
            target=data.get("target"),
            clip_start=data.get("clip_start"),
            clip_end=data.get("clip_end"),
            windowed=data.get("windowed", False),
        )
        return self._accepted(request, outcome)

    @extend_schema(
        request=serializers.ExplanationRenameSerializer,
        responses={200: serializers.ExplanationSerializer},
        summary="Rename an explanation (its requester or the video's owner)",
    )
    def partial_update(self, request, *args, **kwargs):
        explanation = self.get_object()
        if not services.can_rename(request.user, explanation):
            raise PermissionDenied(
                "Only whoever requested this explanation or the video's owner can rename it."
            )
        body = serializers.ExplanationRenameSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.rename(explanation, body.validated_data["name"])
        out = serializers.ExplanationSerializer(explanation, context={"request": request})
        return Response(out.data)

    @extend_schema(responses=serializers.ExplanationStatusSerializer, summary="Status and progress")
    @action(detail=True, methods=["get"], url_path="status", url_name="status")
    def status_(self, request, pk=None):
        return Response(services.status_of(self.get_object()))

    @extend_schema(
        responses={
            200: serializers.MapPayloadSerializer,
            409: OpenApiResponse(description="The explanation is not done yet"),
        },
        summary="The map on the token grid (uint8, scale and offset; immutable, cacheable)",
    )
    @action(detail=True, methods=["get"], url_path="map", url_name="map")
    def map(self, request, pk=None):
        explanation = self.get_object()
        services.require_map(explanation)
        self._seen(explanation)
        etag = f'"{explanation.map_sha256}"'
        if etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
            response = Response(status=status.HTTP_304_NOT_MODIFIED)
        else:
            try:
                response = Response(services.map_payload(explanation))
            except FileNotFoundError as exc:
                raise NotFound("The map file of this explanation is missing.") from exc
        response["ETag"] = etag
        response["Cache-Control"] = IMMUTABLE
        response["Vary"] = "Cookie, Authorization"
        return response

    @extend_schema(
        parameters=[
            OpenApiParameter("project", int, description="annotation project (default: first)"),
        ],
        responses=serializers.GroundTruthSerializer,
        summary="Ground truth at the map frames with the pointing-game verdicts (the scores')",
    )
    @action(detail=True, methods=["get"], url_path="ground-truth", url_name="ground-truth")
    def ground_truth(self, request, pk=None):
        explanation = self.get_object()
        self._seen(explanation)
        raw = request.query_params.get("project")
        try:
            project = int(raw) if raw else None
        except ValueError as exc:
            raise ValidationError(
                {"project": "project must be an annotation project's id."}
            ) from exc
        return Response(services.ground_truth(request.user, explanation, project_id=project))

    @extend_schema(
        methods=["GET"], responses=serializers.FlagSerializer(many=True), summary="Flags"
    )
    @extend_schema(
        methods=["POST"],
        request=serializers.FlagCreateSerializer,
        responses={201: serializers.FlagSerializer},
        summary="Flag an explanation as bad, with a comment",
    )
    @action(
        detail=True,
        methods=["get", "post"],
        url_path="flags",
        url_name="flags",
        pagination_class=None,
    )
    def flags(self, request, pk=None):
        explanation = self.get_object()
        if request.method == "GET":
            flags = explanation.flags.select_related("author")
            return Response(serializers.FlagSerializer(flags, many=True).data)
        body = serializers.FlagCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        flag = services.add_flag(request.user, explanation, **body.validated_data)
        return Response(serializers.FlagSerializer(flag).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["GET"],
        responses=serializers.ExportSerializer(many=True),
        summary="Exports of this explanation",
    )
    @extend_schema(
        methods=["POST"],
        request=serializers.ExportRequestSerializer,
        responses={202: serializers.ExportSerializer, 200: serializers.ExportSerializer},
        summary="Render an overlay MP4 or a keyframe PNG strip (media queue)",
    )
    @action(
        detail=True,
        methods=["get", "post"],
        url_path="exports",
        url_name="exports",
        pagination_class=None,
    )
    def exports(self, request, pk=None):
        explanation = self.get_object()
        context = {"request": request}
        if request.method == "GET":
            return Response(
                serializers.ExportSerializer(
                    explanation.exports.all(), many=True, context=context
                ).data
            )
        body = serializers.ExportRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        export, _created = services.request_export(
            request.user,
            explanation,
            kind=body.validated_data["kind"],
            options=body.validated_data.get("options") or {},
        )
        code = (
            status.HTTP_200_OK if export.status == Export.Status.DONE else status.HTTP_202_ACCEPTED
        )
        return Response(serializers.ExportSerializer(export, context=context).data, status=code)

    @extend_schema(
        request={"multipart/form-data": serializers.ImportSerializer},
        responses={201: serializers.ExplanationSerializer, 200: serializers.ExplanationSerializer},
        summary="Import an explanation made by another tool (.npz: map, timestamps, temporal)",
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        url_name="import",
        parser_classes=[MultiPartParser, FormParser],
    )
    def import_(self, request):
        if not services.can_import(request.user):
            raise PermissionDenied("Only researchers can import explanations.")
        body = serializers.ImportSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        explanation, created = services.import_explanation(
            request.user,
            video=services.video_for(request.user, data["video"]),
            upload=data["file"],
            method=data["method"],
            model=services.model_for(request.user, data.get("model")),
            target=data.get("target"),
        )
        explanation = self.get_queryset().get(pk=explanation.pk)
        out = serializers.ExplanationSerializer(explanation, context={"request": request})
        return Response(out.data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


# --- Flags ----------------------------------------------------------------------------------------


@extend_schema(tags=["explanations"])
class FlagViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Flags on explanations: reviewers' notes that a map looks wrong."""

    serializer_class = serializers.FlagSerializer
    permission_classes = [IsReviewer]
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def get_queryset(self):
        qs = services.visible_flags(self.request.user).select_related("author")
        resolved = self.request.query_params.get("resolved")
        if resolved in ("true", "false"):
            qs = qs.filter(resolved=resolved == "true")
        return qs

    @extend_schema(
        parameters=[OpenApiParameter("resolved", str, enum=["true", "false"])],
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def _check_author(self, flag: Flag) -> None:
        if not services.can_change_flag(self.request.user, flag):
            raise PermissionDenied("Only the flag's author or the video's owner can change it.")

    @extend_schema(request=serializers.FlagUpdateSerializer, responses=serializers.FlagSerializer)
    def partial_update(self, request, *args, **kwargs):
        flag = self.get_object()
        self._check_author(flag)
        body = serializers.FlagUpdateSerializer(flag, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        body.save()
        return Response(serializers.FlagSerializer(flag).data)

    def destroy(self, request, *args, **kwargs):
        flag = self.get_object()
        self._check_author(flag)
        flag.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Exports ----------------------------------------------------------------------------------------


@extend_schema(tags=["explanations"])
class ExportViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Rendered exports (overlay MP4, keyframe PNG strip)."""

    serializer_class = serializers.ExportSerializer
    permission_classes = [IsReviewer]

    def get_queryset(self):
        return services.visible_exports(self.request.user).select_related("explanation")

    @extend_schema(
        responses={(200, "application/octet-stream"): OpenApiResponse(description="the file")},
        summary="Download a finished export",
    )
    @action(detail=True, methods=["get"], url_path="download", url_name="download")
    def download(self, request, pk=None):
        export = self.get_object()
        stored = services.export_file(export)
        content_type = "video/mp4" if export.kind == Export.Kind.MP4 else "image/png"
        name = f"explanation-{export.explanation_id}-{export.explanation.method}.{export.kind}"
        response = media_response(
            request, stored, content_type, etag_seed=f"export-{export.pk}-", filename=name
        )
        if response.status_code in (200, 206, 304):
            response["Cache-Control"] = "private, max-age=31536000, immutable"
        return response


# --- Bulk runs ----------------------------------------------------------------------------------------


@extend_schema(tags=["explanations"])
class BulkRunViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Explain a dataset with several methods, followed as one job (done/total, ETA)."""

    serializer_class = serializers.BulkRunSerializer
    permission_classes = [IsResearcher]

    def get_queryset(self):
        qs = services.visible_bulk_runs(self.request.user).select_related("dataset", "model")
        return qs.none() if getattr(self, "swagger_fake_view", False) else qs

    @extend_schema(
        request=serializers.BulkRunCreateSerializer,
        responses={201: serializers.BulkRunSerializer},
        summary="Start a bulk run",
    )
    def create(self, request, *args, **kwargs):
        body = serializers.BulkRunCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if "dataset" in data:
            dataset = services.dataset_for(request.user, data["dataset"])
        else:
            dataset = services.dataset_named(request.user, data["dataset_name"])
        model = services.model_for(request.user, data["model"])
        params = data.get("params") or {}
        if not isinstance(params, dict):
            raise ValidationError({"params": "params must map method names to parameter objects."})
        run = services.start_bulk_run(
            request.user,
            dataset=dataset,
            model=model,
            method_names=data["methods"],
            params=params,
            target=data.get("target"),
        )
        out = serializers.BulkRunSerializer(run, context={"request": request})
        return Response(out.data, status=status.HTTP_201_CREATED)


__all__ = [
    "BulkRunViewSet",
    "ExplanationViewSet",
    "ExportViewSet",
    "FlagViewSet",
    "MethodListView",
    "RegisteredModelViewSet",
]
