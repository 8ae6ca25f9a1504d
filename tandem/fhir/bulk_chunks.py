"""The common case of `tandem import`, a chunk at a time: new Patients and new
QuestionnaireResponses stored in bulk, with the same checks, rows and audit as one by one.

For each resource of a chunk, every check of the one-by-one path (tandem.fhir.importer) runs
first, without a write: structure (fhir.resources R4B), codes, the patient and the importer's
right to write for them, the identifier not already stored. Those that pass are written
together — one insert per table, their audit rows appended to the chain in one go, the safety
workflow for each response that needs it — in a savepoint. Whatever does not pass (a bad
resource, an MRN or identifier already there, twice in the chunk, an unusual caller) is left to
the one-by-one path, which answers it exactly as it always has (the error that names the line
and the element, or the existing resource); so does the whole chunk when the bulk write fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse, QuestionnaireResponseItem

from tandem.accounts.access import memberships
from tandem.accounts.models import CLINICAL_ROLES, Membership, Organisation
from tandem.audit.actions import patient_event, record_audit_many
from tandem.audit.models import Action
from tandem.fhir.auth import Caller, permits
from tandem.fhir.importer import Imported, Importer, patient_fields
from tandem.fhir.policy import parse_patient_id
from tandem.fhir.structure import RepeatedValidator
from tandem.lib.fast_insert import FastInsert
from tandem.measures.access import ADMINISTERING_ROLES, may_administer
from tandem.measures.actions import Prepared, do_store_responses, prepare_ingest
from tandem.measures.models import InstrumentResponse
from tandem.patients.access import grant_for
from tandem.patients.models import PATIENT_FIELDS, CareTeamMember, Patient, active_on


@dataclass
class Item:
    """One resource of the chunk: its line, what it is called by the sender, the resource with
    its references already rewritten to Tandem's."""

    line: int
    names: list[str]
    resource: dict[str, Any]


@dataclass
class ChunkResult:
    stored: dict[int, Imported] = field(default_factory=dict)  # line → what was created
    left: list[Item] = field(default_factory=list)  # for the one-by-one path, in line order


