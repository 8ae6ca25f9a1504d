"""The safety workflow's writes, each in one transaction and audited.

`do_open_safety_flag` runs inside the transaction that stores a submission meeting the safety
rule (tandem.measures.actions.do_record_response): the flag, the trigger, the risk-assessment
task and the urgent, escalating alert are committed with the response or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from tandem.accounts.models import Role, User
from tandem.audit.actions import audit_patient_event, record_audit
from tandem.audit.models import Action
from tandem.collab.actions import do_raise_alert, do_resolve_alert
from tandem.collab.models import AlertStatus, Severity
from tandem.measures import definitions
from tandem.measures.models import InstrumentResponse, Source
from tandem.measures.rules import Safety
from tandem.patients.models import Patient
from tandem.safety import assessment
from tandem.safety.models import (
    AssessmentTask,
    CrisisSettings,
    FlagStatus,
    RiskAssessment,
    RiskLevel,
    SafetyFlag,
    SafetyTrigger,
    TaskStatus,
)

ALERT_KIND = "safety"
ROUTE_TO = [Role.CARE_MANAGER, Role.PRESCRIBER, Role.THERAPIST, Role.PSYCHIATRIC_CONSULTANT]
SOURCE_WORDS: dict[str, str] = {
    Source.PORTAL: "answered by the patient in the portal",
    Source.CLINICIAN: "administered by a clinician",
    Source.FHIR: "received from another system (FHIR)",
}


class SafetyError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _rule_sources(instrument: str, rule_ids: tuple[str, ...]) -> str:
    defn = definitions.registry().get(instrument)
    if defn is None:
        return ""
    return "; ".join(rule.source for rule in defn.safety if rule.id in rule_ids)


def _open_flag(patient: Patient, now: datetime) -> tuple[SafetyFlag, bool]:
    flag = SafetyFlag.objects.filter(patient=patient, status=FlagStatus.OPEN).first()
    if flag is not None:
        return flag, False
    try:
        with transaction.atomic():
            return SafetyFlag.objects.create(patient=patient, opened_at=now), True
    except IntegrityError:  # another submission opened it a moment ago
        return SafetyFlag.objects.get(patient=patient, status=FlagStatus.OPEN), False


def do_open_safety_flag(
    response: InstrumentResponse,
    safety: Safety,
    *,
    acting_user: User | None,
    request: HttpRequest | None = None,
    role: str = "",
    now: datetime | None = None,
) -> SafetyTrigger:
    """Flag the patient (or add to their open flag), open the risk-assessment task and raise an
    urgent alert that must be acknowledged in time. Call it inside the response's transaction."""
    now = now or timezone.now()
    patient = response.patient
    with transaction.atomic():
        flag, opened = _open_flag(patient, now)
        trigger = SafetyTrigger.objects.create(
            flag=flag,
            response=response,
            instrument=response.instrument,
            rule_ids=list(safety.rule_ids),
            reasons=list(safety.reasons),
            source=response.source,
            at=now,
        )
        if opened:
            AssessmentTask.objects.create(flag=flag, patient=patient, created_at=now)
        defn = definitions.registry().get(response.instrument)
        name = defn.short_name if defn else response.instrument
        how = SOURCE_WORDS.get(response.source, response.source)
        reason = (
            f"{'; '.join(safety.reasons)}. {name} {how} on "
            f"{timezone.localtime(response.authored_at, patient.tz):%d %b %Y %H:%M}. "
            "Rule: " + ", ".join(safety.rule_ids) + ". "
            "Acknowledge, contact the patient and document a suicide risk assessment (C-SSRS)."
        )
        alert, _created = do_raise_alert(
            patient,
            kind=ALERT_KIND,
            severity=Severity.URGENT,
            title=f"Safety screen positive — {name}",
            reason=reason,
            rule_id=",".join(safety.rule_ids)[:80],
            source=_rule_sources(response.instrument, safety.rule_ids),
            dedup_key=f"safety:response:{response.pk}",
            route_to=[str(r) for r in ROUTE_TO],
            subject=flag,
            link=reverse("safety:overview", kwargs={"patient_id": patient.pk}),
            escalate=True,
            now=now,
        )
        trigger.alert = alert
        trigger.save(update_fields=["alert"])
        audit_patient_event(
            acting_user,
            Action.CREATE if opened else Action.UPDATE,
            "SafetyFlag",
            flag.pk,
            patient,
            request=request,
            role=role,
            change="opened" if opened else "trigger_added",
            response=response.pk,
            rules=list(safety.rule_ids),
            source=response.source,
            alert=alert.pk,
        )
    return trigger


def _clean_cssrs(raw: Mapping[str, Any]) -> dict[str, str]:
    known = {q.link_id for q in assessment.questions()}
    answers: dict[str, str] = {}
    for link, value in raw.items():
        if link not in known:
            raise SafetyError("cssrs", f"{link} is not a C-SSRS screener question")
        if value in ("yes", "no"):
            answers[link] = value
        elif value not in ("", None):
            raise SafetyError(f"cssrs:{link}", "answer yes or no, or leave it out")
    return answers


