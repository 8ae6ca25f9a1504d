"""Every write to plans and safety documents: one transaction, audited, team told on commit."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from tandem.accounts.actions import do_notify
from tandem.accounts.models import User
from tandem.audit.actions import audit_patient_event as _audit
from tandem.audit.models import Action
from tandem.patients.models import CareTeamMember, Patient, active_on
from tandem.plans import rules
from tandem.plans.models import (
    DocumentKind,
    PatientAgreement,
    PlanAcknowledgement,
    PlanComment,
    PlanProposal,
    PlanQuestion,
    PlanRevision,
    PlanStatus,
    ProposalStatus,
    SafetyDocument,
    SafetyRevision,
    TreatmentPlan,
)
from tandem.plans.schema import SECTIONS, PlanContent, RelapsePlanContent, SafetyPlanContent


class PlanError(ValueError):
    pass


class NothingChanged(PlanError):
    def __init__(self) -> None:
        super().__init__("Nothing changed.")


class DraftExists(PlanError):
    def __init__(self) -> None:
        super().__init__("There is already a draft plan; continue that one.")


class PlanConflict(PlanError):
    """The plan changed since the editor opened it."""

    def __init__(self, current: int) -> None:
        super().__init__(
            "This plan changed since you opened it — review the new revision, then make your change again."
        )
        self.current = current


def team_clinicians(patient: Patient) -> list[User]:
    today = timezone.localdate()
    rows = CareTeamMember.objects.filter(active_on(today), patient=patient).select_related("user")
    return list({m.user_id: m.user for m in rows if m.user.is_active}.values())


def _link(patient: Patient) -> str:
    return settings.SITE_URL + reverse("plans:plan", kwargs={"patient_id": patient.pk})


def _validated(content: dict[str, Any]) -> dict[str, Any]:
    return PlanContent.model_validate(content).model_dump(mode="json")


@transaction.atomic
def do_create_plan(
    patient: Patient,
    *,
    acting_user: User,
    role: str = "",
    content: dict[str, Any] | None = None,
    title: str = "Treatment plan",
    reason: str = "Plan drafted",
    request: HttpRequest | None = None,
) -> TreatmentPlan:
    """A new draft plan (one draft per patient at a time) with its first revision."""
    document = _validated(content or {})
    Patient.objects.select_for_update().filter(pk=patient.pk).first()  # one creator at a time
    if TreatmentPlan.objects.filter(patient=patient, status=PlanStatus.DRAFT).exists():
        raise DraftExists()
    plan = TreatmentPlan.objects.create(patient=patient, created_by=acting_user, title=title[:200])
    revision = PlanRevision.objects.create(
        plan=plan,
        number=1,
        author=acting_user,
        author_role=role,
        reason=reason[:500],
        content=document,
        changed_sections=[
            s
            for s in SECTIONS
            if document.get(s) not in ([], {}, None, PlanContent().model_dump(mode="json")[s])
        ],
        section_authors=dict.fromkeys(SECTIONS, acting_user.pk),
    )
    plan.current = revision
    plan.revision_count = 1
    plan.save(update_fields=["current", "revision_count"])
    _audit(acting_user, Action.CREATE, "CarePlan", plan.pk, patient, request=request, role=role)
    return plan


def _new_revision(
    plan: TreatmentPlan,
    document: dict[str, Any],
    *,
    author: User,
    role: str,
    reason: str,
    restored_from: int | None = None,
) -> PlanRevision:
    assert plan.current is not None
    changed = rules.changed_sections(plan.current.content, document)
    authors = dict(plan.current.section_authors)
    for section in changed:
        authors[section] = author.pk
    revision = PlanRevision.objects.create(
        plan=plan,
        number=plan.revision_count + 1,
        author=author,
        author_role=role,
        reason=reason[:500],
        content=document,
        changed_sections=changed,
        section_authors=authors,
        restored_from=restored_from,
    )
    plan.current = revision
    plan.revision_count = revision.number
    plan.save(update_fields=["current", "revision_count"])
    return revision


def _commit_revision(
    plan: TreatmentPlan,
    document: dict[str, Any],
    *,
    author: User,
    role: str,
    reason: str,
    request: HttpRequest | None,
    restored_from: int | None = None,
) -> PlanRevision:
    """Write a new revision, audit it and ask the rest of the team to acknowledge it."""
    revision = _new_revision(
        plan, document, author=author, role=role, reason=reason, restored_from=restored_from
    )
    if role != "patient":
        # The author has seen their own change.
        PlanAcknowledgement.objects.create(revision=revision, user=author)
    _audit(
        author,
        Action.UPDATE,
        "CarePlan",
        plan.pk,
        plan.patient,
        request=request,
        role=role,
        revision=revision.number,
        sections=revision.changed_sections,
        reason=reason[:500],
        **({"restored_from": restored_from} if restored_from else {}),
    )
    _tell_team(plan, revision, author)
    return revision


def _locked(plan: TreatmentPlan, base_revision: int | None) -> TreatmentPlan:
    """The plan row locked for this transaction; PlanConflict when it moved past base_revision."""
    locked = (
        TreatmentPlan.objects.select_for_update(of=("self",))
        .select_related("current", "patient")
        .get(pk=plan.pk)
    )
    if base_revision is not None and locked.revision_count != base_revision:
        raise PlanConflict(locked.revision_count)
    if not locked.is_open:
        raise PlanError(
            f"This plan is {locked.get_status_display().lower()}; start a new plan to make changes."
        )
    return locked


def _tell_team(plan: TreatmentPlan, revision: PlanRevision, author: User) -> None:
    """Every other clinician on the team gets an "acknowledge plan change" item (active plans)."""
    if plan.status != PlanStatus.ACTIVE:
        return
    others = [u for u in team_clinicians(plan.patient) if u.pk != author.pk]
    sections = ", ".join(SECTIONS[s].lower() for s in revision.changed_sections) or "no sections"
    do_notify(
        others,
        f"{author.display_name} changed the plan of {plan.patient.name} ({sections}): {revision.reason}. "
        "Please review and acknowledge.",
        link=_link(plan.patient),
    )


@transaction.atomic
def do_revise_plan(
    plan: TreatmentPlan,
    *,
    content: dict[str, Any],
    reason: str,
    acting_user: User,
    base_revision: int,
    role: str = "",
    request: HttpRequest | None = None,
) -> PlanRevision:
    """A new revision with `content`, unless somebody saved another since `base_revision`."""
    plan = _locked(plan, base_revision)
    document = _validated(content)
    assert plan.current is not None
    if document == plan.current.content:
        raise NothingChanged()
    return _commit_revision(plan, document, author=acting_user, role=role, reason=reason, request=request)


@transaction.atomic
def do_restore_revision(
    plan: TreatmentPlan,
    number: int,
    *,
    acting_user: User,
    base_revision: int,
    reason: str = "",
    role: str = "",
    request: HttpRequest | None = None,
) -> PlanRevision:
    plan = _locked(plan, base_revision)
    old = PlanRevision.objects.filter(plan=plan, number=number).first()
    if old is None:
        raise PlanError(f"There is no revision {number}.")
    assert plan.current is not None
    if old.content == plan.current.content:
        raise PlanError(f"Revision {number} is the same as the current plan.")
    return _commit_revision(
        plan,
        old.content,
        author=acting_user,
        role=role,
        reason=reason or f"Restored revision {number}",
        request=request,
        restored_from=number,
    )


@transaction.atomic
def do_set_plan_status(
    plan: TreatmentPlan,
    status: str,
    *,
    acting_user: User,
    reason: str = "",
    role: str = "",
    request: HttpRequest | None = None,
) -> TreatmentPlan:
    """draft → active; active → completed or discontinued. Activating a plan completes the
    patient's previous active plan, since only one is active at a time."""
    plan = (
        TreatmentPlan.objects.select_for_update(of=("self",))
        .select_related("patient", "current")
        .get(pk=plan.pk)
    )
    allowed = {
        PlanStatus.DRAFT: {PlanStatus.ACTIVE, PlanStatus.DISCONTINUED},
        PlanStatus.ACTIVE: {PlanStatus.COMPLETED, PlanStatus.DISCONTINUED},
    }
    if status not in allowed.get(PlanStatus(plan.status), set()):
        raise PlanError(f"A {plan.get_status_display().lower()} plan cannot become {status}.")
    now = timezone.now()
    if status == PlanStatus.ACTIVE:
        for previous in TreatmentPlan.objects.select_for_update().filter(
            patient=plan.patient, status=PlanStatus.ACTIVE
        ):
            previous.status = PlanStatus.COMPLETED
            previous.ended_at = now
            previous.ended_by = acting_user
            previous.end_reason = f"Replaced by plan {plan.pk}"
            previous.save(update_fields=["status", "ended_at", "ended_by", "end_reason"])
        plan.activated_at = now
        plan.activated_by = acting_user
        fields = ["status", "activated_at", "activated_by"]
    else:
        if not reason:
            raise PlanError("Give a reason for ending the plan.")
        plan.ended_at = now
        plan.ended_by = acting_user
        plan.end_reason = reason[:300]
        fields = ["status", "ended_at", "ended_by", "end_reason"]
    plan.status = status
    plan.save(update_fields=fields)
    _audit(
        acting_user,
        Action.UPDATE,
        "CarePlan",
        plan.pk,
        plan.patient,
        request=request,
        role=role,
        status=status,
        reason=reason[:300],
    )
    if status == PlanStatus.ACTIVE and plan.current is not None:
        PlanAcknowledgement.objects.get_or_create(revision=plan.current, user=acting_user)
        _tell_team(plan, plan.current, acting_user)
    return plan