@dataclass
class BulkStore:
    """Per import: what was learnt about patients and grants, reused chunk after chunk."""

    importer: Importer
    patients: dict[int, Patient | None] = field(default_factory=dict)
    roles: dict[int, str | None] = field(default_factory=dict)
    responses: RepeatedValidator = field(
        default_factory=lambda: RepeatedValidator(QuestionnaireResponse, "item", QuestionnaireResponseItem)
    )
    rows: FastInsert[InstrumentResponse] = field(default_factory=lambda: FastInsert(InstrumentResponse))

    def store(
        self,
        items: list[Item],
        prepared: dict[int, Prepared] | None = None,
        rows: dict[int, tuple[Any, ...]] | None = None,
    ) -> ChunkResult:
        """Store what can be stored in bulk; the rest is left, in line order. `prepared`: the
        responses already checked and scored (prepare_responses), by line; `rows`: the values
        of some of their rows (self.rows.values), by id() of the response."""
        result = ChunkResult()
        handlers: dict[str, Callable[[list[Item]], tuple[dict[int, Imported], list[Item]]]] = {
            "Patient": self._patients,
            "QuestionnaireResponse": lambda group: self._responses(group, prepared or {}, rows or {}),
        }
        by_type: dict[str, list[Item]] = {}
        for item in items:
            by_type.setdefault(str(item.resource.get("resourceType")), []).append(item)
        for name, group in by_type.items():
            handler = handlers.get(name)
            if handler is None:
                result.left += group
                continue
            try:
                with transaction.atomic():
                    stored, left = handler(group)
            except Exception:  # nothing of the group written: each is tried on its own
                stored, left = {}, group
            result.stored |= stored
            result.left += left
        result.left.sort(key=lambda i: i.line)
        return result

    # --- patients ---------------------------------------------------------------------------

    def _patients(self, items: list[Item]) -> tuple[dict[int, Imported], list[Item]]:
        importer = self.importer
        if permits(importer.caller, "Patient", "create") is None:
            return {}, items
        left: list[Item] = []
        ready: list[tuple[Item, Organisation, dict[str, Any]]] = []
        seen: set[tuple[int, str]] = set()
        for item in items:
            try:
                FhirPatient.model_validate(item.resource)
                organisation = importer._organisation_for(item.resource)
                fields = patient_fields(item.resource, organisation)
            except Exception:
                left.append(item)
                continue
            key = (organisation.pk, fields["mrn"])
            if key in seen:
                left.append(item)  # the second finds the first
                continue
            seen.add(key)
            ready.append((item, organisation, fields))
        taken: set[tuple[int, str]] = set()
        for org_id in {o.pk for _, o, _ in ready}:
            mrns = [f["mrn"] for _, o, f in ready if o.pk == org_id]
            taken |= {
                (org_id, m)
                for m in Patient.objects.filter(organisation_id=org_id, mrn__in=mrns).values_list(
                    "mrn", flat=True
                )
            }
        new = [(i, o, f) for i, o, f in ready if (o.pk, f["mrn"]) not in taken]
        left += [i for i, o, f in ready if (o.pk, f["mrn"]) in taken]
        created = do_import_patients(new, caller=importer.caller, importer=importer)
        stored = {}
        for (item, _, _), patient in zip(new, created, strict=True):
            stored[item.line] = Imported("Patient", str(patient.pk), True)
            self.patients[patient.pk] = patient
        return stored, left

    # --- questionnaire responses ------------------------------------------------------------

    def _response_caller(self) -> Caller | None:
        """The importer, when it may create responses in bulk (a clinician's token); None: each
        is left to the one-by-one path, which says why not."""
        caller = permits(self.importer.caller, "QuestionnaireResponse", "create")
        if caller is None or caller.own_patient is not None or caller.patient_context_only:
            return None
        user = caller.user
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return None
        return caller

    def _responses(
        self, items: list[Item], prepared: dict[int, Prepared], rows: dict[int, tuple[Any, ...]]
    ) -> tuple[dict[int, Imported], list[Item]]:
        caller = self._response_caller()
        if caller is None:
            return {}, items
        now = timezone.now()
        ready, left = self.prepare_responses([i for i in items if i.line not in prepared], now=now)
        ready += [(i, prepared[i.line]) for i in items if i.line in prepared]
        ready.sort(key=lambda pair: pair[0].line)
        fresh: list[tuple[Item, Prepared]] = []
        keys: set[tuple[int, str]] = set()
        for item, ingest in ready:
            key = (ingest.response.patient_id, ingest.response.idempotency_key)
            if key in keys:
                left.append(item)  # the second finds the first
                continue
            keys.add(key)
            fresh.append((item, ingest))
        taken = set(
            InstrumentResponse.objects.filter(
                patient_id__in={k[0] for k in keys}, idempotency_key__in={k[1] for k in keys}
            ).values_list("patient_id", "idempotency_key")
        )
        new = [(i, p) for i, p in fresh if (p.response.patient_id, p.response.idempotency_key) not in taken]
        left += [i for i, p in fresh if (p.response.patient_id, p.response.idempotency_key) in taken]
        do_store_responses(
            [p for _, p in new],
            acting_user=caller.user,
            request=self.importer.request,
            now=now,
            insert=lambda responses: self.rows.insert(responses, rows),
        )
        stored = {i.line: Imported("QuestionnaireResponse", str(p.response.pk), True) for i, p in new}
        return stored, left

    def prepare_responses(
        self, items: list[Item], *, now: datetime, known_only: bool = False
    ) -> tuple[list[tuple[Item, Prepared]], list[Item]]:
        """Every check of a response and its scoring, without a write: (item, what to store) for
        those that pass, the others left. With `known_only`, without a query either: a response
        for a patient not already learnt about is left."""
        caller = self._response_caller()
        if caller is None:
            return [], items
        wanted: dict[int, int] = {}  # line → patient id
        for item in items:
            subject = item.resource.get("subject")
            reference = subject.get("reference") if isinstance(subject, dict) else None
            patient_id = parse_patient_id(reference) if reference else None
            if patient_id is not None:
                wanted[item.line] = patient_id
        if not known_only:
            self._learn(caller, set(wanted.values()))
        left: list[Item] = []
        ready: list[tuple[Item, Prepared]] = []
        for item in items:
            patient_id = wanted.get(item.line)
            patient = self.patients.get(patient_id) if patient_id is not None else None
            role = self.roles.get(patient_id) if patient_id is not None else None
            if patient is None or role is None:
                left.append(item)
                continue
            try:
                if not self.responses.is_valid(item.resource):
                    raise ValueError("not valid")  # the one-by-one path says where
                prepared = prepare_ingest(
                    patient, item.resource, caller.user, role=role, now=now, structure_checked=True
                )
            except Exception:
                left.append(item)
                continue
            ready.append((item, prepared))
        return ready, left

    def learn(self, patient_ids: set[int]) -> None:
        """What prepare_responses needs to know about these patients, read now."""
        caller = self._response_caller()
        if caller is not None:
            self._learn(caller, patient_ids)

    def _learn(self, caller: Caller, patient_ids: set[int]) -> None:
        """The patients (active, with their organisation) and the role in which the caller may
        administer an instrument to each (None: may not) — grant_for's answer, read for the
        chunk at once."""
        unknown = patient_ids - self.patients.keys()
        if unknown:
            found = {
                p.pk: p
                for p in Patient.objects.select_related("organisation").filter(pk__in=unknown, is_active=True)
            }
            self.patients |= {pid: found.get(pid) for pid in unknown}
        unknown = {pid for pid in patient_ids - self.roles.keys() if self.patients.get(pid) is not None}
        if not unknown:
            return
        team: dict[int, str] = {}
        rows = CareTeamMember.objects.filter(
            active_on(timezone.localdate()), patient_id__in=unknown, user=caller.user
        ).values_list("patient_id", "role")
        for patient_id, role in rows:  # grant_for takes the first by the model's order: role, start
            team[patient_id] = min(role, team.get(patient_id, role))
        for pid in unknown:
            patient = self.patients[pid]
            assert patient is not None
            if pid not in team:  # not on the team: break-glass, consent, administrator…
                grant = grant_for(caller.user, patient)
                self.roles[pid] = grant.role if grant is not None and may_administer(grant) else None
                continue
            self.roles[pid] = team[pid] if team[pid] in ADMINISTERING_ROLES else None


