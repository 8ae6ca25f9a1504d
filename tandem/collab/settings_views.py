"""Settings around alerts: an organisation's routing rules (its admin) and a clinician's own
daily digest."""

from __future__ import annotations

from datetime import time

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from tandem.accounts.access import access_admin_organisation
from tandem.audit.access import record_denied
from tandem.collab import digest, routing
from tandem.lib.http import AuthenticatedHttpRequest
from tandem.patients.views import _clinician_only


def _kind(request: HttpRequest, kind: str) -> str:
    if kind not in routing.KINDS:
        record_denied(request, "AlertRoutingRule", kind[:64])
        raise Http404
    return kind


@login_required
def routing_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    org = access_admin_organisation(request)
    rules = routing.rules_of(org)
    rows = [
        {
            "kind": kind,
            "label": label,
            "raised_when": raised_when,
            "roles": [routing.ROLE_LABELS.get(r, r) for r in rules.get(kind, [])],
        }
        for kind, (label, raised_when) in routing.KINDS.items()
    ]
    return render(request, "collab/routing_list.html", {"org": org, "rows": rows})


class RoutingForm(forms.Form):
    roles = forms.MultipleChoiceField(
        label="Care-team roles that receive it",
        choices=[(r, routing.ROLE_LABELS[r]) for r in routing.ALL_ROLES],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Everyone on the patient's team in these roles sees the alert in their inbox.",
    )


@login_required
@require_http_methods(["GET", "POST"])
def routing_edit(request: AuthenticatedHttpRequest, kind: str) -> HttpResponse:
    org = access_admin_organisation(request)
    kind = _kind(request, kind)
    current = routing.rules_of(org).get(kind)
    if request.method == "POST":
        form = RoutingForm(request.POST)
        if form.is_valid():
            try:
                routing.do_set_routing_rule(
                    org, kind, form.cleaned_data["roles"], acting_user=request.user, request=request
                )
            except routing.RoutingError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc))
            else:
                messages.success(
                    request, f"Saved: new {routing.kind_label(kind).lower()} alerts go to these roles."
                )
                return redirect("collab:routing")
    else:
        form = RoutingForm(initial={"roles": current or []})
    context = {
        "org": org,
        "kind": kind,
        "label": routing.kind_label(kind),
        "raised_when": routing.KINDS[kind][1],
        "current": current,
        "form": form,
    }
    return render(request, "collab/routing_edit.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def routing_reset(request: AuthenticatedHttpRequest, kind: str) -> HttpResponse:
    org = access_admin_organisation(request)
    kind = _kind(request, kind)
    if routing.do_reset_routing_rule(org, kind, acting_user=request.user, request=request):
        messages.success(request, "Back to the roles each rule chooses.")
    else:
        messages.info(request, "This kind of alert already goes to the roles each rule chooses.")
    return redirect("collab:routing")


class DigestForm(forms.Form):
    enabled = forms.BooleanField(label="Send me a daily summary of my alerts by e-mail", required=False)
    send_at = forms.TimeField(
        label="At (your organisation's local time)",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text="Only sent on days when alerts are waiting. It never names a patient.",
        error_messages={"required": "Enter a time like 07:30.", "invalid": "Enter a time like 07:30."},
    )


@login_required
@require_http_methods(["GET", "POST"])
def digest_settings(request: AuthenticatedHttpRequest) -> HttpResponse:
    _clinician_only(request)
    pref = digest.preference_for(int(request.user.pk))
    if request.method == "POST":
        form = DigestForm(request.POST)
        if form.is_valid():
            send_at: time = form.cleaned_data["send_at"]
            digest.do_set_digest_preference(
                request.user, enabled=form.cleaned_data["enabled"], send_at=send_at, request=request
            )
            messages.success(request, "Saved.")
            return redirect("collab:digest_settings")
    else:
        form = DigestForm(initial={"enabled": pref.enabled, "send_at": pref.send_at})
    return render(
        request,
        "collab/digest_settings.html",
        {"form": form, "pref": pref},
        status=400 if form.errors else 200,
    )
