"""Recording an administered instrument: from the portal, by a clinician in session, or from
another system as a FHIR QuestionnaireResponse — one action, so they all score and store alike.

The result says whether the submission meets the safety rule (PHQ-9 item 9 ≥ 1 or a positive
C-SSRS screen) and why; acting on it is the safety workflow's job, not this one's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from tandem.accounts.models import User
from tandem.audit.actions import audit_patient_event
from tandem.audit.models import Action
from tandem.measures import definitions
from tandem.measures.fhir import FhirInputError, Issue, parse_response
from tandem.measures.models import AdministeredBy, InstrumentResponse, Source
from tandem.measures.rules import AnswerError, Safety, Sex, score
from tandem.patients.models import Patient

ENTITY = "QuestionnaireResponse"
# A clock a little ahead on the sender's side is tolerated; a response from the future is not.
FUTURE_SLACK = timedelta(minutes=5)


class MeasureError(ValueError):
    """Bad input. `field` names the first field at fault (an item's linkId for an answer);
    `errors` lists (field, message) for every problem, so a form can mark each question."""

    def __init__(self, field: str, message: str, errors: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.errors = errors or [(field, message)]


@dataclass(frozen=True)
class Submission:
    response: InstrumentResponse
    created: bool  # False: a duplicate (same idempotency key); `response` is the first one
    safety: Safety

    @property
    def http_status(self) -> int:
        return 201 if self.created else 200


def stored_safety(response: InstrumentResponse) -> Safety:
    return Safety(
        triggered=response.safety_triggered,
        reasons=tuple(response.safety_reasons),
        rule_ids=tuple(response.flags.get("safety_rules", ())),
        note=response.flags.get("safety_note", ""),
    )


@transaction.atomic
def do_record_response(
    patient: Patient,
    *,
    instrument: str,
    answers: Mapping[str, Any],
    administered_by: str,
    source: str,
    idempotency_key: str,
    acting_user: User | None,
    request: HttpRequest | None = None,
    role: str = "",
    authored_at: datetime | None = None,
    sex: Sex | None = None,
    raw_resource: dict[str, Any] | None = None,
    fhir_identifier: str = "",
    now: datetime | None = None,
) -> Submission:
    """Score and store one administration, once per idempotency key.

    Bad answers raise MeasureError naming each question; nothing is stored for them. A form
    with questions left unanswered is stored, not scored. Queries: the insert (in a savepoint,
    so a concurrent duplicate is caught by the unique key) and the audit row.
    """
    now = now or timezone.now()
    key = idempotency_key.strip()
    if not 8 <= len(key) <= 200:
        raise MeasureError("idempotency_key", "must be 8 to 200 characters")
    if administered_by not in AdministeredBy.values:
        raise MeasureError("administered_by", "must be the patient, a clinician or an external system")
    if source not in Source.values:
        raise MeasureError("source", "must be portal, clinician or FHIR")
    try:
        defn = definitions.get(instrument)
    except KeyError:
        raise MeasureError("instrument", f"{instrument!r} is not an instrument Tandem knows") from None
    authored_at = authored_at or now
    if authored_at > now + FUTURE_SLACK:
        raise MeasureError("authored_at", "is in the future")
    try:
        result = score(defn, answers, sex=sex)
    except AnswerError as exc:
        raise MeasureError(exc.field, str(exc), exc.errors) from None
    flags = dict(result.flags)
    if result.safety.rule_ids:
        flags["safety_rules"] = list(result.safety.rule_ids)
    if result.safety.note:
        flags["safety_note"] = result.safety.note
    try:
        with transaction.atomic():
            response = InstrumentResponse.objects.create(
                patient=patient,
                instrument=defn.id,
                version=defn.version,
                answers={link: a.as_dict() for link, a in result.answers.items()},
                item_values=result.item_values,
                scored=result.scored,
                missing=list(result.missing),
                total=result.total,
                band=result.band if result.scored else "",
                band_label=result.band_label,
                subscores=result.subscores,
                flags=flags,
                item9=result.item_values.get("/44260-8") if defn.id == "phq-9" else None,
                safety_triggered=result.safety.triggered,
                safety_reasons=list(result.safety.reasons),
                administered_by=administered_by,
                source=source,
                entered_by=acting_user if acting_user is not None and acting_user.is_authenticated else None,
                authored_at=authored_at,
                received_at=now,
                idempotency_key=key,
                fhir_identifier=fhir_identifier,
                raw_resource=raw_resource,
            )
    except IntegrityError:
        first = InstrumentResponse.objects.get(patient=patient, idempotency_key=key)
        return Submission(first, created=False, safety=stored_safety(first))
    audit_patient_event(
        acting_user,
        Action.CREATE,
        ENTITY,
        response.pk,
        patient,
        request=request,
        role=role,
        instrument=defn.id,
        source=source,
        scored=result.scored,
        safety=result.safety.triggered,
    )
    if result.safety.triggered:  # the safety workflow, in this same transaction
        from tandem.safety.actions import do_open_safety_flag

        do_open_safety_flag(
            response, result.safety, acting_user=acting_user, request=request, role=role, now=now
        )
    return Submission(response, created=True, safety=result.safety)


def do_ingest_questionnaire_response(
    patient: Patient,
    resource: Any,
    acting_user: User | None,
    request: HttpRequest | None = None,
    *,
    role: str = "",
    now: datetime | None = None,
) -> Submission:
    """Store a QuestionnaireResponse sent by another system for `patient` (whom the caller has
    already checked the sender may see). Raises FhirInputError with an OperationOutcome naming
    each element at fault; the same identifier sent twice is stored once (created=False)."""
    parsed = parse_response(resource, patient_id=patient.pk)
    try:
        return do_record_response(
            patient,
            instrument=parsed.definition.id,
            answers=parsed.answers,
            administered_by=AdministeredBy.EXTERNAL,
            source=Source.FHIR,
            idempotency_key=parsed.idempotency_key,
            acting_user=acting_user,
            request=request,
            role=role,
            authored_at=parsed.authored_at,
            raw_resource=resource,
            fhir_identifier=parsed.identifier,
            now=now,
        )
    except MeasureError as exc:
        where = {"authored_at": "QuestionnaireResponse.authored"}
        raise FhirInputError(
            [
                Issue("value", parsed.paths.get(f, where.get(f, "QuestionnaireResponse")), m)
                for f, m in exc.errors
            ]
        ) from None
