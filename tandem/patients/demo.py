"""About 40 demo patients of Demo Clinic with care teams, past members and consents, a few of
Northside Psychiatry, and the portal account patient@demo.tandem."""

from __future__ import annotations

from datetime import date, timedelta

from tandem.accounts.models import Role, User
from tandem.core.seeding import DemoContext
from tandem.patients.models import CareTeamMember, Category, Consent, Patient

# given, family, preferred, sex-neutral birth year offset, time zone, language
DEMO_PATIENTS = [
    ("Maya", "Lopez", "", 1991, "America/New_York", "en"),
    ("James", "Carter", "Jim", 1978, "America/New_York", "en"),
    ("Aisha", "Rahman", "", 1999, "America/Chicago", "en"),
    ("Daniel", "Kowalski", "Dan", 1985, "America/New_York", "en"),
    ("Sofia", "Hernández", "", 2003, "America/Los_Angeles", "es"),
    ("Ethan", "Brooks", "", 2004, "America/New_York", "en"),
    ("Grace", "Nguyen", "", 1969, "America/New_York", "vi"),
    ("Marcus", "Johnson", "", 1982, "America/Detroit", "en"),
    ("Olivia", "Schmidt", "Liv", 1995, "America/New_York", "en"),
    ("Samuel", "Osei", "Sam", 1973, "America/New_York", "en"),
    ("Chloe", "Martin", "", 1988, "America/Denver", "en"),
    ("Rafael", "Silva", "", 1964, "America/New_York", "pt"),
    ("Hannah", "Goldberg", "", 1993, "America/New_York", "en"),
    ("Tyrone", "Williams", "Ty", 1980, "America/Chicago", "en"),
    ("Mei", "Chen", "", 1976, "America/Los_Angeles", "zh"),
    ("Noah", "Peterson", "", 2001, "America/New_York", "en"),
    ("Fatima", "Al-Sayed", "", 1986, "America/New_York", "ar"),
    ("Luis", "García", "", 1958, "America/Phoenix", "es"),
    ("Emily", "O'Brien", "Em", 1997, "America/New_York", "en"),
    ("Kwame", "Mensah", "", 1990, "America/New_York", "en"),
    ("Isabella", "Rossi", "Bella", 1983, "Europe/Rome", "it"),
    ("Benjamin", "Foster", "Ben", 1971, "America/New_York", "en"),
    ("Priya", "Patel", "", 1998, "America/Chicago", "en"),
    ("Caleb", "Turner", "", 2005, "America/New_York", "en"),
    ("Zoe", "Anderson", "", 1992, "America/New_York", "en"),
    ("Omar", "Haddad", "", 1979, "America/New_York", "ar"),
    ("Lily", "Thompson", "", 1966, "America/New_York", "en"),
    ("Jamal", "Harris", "", 1987, "America/Chicago", "en"),
    ("Ana", "Morales", "", 1994, "America/Los_Angeles", "es"),
    ("Henry", "Walsh", "", 1955, "America/New_York", "en"),
    ("Nadia", "Ivanova", "", 1989, "America/New_York", "ru"),
    ("Tomás", "Reyes", "", 2000, "America/Puerto_Rico", "es"),
    ("Ruth", "Campbell", "", 1961, "America/New_York", "en"),
    ("Kevin", "Nakamura", "", 1984, "Pacific/Honolulu", "en"),
    ("Layla", "Brown", "", 1996, "America/New_York", "en"),
    ("Victor", "Dubois", "", 1975, "America/New_York", "fr"),
    ("Sarah", "Mitchell", "", 1990, "America/Anchorage", "en"),
    ("Andre", "Baptiste", "", 1981, "America/New_York", "ht"),
    ("Julia", "Novak", "", 2002, "America/New_York", "en"),
    ("Derek", "Simmons", "", 1968, "America/New_York", "en"),
]

NORTHSIDE_PATIENTS = [
    ("Paul", "Jensen", "", 1972, "America/Chicago", "en"),
    ("Rosa", "Delgado", "", 1987, "America/Chicago", "es"),
    ("Irene", "Kim", "", 1993, "America/Chicago", "ko"),
]

CONTACTS = [
    ("Partner", "Jordan"),
    ("Mother", "Linda"),
    ("Brother", "Chris"),
    ("Friend", "Taylor"),
    ("Father", "Robert"),
]


def _patient(ctx: DemoContext, org_slug: str, mrn: str, row: tuple, index: int) -> Patient:
    given, family, preferred, year, tz, lang = row
    rng = ctx.rng
    relationship, contact = CONTACTS[index % len(CONTACTS)]
    dob = date(year, 1 + (index * 5) % 12, 1 + (index * 7) % 28)
    patient, created = Patient.objects.get_or_create(
        organisation=ctx.orgs[org_slug],
        mrn=mrn,
        defaults={
            "given_name": given,
            "family_name": family,
            "preferred_name": preferred,
            "date_of_birth": dob,
            "time_zone": tz,
            "preferred_language": lang,
            "email": f"{given.lower()}.{family.lower().replace(' ', '').replace(chr(39), '')}@example.org",
            "phone": f"+1-555-01{rng.randint(10, 99)}",
            "address": f"{rng.randint(10, 999)} {rng.choice(['Maple', 'Oak', 'Cedar', 'Elm', 'Pine'])} St",
            "emergency_contact_name": f"{contact} {family}",
            "emergency_contact_phone": f"+1-555-02{rng.randint(10, 99)}",
            "emergency_contact_relationship": relationship,
        },
    )
    if created:
        ctx.count("patients")
    return patient


