"""The treatment plan in the JSON API: /api/patients/{patient_id}/plans…

Glue only: scope → access (tandem.plans.access, as the UI) → action (tandem.plans.actions) →
respond. Reads are audited by the access functions, writes by the actions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pydantic
from django.http import Http404, HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from tandem.audit.access import record_denied
from tandem.lib.api import ERRORS, WRITE_ERRORS, error_body, require_scope
from tandem.plans import access, actions, rules
from tandem.plans.models import PlanRevision, TreatmentPlan
from tandem.plans.schema import SECTIONS, PlanContent, field_errors

router = Router(tags=["Treatment plans"])
RESOURCE = "CarePlan"


class RevisionSummary(Schema):
    number: int
    created_at: datetime
    author_id: int | None
    author: str = Field(description="the author's name as people read it")
    author_role: str
    reason: str
    changed_sections: list[str]
    restored_from: int | None


class Revision(RevisionSummary):
    content: dict[str, Any] = Field(description="the plan document; its shape is PlanContent")


class PlanSummary(Schema):
    id: int
    patient_id: int
    title: str
    status: str = Field(description="draft, active, completed or discontinued")
    created_at: datetime
    activated_at: datetime | None
    ended_at: datetime | None
    end_reason: str
    revision: int = Field(description="the number of the current revision")


class Plan(PlanSummary):
    current: Revision


class FieldChange(Schema):
    field: str
    before: Any
    after: Any


class ItemChange(Schema):
    kind: str = Field(description="added, removed or changed")
    label: str
    fields: list[FieldChange]


class SectionChange(Schema):
    section: str
    label: str
    changes: list[ItemChange]


class Diff(Schema):
    from_revision: int
    to_revision: int
    sections: list[SectionChange]


class NewPlan(Schema):
    title: str = Field(default="Treatment plan", min_length=1, max_length=200)
    reason: str = Field(default="Plan drafted", min_length=1, max_length=500)
    content: PlanContent = Field(default_factory=PlanContent)


class NewRevision(Schema):
    base_revision: int = Field(ge=0, description="the revision the change was made on")
    reason: str = Field(min_length=1, max_length=500)
    content: PlanContent


class AcknowledgeIn(Schema):
    revision: int = Field(ge=1)


class Acknowledgement(Schema):
    revision: int
    acknowledged_at: datetime


def _summary(plan: TreatmentPlan) -> dict[str, Any]:
    return {
        "id": plan.pk,
        "patient_id": plan.patient_id,
        "title": plan.title,
        "status": plan.status,
        "created_at": plan.created_at,
        "activated_at": plan.activated_at,
        "ended_at": plan.ended_at,
        "end_reason": plan.end_reason,
        "revision": plan.revision_count,
    }


def _revision(revision: PlanRevision, *, content: bool = True) -> dict[str, Any]:
    data = {
        "number": revision.number,
        "created_at": revision.created_at,
        "author_id": revision.author_id,
        "author": revision.author.display_name if revision.author else "",
        "author_role": revision.author_role,
        "reason": revision.reason,
        "changed_sections": revision.changed_sections,
        "restored_from": revision.restored_from,
    }
    if content:
        data["content"] = revision.content
    return data


def _plan(plan: TreatmentPlan) -> dict[str, Any]:
    current = (
        PlanRevision.objects.select_related("author").get(pk=plan.current_id) if plan.current_id else None
    )
    assert current is not None, "a plan always has a first revision"
    return {**_summary(plan), "current": _revision(current)}


def _content_errors(exc: pydantic.ValidationError) -> dict[str, Any]:
    return error_body(
        "The plan content is not valid.",
        {f"content.{path}" if path != "__all__" else "content": m for path, m in field_errors(exc).items()},
    )


@router.get(
    "/patients/{patient_id}/plans",
    response={200: list[PlanSummary], **ERRORS},
    url_name="plan_list",
    operation_id="plan_list",
    summary="List the patient's plans",
)
def list_plans(request: HttpRequest, patient_id: int) -> Any:
    """Every plan of the patient, newest first (scope: CarePlan search)."""
    require_scope(request, RESOURCE, "search")
    grant = access.access_plan_patient(request, patient_id)
    return [_summary(p) for p in TreatmentPlan.objects.filter(patient=grant.patient).order_by("-created_at")]


@router.post(
    "/patients/{patient_id}/plans",
    response={201: Plan, **WRITE_ERRORS},
    url_name="plan_create",
    operation_id="plan_create",
    summary="Start a draft plan",
)
def create_plan(request: HttpRequest, patient_id: int, payload: NewPlan) -> Any:
    """A new draft plan with its first revision (scope: CarePlan create). Care-team therapists,
    prescribers and care managers only; 409 while the patient has a draft already."""
    require_scope(request, RESOURCE, "create")
    grant = access.access_plan_patient(request, patient_id, edit=True)
    try:
        plan = actions.do_create_plan(
            grant.patient,
            acting_user=request.user,  # type: ignore[arg-type]
            role=grant.role,
            content=payload.content.model_dump(mode="json"),
            title=payload.title,
            reason=payload.reason,
            request=request,
        )
    except pydantic.ValidationError as exc:
        return Status(422, _content_errors(exc))
    except actions.DraftExists as exc:
        return Status(409, error_body(str(exc)))
    return Status(201, _plan(plan))


@router.get(
    "/patients/{patient_id}/plans/{plan_id}",
    response={200: Plan, **ERRORS},
    url_name="plan_detail",
    operation_id="plan_detail",
    summary="Read a plan with its current revision",
)
def get_plan(request: HttpRequest, patient_id: int, plan_id: int) -> Any:
    require_scope(request, RESOURCE, "read")
    grant = access.access_plan_patient(request, patient_id)
    return _plan(access.access_plan(grant, request, plan_id))


@router.get(
    "/patients/{patient_id}/plans/{plan_id}/revisions",
    response={200: list[RevisionSummary], **ERRORS},
    url_name="plan_revisions",
    operation_id="plan_revisions",
    summary="List a plan's revisions",
)
def list_revisions(request: HttpRequest, patient_id: int, plan_id: int) -> Any:
    """Every revision, newest first, without content (scope: CarePlan read)."""
    require_scope(request, RESOURCE, "read")
    grant = access.access_plan_patient(request, patient_id)
    plan = access.access_plan(grant, request, plan_id)
    rows = (
        PlanRevision.objects.filter(plan=plan).select_related("author").defer("content").order_by("-number")
    )
    return [_revision(r, content=False) for r in rows]


@router.post(
    "/patients/{patient_id}/plans/{plan_id}/revisions",
    response={201: Revision, **WRITE_ERRORS},
    url_name="plan_revise",
    operation_id="plan_revise",
    summary="Change a plan (a new revision)",
)
def revise_plan(request: HttpRequest, patient_id: int, plan_id: int, payload: NewRevision) -> Any:
    """A new revision with the whole content (scope: CarePlan update). 409 with
    `current_revision` when somebody saved another revision since `base_revision`, or when the
    plan is closed or nothing changed; 422 names each invalid field (content.goals.1.target)."""
    require_scope(request, RESOURCE, "update")
    grant = access.access_plan_patient(request, patient_id, edit=True)
    plan = access.access_plan(grant, request, plan_id)
    try:
        revision = actions.do_revise_plan(
            plan,
            content=payload.content.model_dump(mode="json"),
            reason=payload.reason,
            acting_user=request.user,  # type: ignore[arg-type]
            base_revision=payload.base_revision,
            role=grant.role,
            request=request,
        )
    except actions.PlanConflict as exc:
        return Status(409, error_body(str(exc), current_revision=exc.current))
    except actions.PlanError as exc:
        return Status(409, error_body(str(exc), current_revision=plan.revision_count))
    except pydantic.ValidationError as exc:
        return Status(422, _content_errors(exc))
    revision.author = request.user  # type: ignore[assignment]
    return Status(201, _revision(revision))


@router.get(
    "/patients/{patient_id}/plans/{plan_id}/revisions/{number}",
    response={200: Revision, **ERRORS},
    url_name="plan_revision",
    operation_id="plan_revision",
    summary="Read one revision",
)
def get_revision(request: HttpRequest, patient_id: int, plan_id: int, number: int) -> Any:
    require_scope(request, RESOURCE, "read")
    grant = access.access_plan_patient(request, patient_id)
    plan = access.access_plan(grant, request, plan_id)
    return _revision(access.access_revision(plan, request, number))


@router.get(
    "/patients/{patient_id}/plans/{plan_id}/diff",
    response={200: Diff, **ERRORS},
    url_name="plan_diff",
    operation_id="plan_diff",
    summary="What changed between two revisions",
)
def diff(
    request: HttpRequest,
    patient_id: int,
    plan_id: int,
    from_revision: int | None = Query(None, alias="from", description="default: the one before `to`"),
    to_revision: int | None = Query(None, alias="to", description="default: the current revision"),
) -> Any:
    """Section by section, items followed by their key (scope: CarePlan read)."""
    require_scope(request, RESOURCE, "read")
    grant = access.access_plan_patient(request, patient_id)
    plan = access.access_plan(grant, request, plan_id)
    right = access.access_revision(plan, request, to_revision or plan.revision_count)
    left = access.access_revision(plan, request, from_revision or max(1, right.number - 1))
    sections = rules.diff(left.content, right.content)
    return {
        "from_revision": left.number,
        "to_revision": right.number,
        "sections": [
            {
                "section": s.section,
                "label": SECTIONS[s.section],
                "changes": [
                    {
                        "kind": c.kind,
                        "label": c.label,
                        "fields": [{"field": f, "before": b, "after": a} for f, b, a in c.fields],
                    }
                    for c in s.changes
                ],
            }
            for s in sections
        ],
    }


@router.post(
    "/patients/{patient_id}/plans/{plan_id}/acknowledge",
    response={200: Acknowledgement, **WRITE_ERRORS},
    url_name="plan_acknowledge",
    operation_id="plan_acknowledge",
    summary="Acknowledge a revision",
)
def acknowledge(request: HttpRequest, patient_id: int, plan_id: int, payload: AcknowledgeIn) -> Any:
    """The caller has seen this revision (scope: CarePlan update). Care-team members only;
    acknowledging twice changes nothing."""
    require_scope(request, RESOURCE, "update")
    grant = access.access_plan_patient(request, patient_id)
    if not access.may_acknowledge(grant):
        record_denied(request, RESOURCE, plan_id, patient=grant.patient)
        raise Http404
    plan = access.access_plan(grant, request, plan_id)
    revision = access.access_revision(plan, request, payload.revision)
    ack = actions.do_acknowledge(
        plan,
        revision_number=revision.number,
        acting_user=request.user,  # type: ignore[arg-type]
        role=grant.role,
        request=request,
    )
    return {"revision": revision.number, "acknowledged_at": ack.acknowledged_at}