@transaction.atomic
def do_acknowledge(
    plan: TreatmentPlan,
    *,
    revision_number: int,
    acting_user: User,
    role: str = "",
    request: HttpRequest | None = None,
) -> PlanAcknowledgement:
    revision = PlanRevision.objects.get(plan=plan, number=revision_number)
    ack, created = PlanAcknowledgement.objects.get_or_create(revision=revision, user=acting_user)
    if created:
        _audit(
            acting_user,
            Action.UPDATE,
            "CarePlan",
            plan.pk,
            plan.patient,
            request=request,
            role=role,
            acknowledged=revision.number,
        )
    return ack


@transaction.atomic
def do_comment(
    plan: TreatmentPlan,
    *,
    text: str,
    acting_user: User,
    section: str = "",
    role: str = "",
    request: HttpRequest | None = None,
) -> PlanComment:
    text = text.strip()
    if not text:
        raise PlanError("Write a comment first.")
    if section and section not in SECTIONS:
        raise PlanError("Unknown section.")
    assert plan.current is not None
    comment = PlanComment.objects.create(
        plan=plan, revision=plan.current, author=acting_user, section=section, text=text[:4000]
    )
    _audit(acting_user, Action.CREATE, "PlanComment", comment.pk, plan.patient, request=request, role=role)
    others = [u for u in team_clinicians(plan.patient) if u.pk != acting_user.pk]
    do_notify(
        others,
        f"{acting_user.display_name} commented on the plan of {plan.patient.name}.",
        link=_link(plan.patient),
    )
    return comment