@transaction.atomic
def do_document_assessment(
    patient: Patient,
    *,
    cssrs: Mapping[str, Any],
    risk_level: str,
    actions: list[str],
    rationale: str,
    resolves_flag: bool,
    idempotency_key: str,
    acting_user: User,
    role: str,
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> tuple[RiskAssessment, bool]:
    """Record a suicide risk assessment; (assessment, created). With `resolves_flag` it resolves
    the patient's open flag, completes its task and resolves the flag's alerts."""
    now = now or timezone.now()
    key = idempotency_key.strip()
    if not 8 <= len(key) <= 64:
        raise SafetyError("idempotency_key", "This form could not be sent. Send it again.")
    answers = _clean_cssrs(cssrs)
    if risk_level not in RiskLevel.values:
        raise SafetyError("risk_level", "Choose the risk level you judged.")
    unknown = [a for a in actions if a not in assessment.ACTIONS]
    if unknown:
        raise SafetyError("actions", f"{unknown[0]!r} is not an action Tandem records")
    if not rationale.strip():
        raise SafetyError("rationale", "Write what you found and why you judged this level.")
    flag = SafetyFlag.objects.select_for_update().filter(patient=patient, status=FlagStatus.OPEN).first()
    if resolves_flag and flag is None:
        raise SafetyError("resolves_flag", "There is no open safety flag to resolve.")
    if resolves_flag and not actions:
        raise SafetyError("actions", "Record what was done before resolving the flag.")
    try:
        with transaction.atomic():
            record = RiskAssessment.objects.create(
                patient=patient,
                flag=flag,
                assessed_by=acting_user,
                assessed_role=role,
                assessed_at=now,
                cssrs=answers,
                suggested_level=assessment.suggested_level(answers),
                risk_level=risk_level,
                actions=list(dict.fromkeys(actions)),
                rationale=rationale.strip()[:8000],
                resolves_flag=resolves_flag,
                idempotency_key=key,
            )
    except IntegrityError:
        return RiskAssessment.objects.get(patient=patient, idempotency_key=key), False
    audit_patient_event(
        acting_user,
        Action.CREATE,
        "RiskAssessment",
        record.pk,
        patient,
        request=request,
        role=role,
        risk_level=risk_level,
        resolves_flag=resolves_flag,
        flag=flag.pk if flag else None,
    )
    if resolves_flag and flag is not None:
        _resolve(flag, record, acting_user=acting_user, role=role, request=request, now=now)
    return record, True


def _resolve(
    flag: SafetyFlag,
    record: RiskAssessment,
    *,
    acting_user: User,
    role: str,
    request: HttpRequest | None,
    now: datetime,
) -> None:
    SafetyFlag.objects.filter(pk=flag.pk, status=FlagStatus.OPEN).update(
        status=FlagStatus.RESOLVED, resolved_at=now, resolved_by=acting_user, resolved_by_assessment=record
    )
    AssessmentTask.objects.filter(flag=flag, status=TaskStatus.OPEN).update(
        status=TaskStatus.DONE, done_at=now, done_by=acting_user
    )
    audit_patient_event(
        acting_user,
        Action.UPDATE,
        "SafetyFlag",
        flag.pk,
        flag.patient,
        request=request,
        role=role,
        change="resolved",
        assessment=record.pk,
    )
    note = f"Suicide risk assessment documented ({record.get_risk_level_display().lower()} risk)."
    for trigger in flag.triggers.select_related("alert").exclude(alert__isnull=True):
        if trigger.alert is not None and trigger.alert.status != AlertStatus.RESOLVED:
            do_resolve_alert(trigger.alert, note=note, acting_user=acting_user, role=role, request=request)


@transaction.atomic
def do_set_crisis_settings(
    settings_for: Any, *, country: str, own_lines: list[dict[str, str]], acting_user: User | None
) -> CrisisSettings:
    """Set an organisation's country and its own crisis lines (audited, organisation-wide)."""
    from tandem.safety.crisis import COUNTRY_LINES

    if country and country not in COUNTRY_LINES:
        raise SafetyError("country", f"Tandem has no crisis lines for {country!r}; add them as own lines.")
    for entry in own_lines:
        if not isinstance(entry, dict) or not str(entry.get("number", "")).strip():
            raise SafetyError("own_lines", "Each line needs a number.")
    row, _ = CrisisSettings.objects.update_or_create(
        organisation=settings_for,
        defaults={"country": country, "own_lines": own_lines, "updated_at": timezone.now()},
    )
    record_audit(
        actor=acting_user,
        actor_label="console",
        action=Action.UPDATE,
        entity_type="CrisisSettings",
        entity_id=row.pk,
        organisation=settings_for.pk,
        extra={"country": country, "own_lines": len(own_lines)},
    )
    return row
