"""Demo organisations and people: one user per role at Demo Clinic, and Northside Psychiatry."""

from __future__ import annotations

from tandem.accounts.models import Membership, Organisation, Role, User
from tandem.core.seeding import DemoContext

ORGS = [
    ("demo-clinic", "Demo Clinic", "America/New_York"),
    ("northside", "Northside Psychiatry", "America/Chicago"),
]

PEOPLE = [
    # email, full name, credentials, organisation, roles
    ("therapist@demo.tandem", "Dana Whitfield", "LCSW", "demo-clinic", [Role.THERAPIST]),
    ("prescriber@demo.tandem", "Dr. Priya Raman", "MD", "demo-clinic", [Role.PRESCRIBER]),
    ("care@demo.tandem", "Carlos Mendes", "RN", "demo-clinic", [Role.CARE_MANAGER]),
    ("consultant@demo.tandem", "Dr. Helen Okafor", "MD", "demo-clinic", [Role.PSYCHIATRIC_CONSULTANT]),
    ("admin@demo.tandem", "Alex Morgan", "", "demo-clinic", [Role.ORG_ADMIN]),
    ("therapist2@demo.tandem", "Sam Adeyemi", "PhD", "demo-clinic", [Role.THERAPIST]),
    ("np@demo.tandem", "Jordan Lee", "PMHNP", "demo-clinic", [Role.PRESCRIBER]),
    ("prescriber@northside.demo.tandem", "Dr. Miguel Torres", "MD", "northside", [Role.PRESCRIBER]),
    ("admin@northside.demo.tandem", "Robin Park", "", "northside", [Role.ORG_ADMIN]),
]


def build(ctx: DemoContext) -> None:
    for slug, name, tz in ORGS:
        org, created = Organisation.objects.get_or_create(slug=slug, defaults={"name": name, "time_zone": tz})
        ctx.orgs[slug] = org
        if created:
            ctx.count("organisations")
    for email, full_name, credentials, org_slug, roles in PEOPLE:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email, ctx.password, full_name=full_name, credentials=credentials)
            ctx.count("users")
        for role in roles:
            Membership.objects.get_or_create(user=user, organisation=ctx.orgs[org_slug], role=role)
        ctx.users[email] = user
