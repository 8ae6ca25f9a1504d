"""Every write of a progress note: one transaction, audited (never with the note's text).

A draft is saved as often as the clinician likes; signing checks the note is complete, locks it
and, when the risk level is high, raises an urgent alert to the whole care team. A signed note
never changes again; addenda are appended to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from tandem.accounts.models import Role, User
from tandem.audit.actions import audit_patient_event
from tandem.audit.models import Action
from tandem.collab.actions import do_raise_alert
from tandem.collab.models import Severity
from tandem.notes.models import NoteStatus, ProgressNote, ProgressNoteAddendum
from tandem.notes.vocabulary import INTERVENTIONS, RiskLevel, SelfHarm, SuicidalIdeation
from tandem.therapy.models import Modality, Session, SessionStatus

TEXT_MAX = 20_000
SHORT_MAX = 500
ALERT_KIND = "safety"
RISK_RULE = "progress-note-risk-high"
TEAM_ROLES = [Role.THERAPIST, Role.PRESCRIBER, Role.CARE_MANAGER, Role.PSYCHIATRIC_CONSULTANT]


class NoteError(ValueError):
    """Bad input; `field` names what was wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass
class NoteInput:
    modality: str = ""
    interventions: list[str] = field(default_factory=list)
    interventions_other: str = ""
    homework: str = ""
    suicidal_ideation: str = ""
    self_harm: str = ""
    risk_level: str = ""
    safety_plan_reviewed: bool | None = None
    risk_notes: str = ""
    summary: str = ""

    FIELDS = (
        "modality",
        "interventions",
        "interventions_other",
        "homework",
        "suicidal_ideation",
        "self_harm",
        "risk_level",
        "safety_plan_reviewed",
        "risk_notes",
        "summary",
    )

    def cleaned(self) -> NoteInput:
        """The same input stripped and checked field by field (NoteError on the first bad one)."""
        out = NoteInput(
            modality=self.modality.strip(),
            interventions=list(dict.fromkeys(self.interventions)),
            interventions_other=self.interventions_other.strip(),
            homework=self.homework.strip(),
            suicidal_ideation=self.suicidal_ideation.strip(),
            self_harm=self.self_harm.strip(),
            risk_level=self.risk_level.strip(),
            safety_plan_reviewed=self.safety_plan_reviewed,
            risk_notes=self.risk_notes.strip(),
            summary=self.summary.strip(),
        )
        for name, choices in (
            ("modality", Modality.values),
            ("suicidal_ideation", SuicidalIdeation.values),
            ("self_harm", SelfHarm.values),
            ("risk_level", RiskLevel.values),
        ):
            value = getattr(out, name)
            if value and value not in choices:
                raise NoteError(name, "choose one of the options")
        unknown = [k for k in out.interventions if k not in INTERVENTIONS]
        if unknown:
            raise NoteError("interventions", f"{unknown[0]!r} is not on the list")
        if len(out.interventions_other) > SHORT_MAX:
            raise NoteError("interventions_other", f"is longer than {SHORT_MAX} characters")
        for name in ("homework", "risk_notes", "summary"):
            if len(getattr(out, name)) > TEXT_MAX:
                raise NoteError(name, f"is longer than {TEXT_MAX} characters")
        return out

    def check_complete(self) -> None:
        """What signing needs: the note must say what was done, how the patient is doing and how
        risk was assessed. Free text on risk is required whenever anything was reported or the
        risk is not low."""
        if not self.modality:
            raise NoteError("modality", "choose the session's modality")
        if not self.interventions and not self.interventions_other:
            raise NoteError("interventions", "tick at least one intervention, or describe it")
        if not self.suicidal_ideation:
            raise NoteError("suicidal_ideation", "record what the patient reported about suicidal thoughts")
        if not self.self_harm:
            raise NoteError("self_harm", "record what the patient reported about self-harm")
        if not self.risk_level:
            raise NoteError("risk_level", "give your risk formulation")
        if self.safety_plan_reviewed is None:
            raise NoteError("safety_plan_reviewed", "say whether the safety plan was reviewed")
        needs_detail = (
            self.suicidal_ideation != SuicidalIdeation.NONE_REPORTED
            or self.self_harm != SelfHarm.NONE_REPORTED
            or self.risk_level != RiskLevel.LOW
        )
        if needs_detail and not self.risk_notes:
            raise NoteError("risk_notes", "describe the risk you assessed and what was agreed")
        if not self.summary:
            raise NoteError("summary", "write the progress summary")

    @classmethod
    def of(cls, note: ProgressNote) -> NoteInput:
        return cls(**{name: getattr(note, name) for name in cls.FIELDS})