@transaction.atomic
def do_propose(
    plan: TreatmentPlan,
    *,
    section: str,
    content: Any,
    reason: str,
    acting_user: User,
    base_revision: int,
    role: str = "",
    request: HttpRequest | None = None,
) -> PlanProposal:
    from tandem.plans.access import section_author_id

    plan = _locked(plan, base_revision)
    assert plan.current is not None
    proposed = rules.replace_section(plan.current.content, section, content)
    document = _validated(proposed)
    if document[section] == plan.current.content.get(section):
        raise PlanError("The proposal is the same as the current plan.")
    if not reason.strip():
        raise PlanError("Say why you propose the change.")
    proposal = PlanProposal.objects.create(
        plan=plan,
        base_revision=plan.current,
        section=section,
        content=document[section],
        reason=reason[:500],
        proposer=acting_user,
    )
    _audit(
        acting_user,
        Action.CREATE,
        "PlanProposal",
        proposal.pk,
        plan.patient,
        request=request,
        role=role,
        section=section,
    )
    decider_id = section_author_id(plan, section)
    decider = User.objects.filter(pk=decider_id, is_active=True).first() if decider_id else None
    if decider is not None and decider.pk != acting_user.pk:
        do_notify(
            [decider],
            f"{acting_user.display_name} proposes a change to the {SECTIONS[section].lower()} "
            f"of the plan of {plan.patient.name}: {reason[:200]}",
            link=_link(plan.patient),
        )
    return proposal