def do_import_patients(
    new: list[tuple[Item, Organisation, dict[str, Any]]], *, caller: Caller, importer: Importer
) -> list[Patient]:
    """do_import_patient for many: the patients, the importing clinician on each care team
    (in their role in that organisation) and the audit rows of both, in one go each."""
    if not new:
        return []
    user = caller.user
    patients = Patient.objects.bulk_create(
        [Patient(organisation=o, **{k: v for k, v in f.items() if k in PATIENT_FIELDS}) for _, o, f in new]
    )
    role_in = {
        org_id: next(
            (m.role for m in memberships(user) if m.organisation_id == org_id and m.role in CLINICAL_ROLES),
            None,
        )
        for org_id in {p.organisation_id for p in patients}
    }
    start: date = timezone.localdate()
    members: list[CareTeamMember] = []
    membership_of: dict[str, Membership | None] = {}
    for patient in patients:
        role = role_in[patient.organisation_id]
        if role is None:
            continue
        if role not in membership_of:  # as do_add_care_team_member finds it
            membership_of[role] = (
                Membership.objects.filter(user=user, role=role, is_active=True)
                .select_related("organisation")
                .first()
            )
        membership = membership_of[role]
        if membership is None:
            raise ValueError(f"{user} does not hold the role {role}")
        members.append(
            CareTeamMember(
                patient=patient,
                user=user,
                role=role,
                organisation=membership.organisation,
                start=start,
                added_by=user,
            )
        )
    CareTeamMember.objects.bulk_create(members)
    member_of = {m.patient_id: m for m in members}
    events: list[dict[str, Any]] = []
    for patient in patients:
        events.append(patient_event(user, Action.CREATE, "Patient", patient.pk, patient))
        member = member_of.get(patient.pk)
        if member is not None:
            events.append(
                patient_event(
                    user,
                    Action.CREATE,
                    "CareTeamMember",
                    member.pk,
                    patient,
                    member=user.email,
                    role_on_team=member.role,
                )
            )
    record_audit_many(events, request=importer.request)
    return patients
