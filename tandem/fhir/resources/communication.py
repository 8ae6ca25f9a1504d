"""Communication: each message of the per-patient threads (tandem.handoffs Thread and Message) —
who sent it, to whom, when, its text and the thread's subject. Seen as in the app
(tandem.handoffs.access): every thread by the patient's care team and a clinician who broke the
glass; by the patient, only the threads shared with them, of their own record. Consented outside
clinicians and administrators see none. Messages carry no attachment, so no note can appear."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from tandem.fhir.auth import Caller
from tandem.fhir.policy import SAFETY, visible_patients
from tandem.fhir.registry import Include, ResourceType, register
from tandem.fhir.resources.common import codesystem, instant, patient_params, ref, token_q
from tandem.fhir.search import DateParam, Token, TokenParam
from tandem.handoffs.messaging import PATIENT
from tandem.handoffs.models import Audience, Message
from tandem.patients.models import Category

AUDIENCE = codesystem("message-audience")


def _category_q(token: Token) -> Q:
    return token_q(token, AUDIENCE, {a: Q(thread__audience=a) for a in Audience.values})


def readable(caller: Caller, field: str = "thread__patient_id") -> Q:
    """The messages the caller reads: the team's (care team and break-glass, the same bases as
    the safety workflow) and, on the patient's own record, the threads shared with them."""
    found = Q(**{f"{field}__in": visible_patients(caller, SAFETY).values("id")})
    own = caller.own_patient
    if own is not None:
        found |= Q(**{field: own.pk, "thread__audience": Audience.TEAM_PATIENT})
    return found


@register
class CommunicationType(ResourceType):
    name = "Communication"
    need = Category.MESSAGES
    params = (
        *patient_params("thread__patient_id"),
        DateParam("sent", "created_at", doc="when it was sent"),
        TokenParam("category", q=_category_q, doc=f"{AUDIENCE}|team or team_patient"),
    )
    sorts = {"_id": "pk", "sent": "created_at"}
    default_sort = ("-created_at",)
    includes = {
        "Communication:patient": Include("Patient", lambda m: [str(m.thread.patient_id)]),
        "Communication:subject": Include("Patient", lambda m: [str(m.thread.patient_id)]),
    }
    last_updated = "created_at"
    documentation = "Messages between the care team and with the patient (category: who sees the thread)."

    def queryset(self, caller: Caller) -> QuerySet[Any]:
        return Message.objects.filter(readable(caller)).select_related("thread", "author")

    def patient_of(self, row: Any) -> int | None:
        return row.thread.patient_id

    def visible_among(self, caller: Caller, patient_ids: set[int]) -> set[int]:
        seen = set(visible_patients(caller, SAFETY).filter(id__in=patient_ids).values_list("id", flat=True))
        own = caller.own_patient_id
        return seen | ({own} if own in patient_ids else set())

    def to_fhir(self, message: Message) -> dict[str, Any]:
        thread = message.thread
        patient = ref("Patient", thread.patient_id)
        team = ref("CareTeam", thread.patient_id, "Care team")
        if message.author_role == PATIENT:
            sender, recipients = patient, [team]
        else:
            sender = ref("Practitioner", message.author_id, message.author.display_name)
            recipients = [team, patient] if thread.with_patient else [team]
        audience = Audience(thread.audience) if thread.audience in Audience.values else None
        return {
            "resourceType": "Communication",
            "id": str(message.pk),
            "status": "completed",
            "category": [
                {
                    "coding": [
                        {
                            "system": AUDIENCE,
                            "code": thread.audience,
                            "display": audience.label if audience else thread.audience,
                        }
                    ]
                }
            ],
            "subject": patient,
            "topic": {"text": thread.subject},
            "sent": instant(message.created_at),
            "recipient": recipients,
            "sender": sender,
            "payload": [{"contentString": message.body}],
        }