@transaction.atomic
def do_decide_proposal(
    proposal: PlanProposal,
    *,
    accept: bool,
    acting_user: User,
    note: str = "",
    role: str = "",
    request: HttpRequest | None = None,
) -> PlanProposal:
    """The section's author accepts (a new revision with the proposed section) or declines."""
    from tandem.plans.access import section_author_id

    proposal = PlanProposal.objects.select_for_update(of=("self",)).select_related("plan").get(pk=proposal.pk)
    if proposal.status != ProposalStatus.OPEN:
        raise PlanError(f"This proposal was already {proposal.get_status_display().lower()}.")
    plan = _locked(proposal.plan, None)
    if section_author_id(plan, proposal.section) != acting_user.pk:
        raise PlanError("Only the author of this section can accept or decline the proposal.")
    if accept:
        assert plan.current is not None
        document = _validated(rules.replace_section(plan.current.content, proposal.section, proposal.content))
        if document == plan.current.content:
            raise PlanError("The plan already says this.")
        proposer = proposal.proposer.display_name if proposal.proposer else "a colleague"
        proposal.resulting_revision = _commit_revision(
            plan,
            document,
            author=acting_user,
            role=role,
            request=request,
            reason=f"Accepted the proposal of {proposer}: {proposal.reason}",
        )
    proposal.status = ProposalStatus.ACCEPTED if accept else ProposalStatus.DECLINED
    proposal.decided_by = acting_user
    proposal.decided_at = timezone.now()
    proposal.decision_note = note[:500]
    proposal.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "resulting_revision"])
    _audit(
        acting_user,
        Action.UPDATE,
        "PlanProposal",
        proposal.pk,
        plan.patient,
        request=request,
        role=role,
        decision=proposal.status,
    )
    if proposal.proposer and proposal.proposer.pk != acting_user.pk:
        do_notify(
            [proposal.proposer],
            f"{acting_user.display_name} {proposal.status} your proposal for the plan of "
            f"{plan.patient.name}.",
            link=_link(plan.patient),
        )
    return proposal


# The patient's own actions -------------------------------------------------------------------


@transaction.atomic
def do_patient_agree(
    plan: TreatmentPlan,
    *,
    patient: Patient,
    revision_number: int,
    acting_user: User,
    request: HttpRequest | None = None,
) -> PatientAgreement:
    """The patient agrees to the revision they read; if the plan moved on since, PlanConflict."""
    plan = TreatmentPlan.objects.select_related("current").get(pk=plan.pk)
    if plan.current is None or plan.current.number != revision_number:
        raise PlanConflict(plan.revision_count)
    assert plan.current is not None
    agreement, created = PatientAgreement.objects.get_or_create(revision=plan.current, patient=patient)
    if created:
        _audit(
            acting_user,
            Action.UPDATE,
            "CarePlan",
            plan.pk,
            patient,
            request=request,
            role="patient",
            agreed=plan.current.number,
        )
        do_notify(
            team_clinicians(patient),
            f"{patient.name} agreed to their plan (revision {plan.current.number}).",
            link=_link(patient),
        )
    return agreement


@transaction.atomic
def do_patient_question(
    plan: TreatmentPlan, *, patient: Patient, text: str, acting_user: User, request: HttpRequest | None = None
) -> PlanQuestion:
    text = text.strip()
    if not text:
        raise PlanError("Write your question first.")
    question = PlanQuestion.objects.create(plan=plan, patient=patient, text=text[:4000])
    _audit(acting_user, Action.CREATE, "PlanQuestion", question.pk, patient, request=request, role="patient")
    do_notify(
        team_clinicians(patient),
        f"{patient.name} asked a question about their plan.",
        link=_link(patient),
        email_subject="Tandem: a patient asked about their plan",
        email_body=f"A patient on your team asked a question about their plan. Sign in to answer: {_link(patient)}",
    )
    return question


