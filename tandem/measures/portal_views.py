"""The patient's questionnaires in the portal: what is due, answering one (a short list of
questions, large tap targets, a hidden idempotency key so a double submit records one response),
and a confirmation. Instruments whose wording Tandem does not reproduce are given in session."""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from tandem.lib.http import AuthenticatedHttpRequest
from tandem.lib.timezones import local_date
from tandem.measures import definitions
from tandem.measures.access import ENTITY, access_response
from tandem.measures.actions import MeasureError, do_record_response
from tandem.measures.definitions import Definition
from tandem.measures.forms import InstrumentForm
from tandem.measures.models import AdministeredBy, Source
from tandem.measures.reminder_actions import do_set_questionnaire_emails
from tandem.measures.reminders import emails_on
from tandem.measures.schedule import due_instruments
from tandem.patients.access import PatientGrant, access_own_patient


def _self_administered(instrument: str) -> Definition:
    defn = definitions.registry().get(instrument)
    if defn is None or not defn.self_administrable or defn.scoring.method == "none":
        raise Http404
    return defn


@login_required
def due(request: AuthenticatedHttpRequest) -> HttpResponse:
    grant = access_own_patient(request, entity=ENTITY)
    patient = grant.patient
    today = local_date(timezone.now(), patient.time_zone)
    rows = []
    for item in due_instruments(patient, today):
        defn = definitions.get(item.instrument)
        rows.append({"due": item, "definition": defn, "here": defn.self_administrable})
    context = {"patient": patient, "rows": rows, "emails_on": emails_on(patient.pk)}
    return render(request, "portal/measures/due.html", context)


@login_required
@require_POST
def reminder_emails(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Turn questionnaire reminder e-mails on ("email=on") or off (anything else)."""
    grant = access_own_patient(request, entity="QuestionnaireReminderPreference", audit_read=False)
    email = request.POST.get("email") == "on"
    do_set_questionnaire_emails(grant.patient, email, acting_user=request.user, request=request)
    messages.success(
        request,
        "We will e-mail you when a questionnaire is due."
        if email
        else "We will no longer e-mail you about questionnaires. They still show here and on your home page.",
    )
    return redirect("portal_measures:due")


@login_required
@require_http_methods(["GET", "POST"])
def answer(request: AuthenticatedHttpRequest, instrument: str) -> HttpResponse:
    posting = request.method == "POST"
    grant = access_own_patient(request, entity=ENTITY, audit_read=not posting)
    defn = _self_administered(instrument)
    if not posting:
        form = InstrumentForm(initial={"key": secrets.token_urlsafe(16)}, definition=defn)
        return _page(request, grant, form, 200)
    data = request.POST.copy()
    expired = not 8 <= len(data.get("key", "").strip()) <= 64
    if expired:  # no usable key: nothing is recorded; a fresh key for the next try
        data["key"] = secrets.token_urlsafe(16)
    form = InstrumentForm(data, definition=defn)
    if expired:
        form.is_valid()
        form.add_error(None, "This form could not be sent. Check your answers and send it again.")
        return _page(request, grant, form, 400)
    if form.is_valid():
        try:
            submission = do_record_response(
                grant.patient,
                instrument=defn.id,
                answers=form.answers(),
                administered_by=AdministeredBy.PATIENT,
                source=Source.PORTAL,
                idempotency_key=form.cleaned_data["key"],
                acting_user=request.user,
                request=request,
                role="patient",
            )
        except MeasureError as exc:
            for link_id, message in exc.errors:
                name = form.name_for(link_id)
                form.add_error(name if name else None, message)
        else:
            return redirect(reverse("portal_measures:done", kwargs={"response_id": submission.response.pk}))
    return _page(request, grant, form, 400)


def _page(
    request: AuthenticatedHttpRequest, grant: PatientGrant, form: InstrumentForm, status: int
) -> HttpResponse:
    questions = form.questions()
    context = {
        "patient": grant.patient,
        "form": form,
        "definition": form.definition,
        "questions": questions,
        "problems": [f"question {q['item'].number}" for q in questions if q["field"].errors],
    }
    return render(request, "portal/measures/answer.html", context, status=status)


@login_required
def done(request: AuthenticatedHttpRequest, response_id: int) -> HttpResponse:
    grant = access_own_patient(request, entity=ENTITY)
    response = access_response(grant, request, response_id)
    defn = definitions.registry().get(response.instrument)
    context = {"patient": grant.patient, "response": response, "definition": defn}
    if response.safety_triggered:  # the safety workflow's crisis screen leads the page
        from tandem.safety.screen import crisis_context

        context.update(crisis_context(request, grant.patient))
    return render(request, "portal/measures/done.html", context)
