"""`{% therapy_nav %}`: the links between a patient's therapy pages (sessions, notes, skills
practice, visit feedback, check-ins), each shown only to those who may open it."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from tandem.patients.access import PatientGrant

register = template.Library()


@register.inclusion_tag("therapy/_nav.html", takes_context=True)
def therapy_nav(context: dict[str, Any]) -> dict[str, Any]:
    from tandem.feedback.access import feedback_viewer
    from tandem.practice.access import READ_BASES

    request = context["request"]
    grant = context["grant"]
    if not isinstance(grant, PatientGrant):  # e.g. the feedback page's own grant wraps one
        grant = grant.grant
    pid = grant.patient.pk
    links = [
        ("therapy:overview", "Sessions"),
        ("notes:list", "Session notes"),
    ]
    if grant.basis in READ_BASES:
        links.append(("practice:list", "Skills practice"))
    if feedback_viewer(request.user, grant) is not None:
        links.append(("feedback:list", "Visit feedback"))
    links.append(("feedback:checkins", "Check-ins"))
    match = request.resolver_match
    current = match.view_name if match else ""
    return {
        "links": [
            {"url": reverse(name, kwargs={"patient_id": pid}), "label": label, "current": name == current}
            for name, label in links
        ]
    }
