"""Meta-evaluation API, under /api/v1/meta-evaluation/."""

from django.urls import path

from wherewhen.core.views import API_ROOT_LINKS
from wherewhen.metaeval import views

urlpatterns = [
    path("meta-evaluation/", views.MetaEvaluationView.as_view(), name="meta-evaluation"),
    path(
        "meta-evaluation/export.csv",
        views.MetaEvaluationCsvView.as_view(),
        name="meta-evaluation-csv",
    ),
    path(
        "studies/<int:pk>/stimulus-selections/",
        views.StimulusSelectionView.as_view(),
        name="study-stimulus-selections",
    ),
    path("studies/<int:pk>/dry-runs/", views.DryRunView.as_view(), name="study-dry-runs"),
    path(
        "meta-evaluation/export.json",
        views.MetaEvaluationJsonView.as_view(),
        name="meta-evaluation-json",
    ),
]

API_ROOT_LINKS.update({"meta-evaluation": "meta-evaluation"})
