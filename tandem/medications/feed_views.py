"""The calendar feed: no session, the token in the URL is the credential. An unknown, revoked or
no longer usable token gets one and the same 404, byte for byte (the site's 404 page carries a
per-request CSRF token and sets a cookie); every fetch is audited."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.utils import timezone
from django.views.decorators.http import require_safe

from tandem.medications.calendar import audit_fetch, build_feed, find_feed, is_live
from tandem.medications.feed_models import CalendarFeed

NOT_FOUND = "Not found. This calendar link does not exist or was turned off.\n"


@require_safe
def dose_feed(request: HttpRequest, token: str) -> HttpResponse:
    now = timezone.now()
    feed = find_feed(token)
    if feed is None or not is_live(feed):
        audit_fetch(request, feed)
        return HttpResponseNotFound(NOT_FOUND, content_type="text/plain; charset=utf-8")
    body, events = build_feed(feed, now)
    with transaction.atomic():
        audit_fetch(request, feed, events=events)
        CalendarFeed.objects.filter(pk=feed.pk).update(last_fetched_at=now)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="tandem.ics"'
    response["Cache-Control"] = "private, no-cache"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
