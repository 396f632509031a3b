from django.urls import path
from rest_framework.routers import SimpleRouter

from wherewhen.core.views import API_ROOT_LINKS
from wherewhen.explanations import views, waiting

router = SimpleRouter()
router.register("models", views.RegisteredModelViewSet, basename="registered-model")
router.register("explanations", views.ExplanationViewSet, basename="explanation")
router.register("explanation-flags", views.FlagViewSet, basename="explanation-flag")
router.register("explanation-exports", views.ExportViewSet, basename="explanation-export")
router.register("bulk-runs", views.BulkRunViewSet, basename="bulk-run")

API_ROOT_LINKS.update(
    {
        "models": "registered-model-list",
        "explanations": "explanation-list",
        "explanation-methods": "explanation-methods",
        "explanation-flags": "explanation-flag-list",
        "bulk-runs": "bulk-run-list",
    }
)

urlpatterns = [
    path("explanation-methods/", views.MethodListView.as_view(), name="explanation-methods"),
    path(
        "explanations/<int:pk>/status/wait/",
        waiting.status_wait,
        name="explanation-status-wait",
    ),
    *router.urls,
]
