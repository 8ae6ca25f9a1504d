"""The personas every access test uses, built in one place (like healthchecks' alice, bob and
charlie): the care team of one patient, their organisation's admin, the patient, another patient,
a colleague off the team, a clinician of another organisation, and a consented outside clinician.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.test import Client
from django.utils import timezone

from tandem.accounts.models import Membership, Organisation, Role, User
from tandem.patients.models import CareTeamMember, Category, Consent, Patient

PASSWORD = "correct horse battery staple"


@dataclass
class Personas:
    home: Organisation
    other_org: Organisation
    prescriber: User
    therapist: User
    care_manager: User
    consultant: User
    org_admin: User
    patient_user: User
    other_patient_user: User
    colleague: User  # clinician of the home organisation, not on the patient's team
    outsider: User  # clinician of another organisation, no consent
    consented: User  # clinician of another organisation, consented for medications and measures
    patient: Patient
    other_patient: Patient
    consent: Consent

    def all(self) -> dict[str, User]:
        return {
            "prescriber": self.prescriber,
            "therapist": self.therapist,
            "care_manager": self.care_manager,
            "consultant": self.consultant,
            "org_admin": self.org_admin,
            "patient": self.patient_user,
            "other_patient": self.other_patient_user,
            "colleague": self.colleague,
            "outsider": self.outsider,
            "consented": self.consented,
        }

    def client_for(self, name_or_user: str | User) -> Client:
        user = self.all()[name_or_user] if isinstance(name_or_user, str) else name_or_user
        client = Client()
        client.force_login(user)
        return client


def make_user(email: str, name: str, org: Organisation | None = None, role: str | None = None) -> User:
    user = User.objects.create_user(email, PASSWORD, full_name=name)
    if org is not None and role is not None:
        Membership.objects.create(user=user, organisation=org, role=role)
    return user


def make_patient(org: Organisation, mrn: str, given: str, family: str, **extra: object) -> Patient:
    fields = {"date_of_birth": date(1990, 5, 17), "time_zone": "America/Chicago", **extra}
    return Patient.objects.create(organisation=org, mrn=mrn, given_name=given, family_name=family, **fields)


def build_personas() -> Personas:
    home = Organisation.objects.create(name="Riverside Clinic", slug="riverside")
    other = Organisation.objects.create(name="Lakeside Health", slug="lakeside")
    prescriber = make_user("prescriber@riverside.test", "Rita Prescriber", home, Role.PRESCRIBER)
    therapist = make_user("therapist@riverside.test", "Theo Therapist", home, Role.THERAPIST)
    care_manager = make_user("care@riverside.test", "Cara Manager", home, Role.CARE_MANAGER)
    consultant = make_user("consultant@riverside.test", "Con Sultant", home, Role.PSYCHIATRIC_CONSULTANT)
    org_admin = make_user("admin@riverside.test", "Ada Admin", home, Role.ORG_ADMIN)
    colleague = make_user("colleague@riverside.test", "Col League", home, Role.THERAPIST)
    outsider = make_user("outsider@lakeside.test", "Otto Outsider", other, Role.PRESCRIBER)
    consented = make_user("consented@lakeside.test", "Connie Sented", other, Role.PRESCRIBER)
    patient_user = make_user("pat@example.test", "Pat Patient")
    other_patient_user = make_user("other@example.test", "Oli Other")
    patient = make_patient(home, "RC-1", "Pat", "Patient", portal_user=patient_user)
    other_patient = make_patient(home, "RC-2", "Oli", "Other", portal_user=other_patient_user)
    start = timezone.localdate() - timedelta(days=30)
    for user, role in [
        (prescriber, Role.PRESCRIBER),
        (therapist, Role.THERAPIST),
        (care_manager, Role.CARE_MANAGER),
        (consultant, Role.PSYCHIATRIC_CONSULTANT),
    ]:
        CareTeamMember.objects.create(patient=patient, user=user, role=role, organisation=home, start=start)
    CareTeamMember.objects.create(
        patient=other_patient, user=colleague, role=Role.THERAPIST, organisation=home, start=start
    )
    consent = Consent.objects.create(
        patient=patient,
        grantee_user=consented,
        categories=[Category.MEDICATIONS, Category.MEASURES],
        start=start,
    )
    return Personas(
        home=home,
        other_org=other,
        prescriber=prescriber,
        therapist=therapist,
        care_manager=care_manager,
        consultant=consultant,
        org_admin=org_admin,
        patient_user=patient_user,
        other_patient_user=other_patient_user,
        colleague=colleague,
        outsider=outsider,
        consented=consented,
        patient=patient,
        other_patient=other_patient,
        consent=consent,
    )
