from django.http import HttpRequest, HttpResponse
from django.urls import path

from tandem.urls import handler403, handler404, handler500, urlpatterns  # noqa: F401


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("database said: patient Pat Patient MRN RC-1 is locked")


urlpatterns = [*urlpatterns, path("boom/", boom, name="boom")]
