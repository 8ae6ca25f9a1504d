"""Questionnaires in the JSON API, for the signed-in or token-holding patient.

GET /api/questionnaires/due — what is due today (the patient's local day), with the questions of
each instrument the patient may answer alone (scope: Questionnaire search).
POST /api/questionnaires/{instrument}/responses — answers by linkId (an answer code, or a number
for number items), the same action as the portal: scored, stored, audited, treat-to-target rules
and the safety workflow run; once per idempotency key (scope: QuestionnaireResponse create).
The response says whether the app must show crisis resources now, and which lines.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Path, Router, Schema, Status
from pydantic import Field

from tandem.lib.api import ERRORS, WRITE_ERRORS, Crisis, crisis_body, error_body, require_scope
from tandem.lib.timezones import local_date
from tandem.measures import definitions
from tandem.measures.access import ENTITY
from tandem.measures.actions import MeasureError, do_record_response
from tandem.measures.definitions import Definition
from tandem.measures.models import AdministeredBy, Source
from tandem.measures.schedule import due_instruments
from tandem.patients.access import access_own_patient

router = Router(tags=["Questionnaires"])
# The fields of the request an action error may name; any other name is an answer's linkId.
FIELDS = frozenset({"idempotency_key", "authored_at", "sex"})
CRISIS_REASON = (
    "Your answers tell us you may be going through a very hard time. Your care team has been told. "
    "You do not have to wait for your next appointment."
)


class OptionOut(Schema):
    code: str = Field(description="the answer code to send (LOINC LA… codes where published)")
    display: str


class QuestionOut(Schema):
    link_id: str = Field(description="the key of this question's answer in `answers`")
    number: int | str
    text: str
    type: Literal["choice", "integer", "text"]
    required: bool
    options: list[OptionOut] = Field(description="choice questions: the answers to choose from")
    min: int | None = Field(description="integer questions: the smallest value")
    max: int | None = Field(description="integer questions: the largest value")
    max_length: int | None = Field(description="text questions: the longest answer")


class DueOut(Schema):
    instrument: str = Field(description="the id to post answers to, e.g. phq-9")
    short_name: str
    name: str
    due_on: date
    reason: str
    answer_here: bool = Field(description="false: given in session with the official form, not in the app")
    questions: list[QuestionOut] = Field(description="empty when the instrument is not answered in the app")


class ResponseIn(Schema):
    answers: dict[str, int | str | None] = Field(
        max_length=100,
        description="linkId → answer code (choice), whole number (integer) or text; a question left "
        "out or null is unanswered",
    )
    idempotency_key: str = Field(min_length=8, max_length=200)
    authored_at: datetime | None = Field(default=None, description="when it was answered; default: now")
    sex: Literal["female", "male"] | None = Field(
        default=None, description="AUDIT-C only: the threshold depends on it"
    )


class ResponseOut(Schema):
    id: int
    instrument: str
    created: bool = Field(description="false when this idempotency key was already recorded")
    authored_at: datetime
    complete: bool = Field(description="false: required questions were left unanswered")
    unanswered: list[str] = Field(description="linkIds of required questions left unanswered")
    crisis: Crisis


def _self_administered(instrument: str) -> Definition | None:
    defn = definitions.registry().get(instrument)
    if defn is None or not defn.self_administrable or defn.scoring.method == "none":
        return None
    return defn


def _questions(defn: Definition) -> list[dict[str, Any]]:
    return [
        {
            "link_id": item.link_id,
            "number": item.number,
            "text": item.text,
            "type": item.type,
            "required": item.required,
            "options": [{"code": o.code, "display": o.display} for o in defn.options(item)],
            "min": item.min,
            "max": item.max,
            "max_length": item.max_length,
        }
        for item in defn.items
    ]


@router.get(
    "/questionnaires/due",
    response={200: list[DueOut], **ERRORS},
    url_name="questionnaires_due",
    operation_id="questionnaires_due",
    summary="Your questionnaires due today",
)
def due(request: HttpRequest) -> Any:
    """Soonest due first (scope: Questionnaire search). The read is audited."""
    require_scope(request, "Questionnaire", "search")
    patient = access_own_patient(request, entity=ENTITY).patient
    rows = []
    for item in due_instruments(patient, local_date(timezone.now(), patient.time_zone)):
        defn = definitions.get(item.instrument)
        here = _self_administered(defn.id) is not None
        rows.append(
            {
                "instrument": defn.id,
                "short_name": defn.short_name,
                "name": defn.name,
                "due_on": item.due_on,
                "reason": item.reason,
                "answer_here": here,
                "questions": _questions(defn) if here else [],
            }
        )
    return rows


@router.post(
    "/questionnaires/{instrument}/responses",
    response={201: ResponseOut, 200: ResponseOut, **WRITE_ERRORS},
    url_name="questionnaire_respond",
    operation_id="questionnaire_respond",
    summary="Send your answers to a questionnaire",
)
def respond(
    request: HttpRequest,
    payload: ResponseIn,
    instrument: str = Path(..., max_length=40, description="e.g. phq-9, gad-7"),
) -> Any:
    """Scored and stored like the portal's form (scope: QuestionnaireResponse create); 201, or
    200 with the first response for an idempotency key already used. 404 for an instrument not
    answered in the app. Each answer at fault is named `answers.<linkId>` in a 422."""
    require_scope(request, ENTITY, "create")
    grant = access_own_patient(request, entity=ENTITY, audit_read=False)
    defn = _self_administered(instrument)
    if defn is None:
        raise Http404
    try:
        submission = do_record_response(
            grant.patient,
            instrument=defn.id,
            answers=payload.answers,
            administered_by=AdministeredBy.PATIENT,
            source=Source.PORTAL,
            idempotency_key=payload.idempotency_key,
            acting_user=request.user,  # type: ignore[arg-type]
            request=request,
            role="patient",
            authored_at=payload.authored_at,
            sex=payload.sex,
        )
    except MeasureError as exc:
        errors: dict[str, list[str]] = {}
        for field, message in exc.errors:
            errors.setdefault(field if field in FIELDS else f"answers.{field}", []).append(message)
        return Status(422, error_body("The answers are not valid.", errors))
    response = submission.response
    body = {
        "id": response.pk,
        "instrument": response.instrument,
        "created": submission.created,
        "authored_at": response.authored_at,
        "complete": response.scored,
        "unanswered": list(response.missing),
        "crisis": crisis_body(grant.patient, show=submission.safety.triggered, reason=CRISIS_REASON),
    }
    return Status(submission.http_status, body)
