"""Recording an administered instrument: from the portal, by a clinician in session, or from
another system as a FHIR QuestionnaireResponse — one action, so they all score and store alike.

The result says whether the submission meets the safety rule (PHQ-9 item 9 ≥ 1 or a positive
C-SSRS screen) and why; acting on it is the safety workflow's job, not this one's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from tandem.accounts.models import User
from tandem.audit.actions import patient_event, record_audit, record_audit_many
from tandem.audit.models import Action
from tandem.measures import definitions
from tandem.measures.fhir import FhirInputError, Issue, ParsedResponse, parse_response
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


@dataclass
class Prepared:
    """A scored administration ready to store (`response` unsaved), and who stores it."""

    response: InstrumentResponse
    safety: Safety
    role: str = ""


def prepare_response(
    patient: Patient,
    *,
    instrument: str,
    answers: Mapping[str, Any],
    administered_by: str,
    source: str,
    idempotency_key: str,
    acting_user: User | None,
    role: str = "",
    authored_at: datetime | None = None,
    sex: Sex | None = None,
    raw_resource: dict[str, Any] | None = None,
    fhir_identifier: str = "",
    now: datetime,
) -> Prepared:
    """Check and score one administration, without a query; MeasureError naming each question."""
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
    response = InstrumentResponse(
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
    return Prepared(response, result.safety, role)


def _audit_item(prepared: Prepared, acting_user: User | None) -> dict[str, Any]:
    response = prepared.response
    return patient_event(
        acting_user,
        Action.CREATE,
        ENTITY,
        response.pk,
        response.patient,
        role=prepared.role,
        instrument=response.instrument,
        source=response.source,
        scored=response.scored,
        safety=prepared.safety.triggered,
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
    prepared = prepare_response(
        patient,
        instrument=instrument,
        answers=answers,
        administered_by=administered_by,
        source=source,
        idempotency_key=idempotency_key,
        acting_user=acting_user,
        role=role,
        authored_at=authored_at,
        sex=sex,
        raw_resource=raw_resource,
        fhir_identifier=fhir_identifier,
        now=now,
    )
    response = prepared.response
    try:
        with transaction.atomic():
            response.save(force_insert=True)
    except IntegrityError:
        first = InstrumentResponse.objects.get(patient=patient, idempotency_key=response.idempotency_key)
        return Submission(first, created=False, safety=stored_safety(first))
    record_audit(request=request, **_audit_item(prepared, acting_user))
    if prepared.safety.triggered:  # the safety workflow, in this same transaction
        from tandem.safety.actions import do_open_safety_flag

        do_open_safety_flag(
            response, prepared.safety, acting_user=acting_user, request=request, role=role, now=now
        )
    return Submission(response, created=True, safety=prepared.safety)


@transaction.atomic
def do_store_responses(
    prepared: list[Prepared],
    *,
    acting_user: User | None,
    request: HttpRequest | None = None,
    now: datetime,
    insert: Callable[[list[InstrumentResponse]], list[InstrumentResponse]] | None = None,
) -> list[Submission]:
    """Store many new administrations (of any patients) in one transaction: one insert, one
    append of their audit rows, then the safety workflow for each that meets the safety rule —
    what do_record_response does for each. The caller has checked that no idempotency key is
    taken; a duplicate raises IntegrityError and nothing is stored. `insert` inserts the rows
    as bulk_create does (the default), their primary keys set."""
    from django.db.models.signals import post_save

    if not prepared:
        return []
    rows = (insert or InstrumentResponse.objects.bulk_create)([p.response for p in prepared])
    for row in rows:  # as save() would: the treat-to-target hook, etc.
        post_save.send(
            sender=InstrumentResponse,
            instance=row,
            created=True,
            update_fields=None,
            raw=False,
            using="default",
        )
    record_audit_many([_audit_item(p, acting_user) for p in prepared], request=request)
    triggered = [p for p in prepared if p.safety.triggered]
    if triggered:
        from tandem.safety.actions import do_open_safety_flag

        for item in triggered:
            do_open_safety_flag(
                item.response, item.safety, acting_user=acting_user, request=request, role=item.role, now=now
            )
    return [Submission(p.response, created=True, safety=p.safety) for p in prepared]


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
            patient, request=request, **_external(parsed, resource, acting_user, role=role, now=now)
        )
    except MeasureError as exc:
        raise _input_error(parsed, exc) from None


def prepare_ingest(
    patient: Patient,
    resource: Any,
    acting_user: User | None,
    *,
    role: str = "",
    now: datetime,
    structure_checked: bool = False,
) -> Prepared:
    """do_ingest_questionnaire_response's checks and scoring, without a query (for
    do_store_responses): FhirInputError naming each element at fault. With `structure_checked`,
    the caller has already validated the resource with fhir.resources (R4B)."""
    parsed = parse_response(resource, patient_id=patient.pk, structure_checked=structure_checked)
    try:
        return prepare_response(patient, **_external(parsed, resource, acting_user, role=role, now=now))
    except MeasureError as exc:
        raise _input_error(parsed, exc) from None


def _external(
    parsed: ParsedResponse, resource: Any, acting_user: User | None, *, role: str, now: datetime | None
) -> dict[str, Any]:
    """A response from another system, as do_record_response and prepare_response take it."""
    return {
        "instrument": parsed.definition.id,
        "answers": parsed.answers,
        "administered_by": AdministeredBy.EXTERNAL,
        "source": Source.FHIR,
        "idempotency_key": parsed.idempotency_key,
        "acting_user": acting_user,
        "role": role,
        "authored_at": parsed.authored_at,
        "raw_resource": resource,
        "fhir_identifier": parsed.identifier,
        "now": now,
    }


def _input_error(parsed: ParsedResponse, exc: MeasureError) -> FhirInputError:
    where = {"authored_at": "QuestionnaireResponse.authored"}
    return FhirInputError(
        [Issue("value", parsed.paths.get(f, where.get(f, "QuestionnaireResponse")), m) for f, m in exc.errors]
    )