def _member(
    ctx: DemoContext, patient: Patient, email: str, role: str, start: date, end: date | None = None
) -> None:
    user: User = ctx.users[email]
    org = ctx.orgs["northside" if "northside" in email else "demo-clinic"]
    _, created = CareTeamMember.objects.get_or_create(
        patient=patient,
        user=user,
        role=role,
        start=start,
        defaults={"organisation": org, "end": end},
    )
    if created:
        ctx.count("care-team memberships")


def build(ctx: DemoContext) -> None:
    today = ctx.today
    portal = User.objects.filter(email="patient@demo.tandem").first()
    if portal is None:
        portal = User.objects.create_user("patient@demo.tandem", ctx.password, full_name="Maya Lopez")
        ctx.count("users")
    ctx.users["patient@demo.tandem"] = portal

    for i, row in enumerate(DEMO_PATIENTS):
        patient = _patient(ctx, "demo-clinic", f"DC-{1001 + i}", row, i)
        ctx.patients.append(patient)
        # Maya, the portal account, has ten weeks of history to look at: sessions, notes, scores.
        weeks_in_care = 10 if i == 0 else 2 + (i * 3) % 30
        start = today - timedelta(weeks=weeks_in_care)
        therapist = "therapist@demo.tandem" if i % 4 != 3 else "therapist2@demo.tandem"
        prescriber = "prescriber@demo.tandem" if i % 5 != 4 else "np@demo.tandem"
        _member(ctx, patient, therapist, Role.THERAPIST, start)
        _member(ctx, patient, prescriber, Role.PRESCRIBER, start)
        if i % 3 != 2:  # two in three are in the collaborative-care programme
            _member(ctx, patient, "care@demo.tandem", Role.CARE_MANAGER, start)
            _member(ctx, patient, "consultant@demo.tandem", Role.PSYCHIATRIC_CONSULTANT, start)
        if i % 9 == 5:  # a handover: the first therapist left the team some weeks ago
            earlier = start - timedelta(weeks=12)
            _member(
                ctx, patient, "therapist2@demo.tandem", Role.THERAPIST, earlier, start - timedelta(days=1)
            )

    # The portal account belongs to the first patient.
    first = ctx.patients[0]
    if first.portal_user_id is None:
        first.portal_user = portal
        first.save(update_fields=["portal_user"])

    # Northside's prescriber sees some Demo Clinic patients through consent, and not others.
    northside = ctx.users["prescriber@northside.demo.tandem"]
    shared = [
        (
            ctx.patients[1],
            [Category.MEDICATIONS, Category.MEASURES, Category.PLAN],
            None,
            "Co-managing medication",
        ),
        (ctx.patients[2], [Category.MEDICATIONS, Category.MEASURES], None, "Second opinion on medication"),
        (
            ctx.patients[6],
            [Category.PLAN, Category.MEDICATIONS, Category.MEASURES, Category.THERAPY_SUMMARIES],
            None,
            "Transfer of care",
        ),
        (ctx.patients[10], [Category.MEDICATIONS], today - timedelta(days=30), "Ended consultation"),  # ended
    ]
    for patient, categories, end, purpose in shared:
        start = today - timedelta(weeks=8)
        _, created = Consent.objects.get_or_create(
            patient=patient,
            grantee_user=northside,
            start=start,
            defaults={
                "categories": sorted(categories),
                "end": end,
                "purpose": purpose,
                "recorded_by": ctx.users["admin@demo.tandem"],
            },
        )
        if created:
            ctx.count("consents")
    # One consent to the whole Northside organisation, later revoked by the patient.
    from django.utils import timezone

    _, created = Consent.objects.get_or_create(
        patient=ctx.patients[3],
        grantee_organisation=ctx.orgs["northside"],
        start=today - timedelta(weeks=20),
        defaults={
            "categories": [Category.MEDICATIONS],
            "purpose": "Bridging prescriptions",
            "recorded_by": ctx.users["admin@demo.tandem"],
            "revoked_at": timezone.now() - timedelta(weeks=4),
            "revocation_reason": "Patient withdrew consent",
        },
    )
    if created:
        ctx.count("consents")

    # A care team across two organisations: Northside's prescriber manages Hannah's medication.
    _member(
        ctx,
        ctx.patients[12],
        "prescriber@northside.demo.tandem",
        Role.PRESCRIBER,
        today - timedelta(weeks=10),
    )

    for i, row in enumerate(NORTHSIDE_PATIENTS):
        patient = _patient(ctx, "northside", f"NS-{501 + i}", row, i + 40)
        _member(
            ctx, patient, "prescriber@northside.demo.tandem", Role.PRESCRIBER, today - timedelta(weeks=6 + i)
        )