def _check_session(session: Session, acting_user: User) -> None:
    if session.clinician_id != acting_user.pk:
        raise NoteError("session", "only the session's clinician writes its note")
    if session.status != SessionStatus.ATTENDED:
        raise NoteError("session", "mark the session attended before writing its note")


def _locked_note(session: Session, acting_user: User, now: datetime) -> tuple[ProgressNote, bool]:
    """The session's note, locked for this transaction; a new draft when there is none."""
    note = ProgressNote.objects.select_for_update().filter(session=session).first()
    if note is not None:
        return note, False
    try:
        with transaction.atomic():
            note = ProgressNote.objects.create(
                session=session,
                patient_id=session.patient_id,
                author=acting_user,
                modality=session.modality,
                created_at=now,
                updated_at=now,
            )
    except IntegrityError:  # a double submit created it meanwhile
        return ProgressNote.objects.select_for_update().get(session=session), False
    return note, True


def _apply(note: ProgressNote, data: NoteInput) -> list[str]:
    changed = [name for name in NoteInput.FIELDS if getattr(note, name) != getattr(data, name)]
    for name in changed:
        setattr(note, name, getattr(data, name))
    return changed


@transaction.atomic
def do_save_progress_draft(
    session: Session,
    data: NoteInput,
    *,
    acting_user: User,
    role: str = "",
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> ProgressNote:
    """Create or update the session's draft note. A signed note is refused."""
    now = now or timezone.now()
    _check_session(session, acting_user)
    data = data.cleaned()
    note, created = _locked_note(session, acting_user, now)
    if note.is_signed:
        raise NoteError("note", "is signed and locked; add an addendum instead")
    if note.author_id != acting_user.pk:
        raise NoteError("note", "is another clinician's draft")
    changed = _apply(note, data)
    if changed or created:
        note.updated_at = now
        note.save(update_fields=[*changed, "updated_at"] if not created else None)
        audit_patient_event(
            acting_user,
            Action.CREATE if created else Action.UPDATE,
            "ProgressNote",
            note.pk,
            note.patient,
            request=request,
            role=role,
            change="draft",
            session=session.pk,
            fields=changed,
        )
    return note


@transaction.atomic
def do_sign_progress_note(
    session: Session,
    data: NoteInput,
    *,
    acting_user: User,
    role: str = "",
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> tuple[ProgressNote, bool]:
    """Save the note as given, check it is complete and sign it; (note, signed now).

    Signing twice with the same content (a double submit) changes nothing; any other change to a
    signed note is refused. A high risk level raises an urgent alert to the care team.
    """
    now = now or timezone.now()
    _check_session(session, acting_user)
    data = data.cleaned()
    note, _ = _locked_note(session, acting_user, now)
    if note.is_signed:
        if NoteInput.of(note) == data:
            return note, False
        raise NoteError("note", "is signed and locked; add an addendum instead")
    if note.author_id != acting_user.pk:
        raise NoteError("note", "is another clinician's draft")
    data.check_complete()
    changed = _apply(note, data)
    note.status = NoteStatus.SIGNED
    note.signed_by = acting_user
    note.signed_at = now
    note.updated_at = now
    note.save()
    audit_patient_event(
        acting_user,
        Action.UPDATE,
        "ProgressNote",
        note.pk,
        note.patient,
        request=request,
        role=role,
        change="signed",
        session=session.pk,
        fields=changed,
        risk_level=note.risk_level,
    )
    if note.risk_level == RiskLevel.HIGH:
        _raise_risk_alert(note, session, acting_user)
    return note, True


def _raise_risk_alert(note: ProgressNote, session: Session, author: User) -> None:
    day = timezone.localtime(session.starts_at, note.patient.tz).date()
    reviewed = "yes" if note.safety_plan_reviewed else "no"
    do_raise_alert(
        note.patient,
        kind=ALERT_KIND,
        severity=Severity.URGENT,
        title=f"High suicide risk recorded in the progress note of {day:%-d %b %Y}",
        reason=(
            f"{author.display_name} signed the progress note of the session on {day:%-d %b %Y} with a "
            f"risk level of high. Suicidal ideation: {note.get_suicidal_ideation_display().lower()}. "
            f"Self-harm: {note.get_self_harm_display().lower()}. Safety plan reviewed: {reviewed}. "
            "Read the note for the clinician's assessment and what was agreed."
        ),
        rule_id=RISK_RULE,
        source="The signing clinician's risk formulation (C-SSRS risk levels: low, moderate, high)",
        dedup_key=f"progress_note_risk:{note.pk}",
        route_to=list(TEAM_ROLES),
        subject=note,
        link=note_url(note),
    )


def note_url(note: ProgressNote) -> str:
    return reverse("notes:progress", kwargs={"patient_id": note.patient_id, "session_id": note.session_id})


@transaction.atomic
def do_add_addendum(
    note: ProgressNote,
    text: str,
    *,
    acting_user: User,
    role: str = "",
    idempotency_key: str = "",
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> tuple[ProgressNoteAddendum, bool]:
    """Append an addendum to a signed note; (addendum, created). The same idempotency key
    returns the first addendum, so a double submit appends once."""
    key = idempotency_key.strip()[:64]
    if key:
        existing = ProgressNoteAddendum.objects.filter(note=note, idempotency_key=key).first()
        if existing is not None:
            return existing, False
    note = ProgressNote.objects.select_for_update().select_related("patient").get(pk=note.pk)
    if not note.is_signed:
        raise NoteError("note", "is still a draft; change the draft instead")
    if note.author_id != acting_user.pk:
        raise NoteError("note", "only the note's author adds addenda")
    text = text.strip()
    if not text:
        raise NoteError("text", "write the addendum")
    if len(text) > TEXT_MAX:
        raise NoteError("text", f"is longer than {TEXT_MAX} characters")
    try:
        with transaction.atomic():
            addendum = ProgressNoteAddendum.objects.create(
                note=note,
                author=acting_user,
                text=text,
                created_at=now or timezone.now(),
                idempotency_key=key,
            )
    except IntegrityError:
        return ProgressNoteAddendum.objects.get(note=note, idempotency_key=key), False
    audit_patient_event(
        acting_user,
        Action.CREATE,
        "ProgressNoteAddendum",
        addendum.pk,
        note.patient,
        request=request,
        role=role,
        note=note.pk,
    )
    return addendum, True


def form_input(post: Any) -> NoteInput:
    """NoteInput from a submitted form (a QueryDict), without checking it."""
    reviewed = post.get("safety_plan_reviewed", "")
    return NoteInput(
        modality=post.get("modality", ""),
        interventions=post.getlist("interventions"),
        interventions_other=post.get("interventions_other", ""),
        homework=post.get("homework", ""),
        suicidal_ideation=post.get("suicidal_ideation", ""),
        self_harm=post.get("self_harm", ""),
        risk_level=post.get("risk_level", ""),
        safety_plan_reviewed={"yes": True, "no": False}.get(reviewed),
        risk_notes=post.get("risk_notes", ""),
        summary=post.get("summary", ""),
    )
