"""Video library API: thin views over :mod:`wherewhen.videos.services`."""

from __future__ import annotations

import mimetypes

from django.db.models import Count
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_safe
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.authentication import TokenAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound, PermissionDenied
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from wherewhen.accounts.permissions import IsResearcher, IsReviewer
from wherewhen.core import media
from wherewhen.core.parsers import SafeJSONParser
from wherewhen.core.schema import INVALID
from wherewhen.core.streaming import media_response
from wherewhen.videos import services
from wherewhen.videos.models import Video
from wherewhen.videos.serializers import (
    FrameTimestampsSerializer,
    LabelCountSerializer,
    UploadLimitsSerializer,
    VideoSerializer,
    VideoUploadSerializer,
)
from wherewhen.videos.uploads import HashedUpload, VideoUploadHandler

DetailSerializer = inline_serializer("VideoDetailMessage", {"detail": serializers.CharField()})


def human_bytes(count: int) -> str:
    value = float(count)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} bytes"


class VideoPagination(PageNumberPagination):
    page_size = 24
    page_size_query_param = "page_size"
    max_page_size = 100


class UploadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


LIST_FILTERS = [
    OpenApiParameter("search", str, description="Words to find in the title, file name or label"),
    OpenApiParameter("label", str, description="Exact label"),
    OpenApiParameter("status", str, enum=[s.value for s in Video.Status]),
    OpenApiParameter("split", str, description="Exact split (train, val, test, ...)"),
    OpenApiParameter("dataset", str, description="Dataset name"),
]


class VideoViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The video library: upload, browse, inspect, rename, reprocess and delete videos."""

    serializer_class = VideoSerializer
    pagination_class = VideoPagination
    parser_classes = [SafeJSONParser, MultiPartParser, FormParser]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    upload_handler: VideoUploadHandler | None = None

    # --- plumbing -----------------------------------------------------------------------------

    def initialize_request(self, request, *args, **kwargs):
        drf_request = super().initialize_request(request, *args, **kwargs)
        if self.action == "create":
            # Before anything (the CSRF check included) reads the body.
            self.upload_handler = VideoUploadHandler(request)
            request.upload_handlers = [self.upload_handler]
        return drf_request

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            if self.upload_handler is not None:
                self.upload_handler.discard()  # whatever was not accepted goes

    def get_permissions(self):
        if self.action == "create":
            return [IsResearcher()]
        if self.action in ("list", "labels", "limits"):
            return [IsReviewer()]
        return [IsAuthenticated()]

    def get_queryset(self):
        if self.action in ("list", "labels"):
            params = self.request.query_params
            return services.search_videos(
                services.visible_videos(self.request.user),
                search=params.get("search", "").strip(),
                label=params.get("label", "").strip(),
                status=params.get("status", "").strip(),
                split=params.get("split", "").strip(),
                dataset=params.get("dataset", "").strip(),
            )
        return Video.objects.select_related("owner").prefetch_related("datasets")

    def get_object(self) -> Video:
        video = super().get_object()
        if not services.user_can_view(self.request.user, video):
            raise NotFound("No video with this id is visible to you.")
        changing = self.action in ("partial_update", "update", "destroy", "reprocess")
        if changing and not services.user_can_change(self.request.user, video):
            raise PermissionDenied("Only the video's owner can change or delete it.")
        return video

    # --- endpoints ----------------------------------------------------------------------------

    @extend_schema(parameters=LIST_FILTERS, summary="List the videos you can see")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request={"multipart/form-data": VideoUploadSerializer},
        responses={
            201: VideoSerializer,
            200: VideoSerializer,
            400: INVALID,
            413: DetailSerializer,
        },
        summary="Upload a video (201; 200 with the existing video when the content is known)",
    )
    def create(self, request, *args, **kwargs):
        handler = self.upload_handler
        limit = human_bytes(handler.max_bytes)
        too_large = f"The file is larger than the upload limit of {limit}."
        if handler.too_large:
            raise UploadTooLarge(too_large)
        data = request.data  # streams the body through the handler (if not done yet)
        if handler.too_large:
            raise UploadTooLarge(too_large)
        if handler.interrupted:
            return Response(
                {
                    "detail": "The upload was interrupted before the whole file arrived; nothing "
                    "was kept. Try again."
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        upload = request.FILES.get("file")
        if upload is None or not isinstance(upload, HashedUpload):
            return Response(
                {"file": ["Attach the video as the multipart/form-data field 'file'."]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        form = VideoUploadSerializer(data=data)
        form.is_valid(raise_exception=True)
        fields = form.validated_data
        # A file that is not a video raises services.VideoRejected: 400 {"detail": why}.
        outcome = services.ingest_file(
            owner=request.user,
            path=upload.path,
            original_name=upload.name or "video",
            title=fields.get("title", ""),
            label=fields.get("label", ""),
            split=fields.get("split", ""),
            dataset=fields.get("dataset") or None,
            move=True,
            sha256=upload.sha256,
        )
        body = VideoSerializer(outcome.video, context={"request": request}).data
        if outcome.created:
            headers = {"Location": request.build_absolute_uri(f"{outcome.video.pk}/")}
            return Response(body, status=status.HTTP_201_CREATED, headers=headers)
        return Response(body, status=status.HTTP_200_OK)

    @extend_schema(summary="Change a video's title, label or split")
    def partial_update(self, request, *args, **kwargs):
        return super().partial_update(request, *args, **kwargs)

    @extend_schema(summary="Delete a video and all of its files", responses={204: None})
    def destroy(self, request, *args, **kwargs):
        services.delete_video(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={202: VideoSerializer}, summary="Process again")
    @action(detail=True, methods=["post"])
    def reprocess(self, request, pk=None):
        video = self.get_object()
        if video.status == Video.Status.PROCESSING:
            return Response(
                {"detail": "The video is being processed right now."},
                status=status.HTTP_409_CONFLICT,
            )
        video = services.request_reprocessing(video)
        return Response(VideoSerializer(video).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=FrameTimestampsSerializer, summary="Frame timestamps (seconds)")
    @action(detail=True, methods=["get"])
    def timestamps(self, request, pk=None):
        video = self.get_object()
        stamps = list(video.frame_timestamps or [])
        return Response({"frame_count": len(stamps), "timestamps": stamps})

    @extend_schema(responses=LabelCountSerializer(many=True), summary="Labels in the library")
    @action(detail=False, methods=["get"], pagination_class=None)
    def labels(self, request):
        rows = (
            self.get_queryset()
            .exclude(label="")
            .order_by()
            .values("label")
            .annotate(count=Count("id"))
            .order_by("label")
        )
        return Response([{"label": r["label"], "count": r["count"]} for r in rows])

    @extend_schema(responses=UploadLimitsSerializer, summary="Upload limits")
    @action(detail=False, methods=["get"], pagination_class=None)
    def limits(self, request):
        from django.conf import settings

        return Response(
            {
                "max_upload_bytes": settings.VIDEO_UPLOAD_MAX_BYTES,
                "max_dimension": settings.VIDEO_MAX_DIMENSION,
            }
        )


# --- files (plain Django views: <video> and <img> elements send cookies, scripts tokens) ------


def _error(status_code: int, message: str) -> JsonResponse:
    return JsonResponse({"detail": message}, status=status_code)


def _user(request):
    if request.user.is_authenticated:
        return request.user
    try:
        found = TokenAuthentication().authenticate(request)
    except APIException:
        return None
    return found[0] if found else None


FILE_KINDS = {
    "stream": ("playback", "video/mp4"),
    "poster": ("poster", "image/jpeg"),
    "sprite": ("sprite", "image/jpeg"),
    "original": ("original", None),
}


def _visible_video(request, pk: int) -> Video | JsonResponse:
    """The video if the requester may see it, else the 403/404 answer to return."""
    user = _user(request)
    if user is None:
        return _error(403, "Authentication credentials were not provided.")
    video = get_object_or_404(Video, pk=pk)
    if not services.user_can_view(user, video):
        return _error(404, "No video with this id is visible to you.")
    return video


def _file_view(kind: str):
    field, content_type = FILE_KINDS[kind]

    @require_safe
    def view(request, pk: int):
        video = _visible_video(request, pk)
        if not isinstance(video, Video):
            return video
        name = getattr(video, field).name
        if kind == "stream" and video.status != Video.Status.READY:
            return _error(409, f"The video is not ready to play (status: {video.status}).")
        if not media.exists(name):
            return _error(404, f"This video has no {kind} file.")
        mime = content_type or mimetypes.guess_type(video.original_name)[0]
        return media_response(
            request,
            name,
            mime or "application/octet-stream",
            etag_seed=f"{video.content_hash[:16]}-{kind}-",
            filename=video.original_name if kind == "original" else None,
        )

    view.__name__ = f"video_{kind}"
    return view


@require_safe
def video_waveform(request, pk: int):
    """The sound's min/max overview (``waveform.json``), with the poster's permission checks."""
    video = _visible_video(request, pk)
    if not isinstance(video, Video):
        return video
    if video.status != Video.Status.READY:
        return _error(409, f"The video is not processed yet (status: {video.status}).")
    if video.audio_error:
        return _error(404, f"This video has no waveform: {video.audio_error}")
    if not video.has_audio:
        return _error(404, "This video has no sound, so it has no waveform.")
    if not video.waveform or not media.exists(video.waveform.name):
        return _error(404, "This video's waveform has not been made yet; process the video again.")
    # Proxied, never redirected: the page fetch()es it, and the store is another origin.
    return media_response(
        request,
        video.waveform.name,
        "application/json",
        etag_seed=f"{video.content_hash[:16]}-waveform-",
        redirect=False,
    )


video_stream = _file_view("stream")
video_poster = _file_view("poster")
video_sprite = _file_view("sprite")
video_original = _file_view("original")

__all__ = [
    "VideoViewSet",
    "video_original",
    "video_poster",
    "video_sprite",
    "video_stream",
    "video_waveform",
]
