"""The patient's choice about questionnaire reminders (tandem/measures/reminders.py)."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from tandem.accounts.models import User
from tandem.audit.actions import audit_patient_event
from tandem.audit.models import Action
from tandem.measures.models import QuestionnaireReminderPreference
from tandem.patients.models import Patient


@transaction.atomic
def do_set_questionnaire_emails(
    patient: Patient,
    email: bool,
    *,
    acting_user: User,
    role: str = "patient",
    request: HttpRequest | None = None,
) -> QuestionnaireReminderPreference:
    """Turn questionnaire reminder e-mails on or off (the in-app notification stays). Audited
    when it changes something; setting the same value again changes nothing."""
    preference, created = QuestionnaireReminderPreference.objects.select_for_update().get_or_create(
        patient=patient, defaults={"email": email}
    )
    if not created and preference.email == email:
        return preference
    if not created:
        preference.email = email
        preference.updated_at = timezone.now()
        preference.save(update_fields=["email", "updated_at"])
    audit_patient_event(
        acting_user,
        Action.CREATE if created else Action.UPDATE,
        "QuestionnaireReminderPreference",
        preference.pk,
        patient,
        request=request,
        role=role,
        email=email,
    )
    return preference
