"""Synthetic patients and care teams for `tandem synth`.

Every patient gets a care manager, a therapist, a prescriber and a psychiatric consultant of
their organisation, all active since one enrolment date before `ctx.anchor`. Caseloads are
balanced: each clinician of a role gets the same number of patients, give or take one, in a
shuffled order. The run's first patients belong to the benchmark care manager.
"""

from __future__ import annotations

import itertools
import random
from datetime import timedelta

from django.utils import timezone

from tandem.accounts.models import Role
from tandem.accounts.synth import BENCH_KEY, CASELOAD, bench_caseload, org_sizes, team_key
from tandem.core.seeding import SynthContext
from tandem.patients.models import CareTeamMember, Patient

GIVEN_NAMES = (
    "Aaliyah",
    "Adrian",
    "Aiden",
    "Alejandro",
    "Amara",
    "Andrea",
    "Anthony",
    "Ava",
    "Benjamin",
    "Brianna",
    "Camila",
    "Carlos",
    "Charlotte",
    "Chloe",
    "Christopher",
    "Daniel",
    "David",
    "Deja",
    "Diego",
    "Dylan",
    "Elena",
    "Elijah",
    "Emily",
    "Emma",
    "Ethan",
    "Fatima",
    "Gabriela",
    "Grace",
    "Hannah",
    "Hiro",
    "Isabella",
    "Isaiah",
    "Jada",
    "James",
    "Jasmine",
    "Javier",
    "Jessica",
    "John",
    "Jose",
    "Joseph",
    "Kayla",
    "Kevin",
    "Keisha",
    "Layla",
    "Leah",
    "Liam",
    "Linh",
    "Lucas",
    "Luis",
    "Madison",
    "Malik",
    "Maria",
    "Mark",
    "Maya",
    "Mei",
    "Michael",
    "Mohammed",
    "Naomi",
    "Nathan",
    "Nicole",
    "Noah",
    "Olivia",
    "Omar",
    "Patricia",
    "Priya",
    "Rachel",
    "Rafael",
    "Robert",
    "Rosa",
    "Ryan",
    "Samantha",
    "Samuel",
    "Sara",
    "Sofia",
    "Stephanie",
    "Tariq",
    "Thomas",
    "Tyrone",
    "Valeria",
    "Victoria",
    "William",
    "Xavier",
    "Yasmin",
    "Zoe",
)
FAMILY_NAMES = (
    "Adams",
    "Ahmed",
    "Allen",
    "Alvarez",
    "Anderson",
    "Baker",
    "Brown",
    "Campbell",
    "Carter",
    "Castillo",
    "Chen",
    "Clark",
    "Collins",
    "Cruz",
    "Davis",
    "Diaz",
    "Edwards",
    "Evans",
    "Flores",
    "Garcia",
    "Gomez",
    "Gonzalez",
    "Green",
    "Gupta",
    "Hall",
    "Harris",
    "Hernandez",
    "Hill",
    "Huang",
    "Jackson",
    "Johnson",
    "Jones",
    "Kaur",
    "Kelly",
    "Khan",
    "Kim",
    "King",
    "Lee",
    "Lewis",
    "Lopez",
    "Martin",
    "Martinez",
    "Mitchell",
    "Moore",
    "Morales",
    "Murphy",
    "Nelson",
    "Nguyen",
    "Okafor",
    "Ortiz",
    "Patel",
    "Perez",
    "Phillips",
    "Ramirez",
    "Reyes",
    "Rivera",
    "Roberts",
    "Robinson",
    "Rodriguez",
    "Sanchez",
    "Scott",
    "Shah",
    "Singh",
    "Smith",
    "Stewart",
    "Taylor",
    "Thomas",
    "Thompson",
    "Torres",
    "Tran",
    "Turner",
    "Walker",
    "Washington",
    "White",
    "Williams",
    "Wilson",
    "Wright",
    "Yang",
    "Young",
    "Zhang",
)
# US zones, weighted roughly by population.
TIME_ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "America/Denver",
    "America/Phoenix",
    "America/Detroit",
    "America/Indiana/Indianapolis",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Puerto_Rico",
)
TIME_ZONE_WEIGHTS = tuple(itertools.accumulate((44, 26, 16, 5, 2, 3, 1, 1, 1, 1)))
LANGUAGES = ("en", "es", "zh", "vi", "ar")
LANGUAGE_WEIGHTS = tuple(itertools.accumulate((84, 11, 2, 2, 1)))
ENROLLED_WITHIN_DAYS = 720


def _balanced(rng: random.Random, users: list[int], n: int) -> list[int]:
    """n slots shared out evenly among users, in a shuffled order."""
    slots = [users[i % len(users)] for i in range(n)]
    rng.shuffle(slots)
    return slots


def generate(ctx: SynthContext) -> None:
    rng = ctx.rng
    now = timezone.now()
    first_id: int | None = None
    last_id = -1
    number = 0  # patients made so far in this run
    bench = ctx.user_ids[BENCH_KEY][0]
    for org_index, (org_id, size) in enumerate(zip(ctx.org_ids, org_sizes(ctx.patients), strict=True)):
        ctx.progress.set_description(f"organisation {org_index + 1}")
        teams: dict[str, list[int]] = {}
        for role in CASELOAD:
            served = size
            head: list[int] = []
            if role == Role.CARE_MANAGER and org_index == 0:
                head = [bench] * bench_caseload(ctx.patients)
                served -= len(head)
            teams[role] = head + _balanced(rng, ctx.user_ids.get(team_key(org_id, role), []), served)
        for start in range(0, size, ctx.batch):
            stop = min(size, start + ctx.batch)
            patients = []
            enrolled = []
            for _ in range(start, stop):
                number += 1
                patients.append(
                    Patient(
                        organisation_id=org_id,
                        mrn=f"S{ctx.seed}-{number:07d}",
                        given_name=rng.choice(GIVEN_NAMES),
                        family_name=rng.choice(FAMILY_NAMES),
                        date_of_birth=ctx.anchor - timedelta(days=rng.randint(18 * 365 + 5, 85 * 365)),
                        time_zone=rng.choices(TIME_ZONES, cum_weights=TIME_ZONE_WEIGHTS)[0],
                        preferred_language=rng.choices(LANGUAGES, cum_weights=LANGUAGE_WEIGHTS)[0],
                        phone=f"+1-555-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
                        created_at=now,
                        updated_at=now,
                    )
                )
                enrolled.append(ctx.anchor - timedelta(days=rng.randint(1, ENROLLED_WITHIN_DAYS)))
            Patient.objects.bulk_create(patients)
            members = [
                CareTeamMember(
                    patient_id=patient.pk,
                    user_id=teams[role][start + offset],
                    organisation_id=org_id,
                    role=role,
                    start=enrolled[offset],
                    created_at=now,
                )
                for offset, patient in enumerate(patients)
                for role in CASELOAD
            ]
            CareTeamMember.objects.bulk_create(members)
            first_id = patients[0].pk if first_id is None else first_id
            last_id = patients[-1].pk
            ctx.created["patients"] = ctx.created.get("patients", 0) + len(patients)
            ctx.created["care-team members"] = ctx.created.get("care-team members", 0) + len(members)
            ctx.progress.update(len(patients))
    ctx.patient_id_range = (first_id or 0, last_id)
