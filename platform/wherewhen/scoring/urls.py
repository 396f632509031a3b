"""Scoring API, under /api/v1/scoring/."""

from django.urls import path

from wherewhen.core.views import API_ROOT_LINKS
from wherewhen.scoring import views

urlpatterns = [
    path("scoring/scores/", views.ScoresView.as_view(), name="scoring-scores"),
    path(
        "scoring/scores/export.csv",
        views.ScoresExportView.as_view(fmt="csv"),
        name="scoring-scores-csv",
    ),
    path(
        "scoring/scores/export.json",
        views.ScoresExportView.as_view(fmt="json"),
        name="scoring-scores-json",
    ),
    path("scoring/leaderboards/", views.LeaderboardView.as_view(), name="scoring-leaderboard"),
    path(
        "scoring/leaderboards/clips/",
        views.LeaderboardClipsView.as_view(),
        name="scoring-leaderboard-clips",
    ),
    path(
        "scoring/leaderboards/export.csv",
        views.LeaderboardCsvView.as_view(),
        name="scoring-leaderboard-csv",
    ),
    path(
        "scoring/leaderboards/export.json",
        views.LeaderboardJsonView.as_view(),
        name="scoring-leaderboard-json",
    ),
    path("scoring/projects/<int:pk>/", views.ProjectScoringView.as_view(), name="scoring-project"),
    path(
        "scoring/projects/<int:pk>/recompute/",
        views.RecomputeView.as_view(),
        name="scoring-project-recompute",
    ),
]

API_ROOT_LINKS.update(
    {"scoring-scores": "scoring-scores", "scoring-leaderboards": "scoring-leaderboard"}
)