@transaction.atomic
def do_answer_question(
    question: PlanQuestion,
    *,
    answer: str,
    acting_user: User,
    role: str = "",
    request: HttpRequest | None = None,
) -> PlanQuestion:
    answer = answer.strip()
    if not answer:
        raise PlanError("Write an answer first.")
    question.answer = answer[:4000]
    question.answered_by = acting_user
    question.answered_at = timezone.now()
    question.save(update_fields=["answer", "answered_by", "answered_at"])
    _audit(
        acting_user, Action.UPDATE, "PlanQuestion", question.pk, question.patient, request=request, role=role
    )
    return question


@transaction.atomic
def do_patient_goals(
    plan: TreatmentPlan,
    *,
    patient: Patient,
    goals: list[str],
    acting_user: User,
    base_revision: int,
    request: HttpRequest | None = None,
) -> PlanRevision:
    """The patient rewrites their own-words goals; clinical goals stay as they are."""
    plan = _locked(plan, base_revision)
    assert plan.current is not None
    existing = [g for g in plan.current.content.get("goals", []) if g.get("kind") == "patient"]
    clinical = [g for g in plan.current.content.get("goals", []) if g.get("kind") != "patient"]
    texts = [t.strip() for t in goals if t.strip()]
    mine = []
    for i, text in enumerate(texts):
        keep = existing[i]["key"] if i < len(existing) else None
        mine.append({"kind": "patient", "text": text, **({"key": keep} if keep else {})})
    document = _validated({**plan.current.content, "goals": mine + clinical})
    if document == plan.current.content:
        raise NothingChanged()
    return _commit_revision(
        plan,
        document,
        author=acting_user,
        role="patient",
        reason="The patient updated their own goals",
        request=request,
    )


# Safety documents ----------------------------------------------------------------------------

SAFETY_SCHEMAS: dict[str, type[SafetyPlanContent] | type[RelapsePlanContent]] = {
    DocumentKind.SAFETY: SafetyPlanContent,
    DocumentKind.RELAPSE: RelapsePlanContent,
}


@transaction.atomic
def do_save_safety_document(
    patient: Patient,
    kind: str,
    *,
    content: dict[str, Any],
    acting_user: User,
    base_revision: int,
    reason: str = "",
    role: str = "",
    request: HttpRequest | None = None,
) -> SafetyRevision:
    """A new revision of the patient's safety or relapse-prevention plan (written together)."""
    document = SAFETY_SCHEMAS[DocumentKind(kind)].model_validate(content).model_dump(mode="json")
    safety, _ = SafetyDocument.objects.get_or_create(patient=patient, kind=kind)
    safety = (
        SafetyDocument.objects.select_for_update(of=("self",)).select_related("current").get(pk=safety.pk)
    )
    if safety.revision_count != base_revision:
        raise PlanConflict(safety.revision_count)
    if safety.current is not None and safety.current.content == document:
        raise NothingChanged()
    revision = SafetyRevision.objects.create(
        document=safety,
        number=safety.revision_count + 1,
        author=acting_user,
        author_role=role,
        reason=reason[:500],
        content=document,
    )
    safety.current = revision
    safety.revision_count = revision.number
    safety.save(update_fields=["current", "revision_count"])
    _audit(
        acting_user,
        Action.UPDATE if revision.number > 1 else Action.CREATE,
        "SafetyPlan",
        safety.pk,
        patient,
        request=request,
        role=role,
        kind=kind,
        revision=revision.number,
    )
    others = [u for u in team_clinicians(patient) if u.pk != acting_user.pk]
    do_notify(
        others,
        f"The {safety.get_kind_display().lower()} of {patient.name} was updated (revision {revision.number}).",
        link=settings.SITE_URL + reverse("plans:safety", kwargs={"patient_id": patient.pk, "kind": kind}),
    )
    return revision
