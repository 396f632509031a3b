from django.urls import path
from rest_framework.routers import SimpleRouter

from wherewhen.core.views import API_ROOT_LINKS
from wherewhen.videos import views

router = SimpleRouter()
router.register("videos", views.VideoViewSet, basename="video")

API_ROOT_LINKS["videos"] = "video-list"

urlpatterns = [
    path("videos/<int:pk>/stream/", views.video_stream, name="video-stream"),
    path("videos/<int:pk>/poster/", views.video_poster, name="video-poster"),
    path("videos/<int:pk>/sprite/", views.video_sprite, name="video-sprite"),
    path("videos/<int:pk>/original/", views.video_original, name="video-original"),
    path("videos/<int:pk>/waveform/", views.video_waveform, name="video-waveform"),
    *router.urls,
]
