"""QuestionnaireResponse: each administered instrument (tandem.measures InstrumentResponse), and
create — `POST /fhir/QuestionnaireResponse` stores through do_ingest_questionnaire_response, the
same action as the portal: scored, stored once per identifier, rules and the safety workflow run.

Reading needs the "measures" category. Creating is for the patient's own token (their own
record) and for the therapist, prescriber and care manager on the care team — those who
administer an instrument in the UI; anybody else gets the 404 of a patient that does not exist.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest

from tandem.audit.access import record_denied
from tandem.fhir.auth import Caller
from tandem.fhir.errors import FhirError, not_found
from tandem.fhir.policy import grants, parse_patient_id, visible
from tandem.fhir.registry import Include, ResourceType, register
from tandem.fhir.resources.common import instant, patient_params, ref, token_q
from tandem.fhir.search import DateParam, ReferenceParam, Token, TokenParam
from tandem.measures import definitions
from tandem.measures.access import may_administer
from tandem.measures.actions import do_ingest_questionnaire_response
from tandem.measures.fhir import FhirInputError, find_definition
from tandem.measures.models import AdministeredBy, InstrumentResponse, Source
from tandem.patients.models import Category, Patient

STATUS = "http://hl7.org/fhir/questionnaire-answers-status"


def _questionnaire_q(reference: str | None) -> Q:
    defn = find_definition(reference or "")
    return Q(instrument=defn.id) if defn is not None else Q(pk__in=[])


class QuestionnaireParam(ReferenceParam):
    """The questionnaire: our canonical URL, Questionnaire/<id>, or a LOINC form URL."""

    def parse(self, raw: str) -> str | None:
        return raw.strip()

    def q(self, value: str | None) -> Q:
        return _questionnaire_q(value)


def _identifier_q(token: Token) -> Q:
    if token.system is None:
        return Q(fhir_identifier=token.code) | Q(fhir_identifier__endswith=f"|{token.code}")
    return Q(fhir_identifier=f"{token.system}|{token.code}")


def _status_q(token: Token) -> Q:
    return token_q(token, STATUS, {"completed": Q()})


def identifier_of(row: InstrumentResponse) -> dict[str, str] | None:
    if not row.fhir_identifier:
        return None
    system, bar, value = row.fhir_identifier.partition("|")
    return {"system": system, "value": value} if bar and system else {"value": value or system}


@register
class QuestionnaireResponseType(ResourceType):
    name = "QuestionnaireResponse"
    need = Category.MEASURES
    patient_field = "patient_id"
    interactions = ("read", "search-type", "create")
    conditional_create = True
    params = (
        *patient_params(),
        QuestionnaireParam("questionnaire", target="Questionnaire"),
        DateParam("authored", "authored_at"),
        TokenParam("identifier", q=_identifier_q),
        TokenParam("status", q=_status_q),
    )
    sorts = {"_id": "pk", "authored": "authored_at", "_lastUpdated": "received_at"}
    default_sort = ("-authored_at",)
    includes = {
        "QuestionnaireResponse:questionnaire": Include("Questionnaire", lambda r: [r.instrument]),
        "QuestionnaireResponse:patient": Include("Patient", lambda r: [str(r.patient_id)]),
        "QuestionnaireResponse:subject": Include("Patient", lambda r: [str(r.patient_id)]),
    }
    last_updated = "received_at"

    def queryset(self, caller: Caller) -> QuerySet[Any]:
        return InstrumentResponse.objects.filter(visible(caller, Category.MEASURES)).defer("raw_resource")

    def to_fhir(self, row: InstrumentResponse) -> dict[str, Any]:
        defn = definitions.registry().get(row.instrument)
        resource: dict[str, Any] = {
            "resourceType": "QuestionnaireResponse",
            "id": str(row.pk),
            "meta": {"lastUpdated": instant(row.received_at)},
        }
        identifier = identifier_of(row)
        if identifier:
            resource["identifier"] = identifier
        resource |= {
            "questionnaire": defn.canonical if defn else definitions.CANONICAL.format(id=row.instrument),
            "status": "completed",
            "subject": ref("Patient", row.patient_id),
            "authored": instant(row.authored_at),
        }
        if row.administered_by == AdministeredBy.PATIENT:
            resource["author"] = ref("Patient", row.patient_id)
            resource["source"] = ref("Patient", row.patient_id)
        elif row.source == Source.CLINICIAN and row.entered_by_id:
            resource["author"] = ref("Practitioner", row.entered_by_id)
        items = []
        order = [i.link_id for i in defn.items] if defn else list(row.answers)
        for link in order:
            given = row.answers.get(link)
            if not given:
                continue
            item: dict[str, Any] = {"linkId": link}
            if defn is not None:
                item["text"] = defn.item(link).text
            if "code" in given:
                coding = {k: given[k] for k in ("system", "code", "display") if given.get(k)}
                item["answer"] = [{"valueCoding": coding}]
            elif "text" in given:
                item["answer"] = [{"valueString": given["text"]}]
            elif "value" in given:
                item["answer"] = [{"valueInteger": given["value"]}]
            else:
                continue
            items.append(item)
        if items:
            resource["item"] = items
        return resource

    def create(self, request: HttpRequest, caller: Caller, body: dict[str, Any]) -> tuple[Any, bool]:
        subject = (
            (body.get("subject") or {}).get("reference") if isinstance(body.get("subject"), dict) else None
        )
        if not subject:
            raise FhirError(
                422,
                "required",
                "subject must reference the patient (Patient/<id>).",
                expression=f"{self.name}.subject",
            )
        patient_id = parse_patient_id(subject)
        patient = (
            Patient.objects.select_related("organisation").filter(pk=patient_id, is_active=True).first()
            if patient_id
            else None
        )
        role = self._submitter_role(caller, patient)
        if patient is None or role is None:
            record_denied(request, self.name, f"patient={str(subject)[:40]}", patient=patient)
            raise not_found()
        try:
            submission = do_ingest_questionnaire_response(patient, body, caller.user, request, role=role)
        except FhirInputError as exc:
            structural = all(i.code == "structure" for i in exc.issues)
            raise FhirError(
                400 if structural else 422, "invalid", str(exc), issues=exc.outcome["issue"]
            ) from None
        return submission.response, submission.created

    def _submitter_role(self, caller: Caller, patient: Patient | None) -> str | None:
        if patient is None:
            return None
        if caller.own_patient_id == patient.pk:
            return "patient"
        if caller.patient_context_only:
            return None
        # As the UI decides (may_administer), from the policy's decision for this patient.
        basis = grants(caller, {patient.pk}, Category.MEASURES).get(patient.pk)
        return basis.role if basis is not None and may_administer(basis) else None
