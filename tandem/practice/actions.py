"""Every write of skills practice: assign, end, save a draft, submit, comment. One transaction
each, audited inside it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from tandem.accounts.models import Role, User
from tandem.audit.actions import audit_patient_event
from tandem.audit.models import Action
from tandem.collab.actions import do_raise_alert
from tandem.collab.models import Severity
from tandem.lib.timezones import local_date
from tandem.patients.models import Patient
from tandem.practice import rules
from tandem.practice.answers import clean
from tandem.practice.models import Assignment, Entry, EntryStatus, Frequency, TemplateKind
from tandem.practice.templates_data import MAX_PROMPTS, template_for

ALERT_KIND = "practice_diary"
INSTRUCTIONS_MAX = 2000
COMMENT_MAX = 4000
PROMPT_MAX = 300
WRITER_ROLES = (Role.THERAPIST, Role.CARE_MANAGER)


class PracticeError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _check_key(key: str) -> str:
    key = (key or "").strip()
    if not 8 <= len(key) <= 64:
        raise PracticeError("key", "this form has expired: reload the page and try again")
    return key


def day_label(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def patient_today(patient: Patient, now: datetime | None = None) -> date:
    return local_date(now or timezone.now(), patient.time_zone)


@transaction.atomic
def do_assign(
    patient: Patient,
    *,
    template: str,
    frequency: str,
    start: date,
    end: date | None = None,
    times_per_week: int = 1,
    title: str = "",
    prompts: list[str] | None = None,
    instructions: str = "",
    acting_user: User,
    role: str,
    request: HttpRequest | None = None,
) -> Assignment:
    """Give the patient a worksheet. ONCE needs a due date (`end`); the other frequencies run
    from `start` to `end` (open-ended when None)."""
    if role not in WRITER_ROLES:
        raise PracticeError("role", "only the therapist or the care manager assigns practice")
    if template not in TemplateKind.values:
        raise PracticeError("template", "choose one of the worksheets")
    if frequency not in Frequency.values:
        raise PracticeError("frequency", "choose how often")
    title = title.strip()
    prompts = [p.strip() for p in (prompts or []) if p and p.strip()]
    if template == TemplateKind.WORKSHEET:
        if not title:
            raise PracticeError("title", "give the worksheet a title")
        if not prompts:
            raise PracticeError("prompts", "write at least one prompt")
        if len(prompts) > MAX_PROMPTS:
            raise PracticeError("prompts", f"write at most {MAX_PROMPTS} prompts")
        if any(len(p) > PROMPT_MAX for p in prompts):
            raise PracticeError("prompts", f"keep each prompt under {PROMPT_MAX} characters")
    else:
        title = title or template_for(Assignment(template=template)).title
        prompts = []
    if len(title) > 120:
        raise PracticeError("title", "shorten the title to 120 characters")
    if frequency == Frequency.ONCE and end is None:
        raise PracticeError("end", "give a due date")
    if end is not None and end < start:
        raise PracticeError("end", "must be on or after the start")
    if frequency == Frequency.TIMES_PER_WEEK and not 1 <= times_per_week <= 7:
        raise PracticeError("times_per_week", "enter a number from 1 to 7")
    if frequency != Frequency.TIMES_PER_WEEK:
        times_per_week = 1
    instructions = instructions.strip()
    if len(instructions) > INSTRUCTIONS_MAX:
        raise PracticeError("instructions", f"shorten the instructions to {INSTRUCTIONS_MAX} characters")
    assignment = Assignment.objects.create(
        patient=patient,
        template=template,
        title=title,
        prompts=prompts,
        instructions=instructions,
        frequency=frequency,
        times_per_week=times_per_week,
        start=start,
        end=end,
        assigned_by=acting_user,
        assigned_role=role,
    )
    audit_patient_event(
        acting_user,
        Action.CREATE,
        "PracticeAssignment",
        assignment.pk,
        patient,
        request=request,
        role=role,
        template=template,
        frequency=frequency,
    )
    return assignment


@transaction.atomic
def do_end_assignment(
    assignment: Assignment,
    *,
    reason: str = "",
    acting_user: User,
    role: str,
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> bool:
    """End an assignment today; True when it changed (ending it twice changes nothing)."""
    if role not in WRITER_ROLES:
        raise PracticeError("role", "only the therapist or the care manager ends practice")
    assignment = Assignment.objects.select_for_update().select_related("patient").get(pk=assignment.pk)
    if assignment.ended_at is not None:
        return False
    now = now or timezone.now()
    assignment.ended_at = now
    assignment.ended_on = patient_today(assignment.patient, now)
    assignment.ended_by = acting_user
    assignment.end_reason = reason.strip()[:300]
    assignment.save(update_fields=["ended_at", "ended_on", "ended_by", "end_reason"])
    audit_patient_event(
        acting_user,
        Action.UPDATE,
        "PracticeAssignment",
        assignment.pk,
        assignment.patient,
        request=request,
        role=role,
        change="ended",
    )
    return True


@dataclass
class DraftResult:
    entry: Entry
    state: str  # saved | stale (a newer version is stored) | submitted (too late: already sent)


def do_save_draft(
    assignment: Assignment,
    *,
    raw: dict[str, str],
    version: int,
    key: str,
    acting_user: User,
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> DraftResult:
    """Keep what the patient typed so far, as typed. A save carrying a version no newer than the
    stored one changes nothing, so saves that arrive out of order never lose the newest text."""
    key = _check_key(key)
    if assignment.ended_at is not None:
        raise PracticeError("assignment", "this practice has ended")
    now = now or timezone.now()
    patient = assignment.patient
    with transaction.atomic():
        entry = Entry.objects.select_for_update().filter(patient=patient, idempotency_key=key).first()
        if entry is not None and entry.assignment_id != assignment.pk:
            raise PracticeError("key", "this form belongs to another worksheet: reload the page")
        if entry is not None and entry.status == EntryStatus.SUBMITTED:
            return DraftResult(entry, "submitted")
        if entry is not None and version <= entry.version:
            return DraftResult(entry, "stale")
        if entry is None:
            try:
                with transaction.atomic():
                    entry = Entry.objects.create(
                        assignment=assignment,
                        patient=patient,
                        data=raw,
                        version=version,
                        entry_date=patient_today(patient, now),
                        idempotency_key=key,
                        created_at=now,
                        updated_at=now,
                    )
            except IntegrityError:  # a concurrent save of the same form won; save over it if newer
                return do_save_draft(
                    assignment,
                    raw=raw,
                    version=version,
                    key=key,
                    acting_user=acting_user,
                    request=request,
                    now=now,
                )
        else:
            entry.data = raw
            entry.version = version
            entry.updated_at = now
            entry.save(update_fields=["data", "version", "updated_at"])
        audit_patient_event(
            acting_user,
            Action.UPDATE,
            "PracticeEntry",
            entry.pk,
            patient,
            request=request,
            role="patient",
            draft=version,
        )
    return DraftResult(entry, "saved")


@dataclass
class SubmitResult:
    entry: Entry | None
    errors: dict[str, str] = field(default_factory=dict)
    created: bool = False
    findings: list[str] = field(default_factory=list)


def do_submit_entry(
    assignment: Assignment,
    *,
    raw: dict[str, str],
    key: str,
    version: int = 0,
    acting_user: User,
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> SubmitResult:
    """Check and send an entry. Refused answers come back by form name, and what was typed is
    kept as a draft. The same key sent again returns the first entry and changes nothing. A
    diary card with a high self-harm or suicide urge, or one acted on, alerts the care team."""
    key = _check_key(key)
    now = now or timezone.now()
    patient = assignment.patient
    template = template_for(assignment)
    answers, errors = clean(template, raw)
    today = patient_today(patient, now)
    day = today
    if template.dated and answers.get("day"):
        day = date.fromisoformat(answers["day"])
        last = assignment.last_day()
        if day > today:
            errors["day"] = "this day has not happened yet"
        elif day < assignment.start:
            errors["day"] = f"choose a day from {day_label(assignment.start)}, when this practice started"
        elif last is not None and day > last:
            errors["day"] = f"choose a day up to {day_label(last)}, when this practice ended"
    with transaction.atomic():
        entry = Entry.objects.select_for_update().filter(patient=patient, idempotency_key=key).first()
        if entry is not None and entry.assignment_id != assignment.pk:
            raise PracticeError("key", "this form belongs to another worksheet: reload the page")
        if entry is not None and entry.status == EntryStatus.SUBMITTED:
            return SubmitResult(entry)
        if assignment.ended_at is not None:
            raise PracticeError("assignment", "this practice has ended; your therapist can give it again")
        if errors:
            draft_version = max(version, (entry.version if entry else 0) + 1)
            saved = do_save_draft(
                assignment,
                raw=raw,
                version=draft_version,
                key=key,
                acting_user=acting_user,
                request=request,
                now=now,
            )
            return SubmitResult(saved.entry, errors)
        fields = {
            "status": EntryStatus.SUBMITTED,
            "data": answers,
            "entry_date": day,
            "submitted_at": now,
            "updated_at": now,
        }
        created = entry is None
        if entry is None:
            try:
                with transaction.atomic():
                    entry = Entry.objects.create(
                        assignment=assignment, patient=patient, idempotency_key=key, created_at=now, **fields
                    )
            except IntegrityError:  # a concurrent submit of the same form won
                return SubmitResult(Entry.objects.get(patient=patient, idempotency_key=key))
        else:
            for name, value in fields.items():
                setattr(entry, name, value)
            entry.save(update_fields=list(fields))
        # One draft per worksheet: the one just sent replaces any other left open.
        Entry.objects.filter(assignment=assignment, status=EntryStatus.DRAFT).exclude(pk=entry.pk).delete()
        findings = rules.diary_findings(answers) if assignment.template == TemplateKind.DIARY_CARD else []
        audit_patient_event(
            acting_user,
            Action.CREATE,
            "PracticeEntry",
            entry.pk,
            patient,
            request=request,
            role="patient",
            template=assignment.template,
            flagged=bool(findings),
        )
        if findings:
            entry.flagged = True
            entry.save(update_fields=["flagged"])
            _raise_diary_alert(assignment, entry, findings)
    return SubmitResult(entry, created=created, findings=findings)


def _raise_diary_alert(assignment: Assignment, entry: Entry, findings: list[str]) -> None:
    patient = assignment.patient
    day = entry.entry_date
    do_raise_alert(
        patient,
        kind=ALERT_KIND,
        severity=Severity.URGENT,
        title=f"Diary card for {day_label(day)}: {findings[0]}",
        reason=(
            f"{patient.name}'s DBT diary card for {day:%A} {day_label(day)} reports: {'; '.join(findings)}. "
            f"Rule {rules.DIARY_RULE_ID}: {rules.DIARY_RULE_SOURCE} The patient was shown crisis "
            "resources after sending it. Contact the patient and assess risk."
        ),
        rule_id=rules.DIARY_RULE_ID,
        source=rules.DIARY_RULE_SOURCE,
        dedup_key=f"{ALERT_KIND}:{day.isoformat()}",
        route_to=[Role.THERAPIST, Role.CARE_MANAGER, Role.PRESCRIBER],
        notify_roles=[Role.PSYCHIATRIC_CONSULTANT],
        subject=entry,
        link=reverse("practice:entry", kwargs={"patient_id": patient.pk, "entry_id": entry.pk}),
    )


@transaction.atomic
def do_comment(
    entry: Entry,
    *,
    text: str,
    acting_user: User,
    role: str,
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> bool:
    """The therapist's (or care manager's) comment on a submitted entry, which the patient reads
    in the portal; a later comment replaces it. True when it changed."""
    if role not in WRITER_ROLES:
        raise PracticeError("role", "only the therapist or the care manager comments")
    text = text.strip()
    if not text:
        raise PracticeError("comment", "write a comment; the patient reads it in the portal")
    if len(text) > COMMENT_MAX:
        raise PracticeError("comment", f"shorten the comment to {COMMENT_MAX} characters")
    entry = Entry.objects.select_for_update().select_related("patient").get(pk=entry.pk)
    if entry.status != EntryStatus.SUBMITTED:
        raise PracticeError("comment", "the patient has not sent this entry yet")
    if entry.comment == text:
        return False
    entry.comment = text
    entry.commented_by = acting_user
    entry.commented_at = now or timezone.now()
    entry.save(update_fields=["comment", "commented_by", "commented_at"])
    audit_patient_event(
        acting_user,
        Action.UPDATE,
        "PracticeEntry",
        entry.pk,
        entry.patient,
        request=request,
        role=role,
        change="comment",
    )
    return True
