"""Crowd annotation API, under /api/v1/annotation/."""

from rest_framework.routers import SimpleRouter

from wherewhen.annotations import review_views, tracking_views, views
from wherewhen.core.views import API_ROOT_LINKS

router = SimpleRouter()
router.register("annotation/projects", views.ProjectViewSet, basename="annotation-project")
router.register("annotation/tasks", views.TaskViewSet, basename="annotation-task")
router.register("annotation/queue", views.QueueViewSet, basename="annotation-queue")
router.register(
    "annotation/review-queue", review_views.ReviewQueueViewSet, basename="annotation-review-queue"
)
router.register("annotation/assignments", views.AssignmentViewSet, basename="annotation-assignment")
router.register(
    "annotation/tracking", tracking_views.TrackingJobViewSet, basename="annotation-tracking"
)

urlpatterns = router.urls

API_ROOT_LINKS.update(
    {
        "annotation-projects": "annotation-project-list",
        "annotation-tasks": "annotation-task-list",
        "annotation-queue": "annotation-queue-list",
        "annotation-assignments": "annotation-assignment-list",
    }
)
