"""Importing FHIR resources from another system (an EHR): one resource at a time, for both the
transaction Bundle (`POST /fhir/`) and `tandem import`.

A Patient is created in the importing user's organisation — or matched, by its MRN, to the one
already there — and the importing clinician joins the new patient's care team, so that what
comes with the patient can be written by them. Any other type is stored by its registered
type's `create` (the app's `do_*` action): a type added to the registry that declares "create"
is importable without a change here. References between the resources being imported
(`urn:uuid:` full URLs, or the sender's own `Patient/<id>`) are rewritten to Tandem's ids first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from fhir.resources.R4B.patient import Patient as FhirPatient
from pydantic import ValidationError

from tandem.accounts.access import memberships
from tandem.accounts.models import CLINICAL_ROLES, Organisation, Role
from tandem.audit.access import record_denied
from tandem.fhir import interactions
from tandem.fhir.auth import Caller, require
from tandem.fhir.errors import FhirError, bad_request
from tandem.fhir.policy import visible_patients
from tandem.fhir.registry import REGISTRY
from tandem.fhir.resources.patient import mrn_system
from tandem.patients.access import RECORD
from tandem.patients.actions import do_add_care_team_member, do_create_patient
from tandem.patients.models import Patient

MR = "http://terminology.hl7.org/CodeSystem/v2-0203"
LENGTHS = {
    "mrn": ("identifier", 40),
    "given_name": ("name", 100),
    "family_name": ("name", 100),
    "preferred_name": ("name", 100),
    "preferred_language": ("communication", 35),
    "phone": ("telecom", 40),
    "address": ("address", 300),
    "emergency_contact_name": ("contact", 200),
    "emergency_contact_phone": ("contact", 40),
    "emergency_contact_relationship": ("contact", 60),
}


@dataclass(frozen=True)
class Imported:
    type: str
    id: str
    created: bool

    @property
    def reference(self) -> str:
        return f"{self.type}/{self.id}"


@dataclass
class Importer:
    """Who imports, and where new patients go (None: the caller's one organisation, or the one
    the Patient's managingOrganization names)."""

    request: HttpRequest
    caller: Caller
    organisation: Organisation | None = None

    def add(self, resource: Any, if_none_exist: str | None = None) -> Imported:
        """Store one resource; FhirError (expressions rooted at its type) when it cannot be."""
        if not isinstance(resource, dict):
            raise bad_request("The resource must be a JSON object.", code="structure")
        name = resource.get("resourceType")
        if name == "Patient":
            return self._patient(resource)
        rtype = REGISTRY.get(name) if isinstance(name, str) else None
        if rtype is None or "create" not in rtype.interactions:
            shown = name[:40] if isinstance(name, str) else "(missing)"
            raise FhirError(
                422,
                "not-supported",
                f"Tandem does not import {shown} resources; importable: {', '.join(importable_types())}.",
                expression="resourceType",
            )
        caller = require(self.request, self.caller, rtype.name, "create")
        if if_none_exist:
            existing = interactions._existing(caller, rtype, if_none_exist)
            if existing is not None:
                rtype.audit(self.request, caller, [existing], "read")
                return Imported(rtype.name, rtype.to_fhir(existing)["id"], False)
        row, created = rtype.create(self.request, caller, resource)
        if not created:
            rtype.audit(self.request, caller, [row], "read")
        return Imported(rtype.name, rtype.to_fhir(row)["id"], created)

    def _patient(self, resource: dict[str, Any]) -> Imported:
        caller = require(self.request, self.caller, "Patient", "create")
        try:
            FhirPatient.model_validate(resource)
        except ValidationError as exc:
            error = exc.errors()[0]
            raise bad_request(
                f"{_path('Patient', error.get('loc', ()))}: {error.get('msg', 'is not valid')}",
                expression=_path("Patient", error.get("loc", ())),
                code="structure",
            ) from None
        organisation = self._organisation_for(resource)
        fields = patient_fields(resource, organisation)
        existing = Patient.objects.filter(organisation=organisation, mrn=fields["mrn"]).first()
        if existing is not None:
            if not visible_patients(caller, RECORD).filter(pk=existing.pk).exists():
                record_denied(self.request, "Patient", f"mrn={fields['mrn'][:40]}", patient=existing)
                raise FhirError(
                    409,
                    "conflict",
                    "A patient with this identifier is already in the organisation, and is not one you may "
                    "open; ask their care team or an administrator.",
                    expression="Patient.identifier",
                )
            REGISTRY["Patient"].audit(self.request, caller, [existing], "read")
            return Imported("Patient", str(existing.pk), False)
        patient = do_import_patient(
            organisation=organisation, fields=fields, caller=caller, request=self.request
        )
        return Imported("Patient", str(patient.pk), True)

    def _organisation_for(self, resource: dict[str, Any]) -> Organisation:
        mine = {
            m.organisation_id: m.organisation
            for m in memberships(self.caller.user)
            if m.role in CLINICAL_ROLES or m.role == Role.ORG_ADMIN
        }
        if self.caller.patient_context_only or not mine:
            raise FhirError(
                403, "forbidden", "Only clinicians and administrators of an organisation import patients."
            )
        if self.organisation is not None:
            if self.organisation.pk not in mine:
                raise FhirError(403, "forbidden", f"You are not a member of {self.organisation.slug}.")
            return self.organisation
        named = str((resource.get("managingOrganization") or {}).get("reference") or "")
        if named.startswith("Organization/") and named.removeprefix("Organization/").isdigit():
            chosen = mine.get(int(named.removeprefix("Organization/")))
            if chosen is not None:
                return chosen
        if len(mine) == 1:
            return next(iter(mine.values()))
        raise FhirError(
            422,
            "required",
            "You belong to several organisations: name one as managingOrganization (Organization/<id>).",
            expression="Patient.managingOrganization",
        )


@transaction.atomic
def do_import_patient(
    *, organisation: Organisation, fields: dict[str, Any], caller: Caller, request: HttpRequest | None
) -> Patient:
    """A new patient from another system; a clinician importing them joins the care team in
    their role in that organisation (an administrator does not)."""
    patient = do_create_patient(
        organisation=organisation, fields=fields, acting_user=caller.user, request=request
    )
    roles = [
        m.role
        for m in memberships(caller.user)
        if m.organisation_id == organisation.pk and m.role in CLINICAL_ROLES
    ]
    if roles:
        do_add_care_team_member(
            patient, user=caller.user, role=roles[0], acting_user=caller.user, request=request
        )
    return patient


def importable_types() -> list[str]:
    return ["Patient", *sorted(n for n, t in REGISTRY.items() if "create" in t.interactions)]


def _path(root: str, loc: Any) -> str:
    where = root
    for part in loc:
        where += f"[{part}]" if isinstance(part, int) else f".{part}"
    return where


def _unprocessable(expression: str, diagnostics: str) -> FhirError:
    return FhirError(422, "required", diagnostics, expression=expression)


def patient_fields(resource: dict[str, Any], organisation: Organisation) -> dict[str, Any]:
    """Tandem's patient fields from a (structurally valid) FHIR Patient."""
    names = resource.get("name") or []
    official = next((n for n in names if n.get("use") == "official"), names[0] if names else None)
    if not official or not official.get("family") or not official.get("given"):
        raise _unprocessable("Patient.name", "A family and a given name are needed.")
    usual = next((n for n in names if n.get("use") == "usual" and n.get("given")), None)
    if not resource.get("birthDate") or len(resource["birthDate"]) != 10:
        raise _unprocessable("Patient.birthDate", "The full date of birth (YYYY-MM-DD) is needed.")
    fields: dict[str, Any] = {
        "mrn": _mrn(resource, organisation),
        "given_name": official["given"][0],
        "family_name": official["family"],
        "preferred_name": usual["given"][0] if usual else "",
        "date_of_birth": resource["birthDate"],
        "time_zone": organisation.time_zone,
    }
    for item in resource.get("communication") or []:
        codes = [c.get("code") for c in (item.get("language") or {}).get("coding") or [] if c.get("code")]
        if codes and (item.get("preferred") or "preferred_language" not in fields):
            fields["preferred_language"] = codes[0]
    for point in resource.get("telecom") or []:
        kind = {"phone": "phone", "sms": "phone", "email": "email"}.get(point.get("system", ""))
        if kind and point.get("value") and kind not in fields:
            fields[kind] = point["value"]
    addresses = resource.get("address") or []
    if addresses:
        first = addresses[0]
        parts = [*first.get("line", []), first.get("city"), first.get("state"), first.get("postalCode")]
        fields["address"] = first.get("text") or ", ".join(p for p in parts if p)
    contacts = resource.get("contact") or []
    if contacts:
        contact = contacts[0]
        name = contact.get("name") or {}
        fields["emergency_contact_name"] = (
            name.get("text") or " ".join([*(name.get("given") or []), name.get("family") or ""]).strip()
        )
        phones = [
            t["value"] for t in contact.get("telecom") or [] if t.get("system") == "phone" and t.get("value")
        ]
        if phones:
            fields["emergency_contact_phone"] = phones[0]
        relations = [r.get("text") or "" for r in contact.get("relationship") or []]
        if relations and relations[0]:
            fields["emergency_contact_relationship"] = relations[0]
    for key, (element, limit) in LENGTHS.items():
        if len(str(fields.get(key, ""))) > limit:
            raise FhirError(
                422,
                "value",
                f"{key.replace('_', ' ')} is longer than {limit} characters.",
                expression=f"Patient.{element}",
            )
    if fields.get("email"):
        from django.core.exceptions import ValidationError as DjangoValidationError
        from django.core.validators import validate_email

        try:
            validate_email(fields["email"])
        except DjangoValidationError:
            raise FhirError(
                422, "value", "The e-mail address is not valid.", expression="Patient.telecom"
            ) from None
    return fields


def _mrn(resource: dict[str, Any], organisation: Organisation) -> str:
    """The MRN: Tandem's own identifier of this organisation, else the one typed MR, else the
    first identifier with a value."""
    identifiers = [i for i in resource.get("identifier") or [] if i.get("value")]
    ours = [i for i in identifiers if i.get("system") == mrn_system(organisation.slug)]
    typed = [
        i
        for i in identifiers
        if any(
            c.get("system") == MR and c.get("code") == "MR" for c in (i.get("type") or {}).get("coding") or []
        )
    ]
    chosen = (ours or typed or identifiers or [None])[0]
    if chosen is None:
        raise _unprocessable("Patient.identifier", "An identifier (the medical record number) is needed.")
    return str(chosen["value"]).strip()


# --- references between the resources being imported -------------------------------------------


def rewrite_references(
    value: Any, resolve: Callable[[str], str | None], where: str, refuse: Callable[[str], bool]
) -> Any:
    """A copy of `value` with each `reference` that `resolve` knows replaced by Tandem's own;
    a FhirError (400) naming the element when one that `refuse` recognises cannot be resolved."""
    try:
        return _rewritten(value, resolve, refuse)
    except _Refused:  # walked again, naming the element on the way
        return _rewritten_at(value, resolve, where, refuse)


class _Refused(Exception):
    pass


def _rewritten(value: Any, resolve: Callable[[str], str | None], refuse: Callable[[str], bool]) -> Any:
    """rewrite_references without the element's name at each step (the common case)."""
    if isinstance(value, dict):
        copied: dict[str, Any] = {}
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                found = resolve(item)
                if found is None and refuse(item):
                    raise _Refused
                copied[key] = found or item
            elif isinstance(item, (dict, list)):
                copied[key] = _rewritten(item, resolve, refuse)
            else:
                copied[key] = item
        return copied
    if isinstance(value, list):
        return [
            _rewritten(item, resolve, refuse) if isinstance(item, (dict, list)) else item for item in value
        ]
    return value


def _rewritten_at(
    value: Any, resolve: Callable[[str], str | None], where: str, refuse: Callable[[str], bool]
) -> Any:
    if isinstance(value, dict):
        copied: dict[str, Any] = {}
        for key, item in value.items():
            path = f"{where}.{key}"
            if key == "reference" and isinstance(item, str):
                found = resolve(item)
                if found is None and refuse(item):
                    raise FhirError(
                        400,
                        "not-found",
                        f"{path}: {item[:80]} is not a resource of this import.",
                        expression=path,
                    )
                copied[key] = found or item
            else:
                copied[key] = _rewritten_at(item, resolve, path, refuse)
        return copied
    if isinstance(value, list):
        return [_rewritten_at(item, resolve, f"{where}[{n}]", refuse) for n, item in enumerate(value)]
    return value


def located(exc: FhirError, root: str, label: str) -> FhirError:
    """The error with its expressions rooted at `root` (e.g. Bundle.entry[3].resource) and its
    diagnostics prefixed with `label` (e.g. "entry 3")."""
    issues = []
    for item in exc.issues:
        moved = dict(item)
        expressions = [_reroot(e, root) for e in item.get("expression") or []] or [root]
        moved["expression"] = expressions
        moved["diagnostics"] = f"{label}: {item.get('diagnostics', '')}"
        issues.append(moved)
    return FhirError(exc.status, "", "", issues=issues, headers=exc.headers)


def _reroot(expression: str, root: str) -> str:
    if expression == "If-None-Exist":
        return root.removesuffix(".resource") + ".request.ifNoneExist"
    head, dot, rest = expression.partition(".")
    if head[:1].isupper() and head.isalpha():  # Type.element…
        return f"{root}.{rest}" if dot else root
    return f"{root}.{expression}"
