from django.urls import path
from rest_framework.routers import SimpleRouter

from wherewhen.core.views import API_ROOT_LINKS
from wherewhen.studies import views

router = SimpleRouter()
router.register("studies", views.StudyViewSet, basename="study")

API_ROOT_LINKS.update({"studies": "study-list"})

urlpatterns = [
    path("participate/start/<slug:slug>/", views.StartView.as_view(), name="participate-start"),
    path("participate/state/", views.StateView.as_view(), name="participate-state"),
    path("participate/consent/", views.ConsentView.as_view(), name="participate-consent"),
    path(
        "participate/instructions/",
        views.InstructionsView.as_view(),
        name="participate-instructions",
    ),
    path("participate/return/", views.ReturnView.as_view(), name="participate-return"),
    path("participate/trial/", views.TrialView.as_view(), name="participate-trial"),
    path("participate/answer/", views.AnswerView.as_view(), name="participate-answer"),
    path(
        "participate/media/<str:token>/<str:stimulus>/video",
        views.StimulusVideoView.as_view(),
        name="participate-video",
    ),
    path(
        "participate/media/<str:token>/<str:stimulus>/map",
        views.StimulusMapView.as_view(),
        name="participate-map",
    ),
    *router.urls,
]
