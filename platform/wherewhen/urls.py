from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from wherewhen.core import media
from wherewhen.core import views as core_views

api_v1 = [
    path("", core_views.ApiRootView.as_view(), name="api-root"),
    path("auth/", include("wherewhen.accounts.urls")),
    path("", include("wherewhen.videos.urls")),
    path("", include("wherewhen.annotations.urls")),
    path("", include("wherewhen.explanations.urls")),
    path("", include("wherewhen.scoring.urls")),
    path("", include("wherewhen.studies.urls")),
    path("", include("wherewhen.metaeval.urls")),
]

handler404 = "wherewhen.core.errors.handler404"
handler500 = "wherewhen.core.errors.handler500"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file: no inline script, so the CSP holds.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    path("healthz", core_views.healthz, name="healthz"),
    # Everything else is a route of the single-page app (but never an API, media or static path).
    re_path(
        r"^(?!api/|admin/|static/|media/|healthz)(?P<path>.*)$",
        core_views.spa,
        name="spa",
    ),
]

if settings.DEBUG and media.is_local():
    from django.conf.urls.static import static

    urlpatterns = static(settings.MEDIA_URL, document_root=media.local_root()) + urlpatterns
