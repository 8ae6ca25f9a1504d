"""Patient-education texts an organisation can edit (org admins): the list of topics, and one
topic's editor with a preview and "reset to built-in"."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods, require_POST

from tandem.accounts.access import access_admin_organisation
from tandem.audit.access import record_denied
from tandem.lib.http import AuthenticatedHttpRequest
from tandem.plans import education
from tandem.plans.education_actions import do_reset_education_topic, do_save_education_topic
from tandem.plans.models import EducationKind, EducationTopic


class TopicForm(forms.Form):
    title = forms.CharField(label="Title", max_length=200)
    body = forms.CharField(
        label="Text (Markdown)",
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 18}),
        help_text="Plain language. **bold**, *italic*, lists with “- ”, links as [text](https://…). "
        "HTML is shown as text, not run.",
    )


def _topic(request: HttpRequest, kind: str, key: str) -> tuple[str, str]:
    if not education.is_topic(kind, key):
        record_denied(request, "EducationTopic", f"{kind}/{key}"[:64])
        raise Http404
    return kind, key


@login_required
def topic_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    org = access_admin_organisation(request)
    own = {
        (t.kind, t.key): t
        for t in EducationTopic.objects.filter(organisation=org).select_related("updated_by")
    }
    groups = [
        {
            "label": EducationKind(kind).label,
            "topics": [
                {"kind": kind, "key": key, "label": label, "own": own.get((kind, key))}
                for key, label in topics.items()
            ],
        }
        for kind, topics in education.CATALOGUE.items()
    ]
    return render(request, "plans/education/list.html", {"org": org, "groups": groups})


@login_required
@require_http_methods(["GET", "POST"])
def topic_edit(request: AuthenticatedHttpRequest, kind: str, key: str) -> HttpResponse:
    org = access_admin_organisation(request)
    kind, key = _topic(request, kind, key)
    own = EducationTopic.objects.filter(organisation=org, kind=kind, key=key).first()
    builtin_title, builtin_body = education.builtin(kind, key)
    if request.method == "POST":
        form = TopicForm(request.POST)
        if form.is_valid():
            do_save_education_topic(
                org,
                kind,
                key,
                title=form.cleaned_data["title"],
                body=form.cleaned_data["body"],
                acting_user=request.user,
                request=request,
            )
            messages.success(request, f"Saved. Patients of {org.name} now see your version.")
            return redirect("education:edit", kind=kind, key=key)
    else:
        initial = (
            {"title": own.title, "body": own.body} if own else {"title": builtin_title, "body": builtin_body}
        )
        form = TopicForm(initial=initial)
    preview_title = form["title"].value() or ""
    preview_body = form["body"].value() or ""
    context = {
        "org": org,
        "kind": kind,
        "key": key,
        "kind_label": EducationKind(kind).label,
        "label": education.CATALOGUE[kind][key],
        "own": own,
        "form": form,
        "preview_title": preview_title,
        "preview_body": preview_body,
    }
    return render(request, "plans/education/edit.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def topic_reset(request: AuthenticatedHttpRequest, kind: str, key: str) -> HttpResponse:
    org = access_admin_organisation(request)
    kind, key = _topic(request, kind, key)
    if do_reset_education_topic(org, kind, key, acting_user=request.user, request=request):
        messages.success(request, "Back to the built-in text.")
    else:
        messages.info(request, "This topic already uses the built-in text.")
    return redirect("education:edit", kind=kind, key=key)


urlpatterns = [
    path("", topic_list, name="list"),
    path("<slug:kind>/<slug:key>/", topic_edit, name="edit"),
    path("<slug:kind>/<slug:key>/reset/", topic_reset, name="reset"),
]
