""" "My tasks": the hand-offs addressed to the signed-in clinician across their patients, and the
ones they sent, for patients whose care team they are still on. A fixed number of queries."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from tandem.handoffs import access
from tandem.handoffs.models import HandoffStatus
from tandem.lib.http import AuthenticatedHttpRequest
from tandem.patients.views import _clinician_only

LIMIT = 200
RECENT = timedelta(days=14)


@login_required
def my_tasks(request: AuthenticatedHttpRequest) -> HttpResponse:
    _clinician_only(request)
    now = timezone.now()
    since = now - RECENT
    mine = access.tasks_for(request.user)
    todo = list(mine.exclude(status=HandoffStatus.DONE).order_by("due_by", "pk")[:LIMIT])
    done = list(
        mine.filter(status=HandoffStatus.DONE, done_at__gte=since).order_by("-done_at", "-pk")[:LIMIT]
    )
    sent = list(
        access.sent_by(request.user)
        .exclude(status=HandoffStatus.DONE, done_at__lt=since)
        .order_by("status", "due_by", "pk")[:LIMIT]
    )
    access.audit_task_list(request, {h.patient_id for h in [*todo, *done, *sent]})
    context = {
        "todo": todo,
        "done": done,
        "sent": sent,
        "overdue": sum(1 for h in todo if h.is_overdue(now)),
        "now": now,
    }
    return render(request, "handoffs/tasks.html", context)


urlpatterns = [path("", my_tasks, name="mine")]
