"""Demo session notes: signed progress notes for the attended therapy sessions of Demo Clinic
(the latest six per patient), written in the language of each session's modality, with a couple
of addenda, two drafts still being written, and a few private psychotherapy notes by the demo
therapist. Nothing is made until the sessions exist; nothing is made twice."""

from __future__ import annotations

import random
from datetime import timedelta

from tandem.core.seeding import DemoContext
from tandem.notes.models import NoteStatus, ProgressNote, ProgressNoteAddendum, PsychotherapyNote
from tandem.therapy.models import Session, SessionKind, SessionStatus

PER_PATIENT = 6

# Per modality: the interventions ticked, then homework and summary for the early, middle and late
# sessions of a course.
CONTENT: dict[str, dict[str, list]] = {
    "cbt": {
        "interventions": [
            ["cbt_agenda", "cbt_psychoeducation", "measure_review"],
            ["cbt_homework_review", "cbt_automatic_thoughts", "cbt_thought_record"],
            ["cbt_homework_review", "cbt_restructuring", "cbt_behavioural_experiment"],
            ["cbt_homework_review", "cbt_core_beliefs", "cbt_relapse_prevention"],
        ],
        "homework": [
            "Notice and jot down three moments a day when mood drops, with what was going through their mind.",
            "Two thought records this week, one about work.",
            "Behavioural experiment: ask a colleague for help once and rate the predicted vs actual outcome.",
            "Draft a personal relapse-prevention plan: warning signs and what helped.",
        ],
        "summary": [
            "Engaged well; understood the link between thoughts, feelings and behaviour.\n"
            "PHQ-9 reviewed together; agreed goals for the next sessions.",
            "Brought two completed thought records; identified 'I always let people down' as a recurring "
            "automatic thought.\nBelief rating dropped from 80% to 55% after examining the evidence.",
            "Ran the planned experiment; the feared rejection did not happen.\n"
            "Reports more energy in the mornings and fewer days off work.",
            "Mood steadier for three weeks; uses thought records without prompting.\n"
            "Discussed spacing sessions to fortnightly.",
        ],
    },
    "ba": {
        "interventions": [
            ["ba_activity_monitoring", "psychoeducation", "measure_review"],
            ["ba_mastery_pleasure", "ba_values"],
            ["ba_scheduling", "ba_graded_tasks"],
            ["ba_functional_analysis", "ba_rumination", "ba_scheduling"],
        ],
        "homework": [
            "Hour-by-hour activity log for four days, rating mood 0–10.",
            "Rate mastery and pleasure for each logged activity.",
            "Schedule a 15-minute walk on three days and one call to a friend.",
            "When ruminating for more than ten minutes, switch to the planned activity and note the effect.",
        ],
        "summary": [
            "Reviewed the depression cycle of withdrawal and low mood; patient recognised it in their week.\n"
            "Most days spent at home; little contact with friends.",
            "Activity log completed for three days; mood highest on the day they visited their sister.\n"
            "Identified family and being outdoors as important values.",
            "Completed two of three planned walks; mood after walks 6/10 vs 3/10 at home.\n"
            "Graded plan for returning to the choir agreed.",
            "Back at choir rehearsals; notices rumination on Sunday evenings.\n"
            "Sleep improving; PHQ-9 down from 17 to 9 since the start.",
        ],
    },
    "ipt": {
        "interventions": [
            ["ipt_inventory", "ipt_sick_role", "measure_review"],
            ["ipt_mood_link", "ipt_role_transition"],
            ["ipt_communication_analysis", "ipt_role_play", "ipt_role_dispute"],
            ["ipt_decision_analysis", "ipt_mood_link"],
        ],
        "homework": [
            "Notice which conversations this week change their mood, for better or worse.",
            "List what was lost and what may be gained in the move to the new job.",
            "Try the rehearsed opening with their partner about sharing childcare.",
            "Weigh the options about returning to part-time study.",
        ],
        "summary": [
            "Interpersonal inventory completed: supportive sister, strained relationship with partner, "
            "few friends since moving.\nAgreed focus: role transition after the move.",
            "Linked two low days to evenings alone after work.\n"
            "Grieving the loss of the old team; starting to see some gains in the new role.",
            "Communication analysis of last week's argument: the request was never said out loud.\n"
            "Role-played a direct request; patient felt awkward but capable.",
            "Had the conversation with their partner; agreed a new evening routine.\n"
            "Mood better on most days; preparing for the final phase of treatment.",
        ],
    },
    "dbt": {
        "interventions": [
            ["dbt_diary_card", "dbt_commitment", "safety_planning"],
            ["dbt_diary_card", "dbt_chain_analysis", "dbt_distress_tolerance"],
            ["dbt_diary_card", "dbt_emotion_regulation", "dbt_validation"],
            ["dbt_diary_card", "dbt_interpersonal", "dbt_solution_analysis"],
        ],
        "homework": [
            "Fill in the diary card every evening, including skills used.",
            "Practise TIP skills when urges reach 4/5 and record the result.",
            "Check the facts on one intense emotion this week.",
            "Use DEAR MAN for the conversation with their manager.",
        ],
        "summary": [
            "Orientation to the diary card and treatment targets; commitment to a trial of DBT.\n"
            "Safety plan written together.",
            "Chain analysis of Saturday's urge to self-harm: trigger was a cancelled plan, vulnerability "
            "was poor sleep.\nUrge passed after using cold water and paced breathing.",
            "Diary card complete six of seven days; fewer and shorter urges.\n"
            "Practised naming emotions without judging them.",
            "Used DEAR MAN at work and got the schedule change.\n"
            "No self-harm for five weeks; skills use now most days.",
        ],
    },
    "supportive": {
        "interventions": [
            ["sup_reassurance", "psychoeducation", "measure_review"],
            ["sup_advice", "sup_anticipatory"],
            ["sup_reframing", "sup_esteem"],
            ["sup_esteem", "medication_adherence"],
        ],
        "homework": [
            "",
            "Keep the daily routine agreed: up by 8, lunch outside.",
            "Write down one thing handled well each day.",
            "",
        ],
        "summary": [
            "Talked through the recent stresses at home; patient felt heard and less alone.\n"
            "Explained how the medication and sessions work together.",
            "Planned for the anniversary of their father's death next week.\n"
            "Coping reasonably; sleep still broken.",
            "Reframed last week's setback as a sign of how much they care about their work.\n"
            "More hopeful; attending every session.",
            "Taking medication daily since the pill organiser; side effects settled.\n"
            "Reports being 'more like myself'.",
        ],
    },
}
CONTENT["other"] = CONTENT["supportive"]

RISKS = [
    # (suicidal ideation, self-harm, risk level, safety plan reviewed, assessment) — mostly nothing
    # reported; now and then passive thoughts with a moderate formulation.
    ("none_reported", "none_reported", "low", False, ""),
    ("none_reported", "none_reported", "low", True, ""),
    (
        "passive",
        "none_reported",
        "moderate",
        True,
        "Passive thoughts of not waking up on two nights this week, no intent or plan; protective "
        "factors: children, faith. Safety plan reviewed and crisis line saved in phone. Prescriber "
        "informed; review at next session.",
    ),
]
ADDENDA = [
    "Patient phoned the next day to say the homework felt too much; agreed to halve it.",
    "Correction: the PHQ-9 discussed in session was from the previous week (score 14, not 12).",
]
PRIVATE = [
    "Strong countertransference today: felt protective and pulled to reassure. Watch for rescuing.\n"
    "Hypothesis: the 'letting people down' theme goes back to the father's illness — not raised yet.",
    "Long silence after mentioning the brother. Something unsaid about the year after school.\n"
    "Consider whether to explore or wait until the alliance is firmer.",
    "Process: patient tested the frame (late, then asked for extra time).\n"
    "My irritation noted; bring to supervision.",
]


def build(ctx: DemoContext) -> None:
    org = ctx.orgs.get("demo-clinic")
    if org is None or ProgressNote.objects.filter(patient__organisation=org).exists():
        return
    sessions = list(
        Session.objects.filter(
            patient__organisation=org, kind=SessionKind.THERAPY, status=SessionStatus.ATTENDED
        )
        .select_related("clinician")
        .order_by("patient__mrn", "starts_at")
    )
    if not sessions:
        if ctx.out is not None:
            ctx.out.write("notes: no attended therapy sessions yet, so no progress notes were made")
        return
    rng = random.Random(7171)
    by_patient: dict[int, list[Session]] = {}
    for session in sessions:
        by_patient.setdefault(session.patient_id, []).append(session)
    notes: list[ProgressNote] = []
    drafts_left = 2
    for i, (patient_id, attended) in enumerate(by_patient.items()):
        chosen = attended[-PER_PATIENT:]
        for n, session in enumerate(chosen):
            course = len(attended) - len(chosen) + n  # the session's place in the whole course
            is_draft = n == len(chosen) - 1 and i in (2, 4) and drafts_left > 0
            drafts_left -= is_draft
            notes.append(_note(session, patient_id, course, len(attended), rng, draft=is_draft))
    ProgressNote.objects.bulk_create(notes, batch_size=500)
    ctx.count("progress notes", len(notes))
    signed = [n for n in notes if n.status == NoteStatus.SIGNED]
    addenda = [
        ProgressNoteAddendum(
            note=note, author=note.author, text=text, created_at=note.signed_at + timedelta(days=1)
        )
        for note, text in zip(signed[1::17][: len(ADDENDA)], ADDENDA, strict=False)
        if note.signed_at is not None
    ]
    ProgressNoteAddendum.objects.bulk_create(addenda)
    ctx.count("progress note addenda", len(addenda))
    _private_notes(ctx, sessions)


def _note(
    session: Session, patient_id: int, course: int, total: int, rng: random.Random, *, draft: bool
) -> ProgressNote:
    modality = session.modality or "supportive"
    content = CONTENT.get(modality, CONTENT["supportive"])
    phase = min(3, course * 4 // max(total, 1))
    ideation, self_harm, level, reviewed, assessment = RISKS[0 if rng.random() < 0.55 else 1]
    if rng.random() < 0.08:
        ideation, self_harm, level, reviewed, assessment = RISKS[2]
    ended = session.starts_at + timedelta(minutes=session.duration_minutes)
    note = ProgressNote(
        session=session,
        patient_id=patient_id,
        author=session.clinician,
        modality=modality,
        interventions=list(content["interventions"][phase]),
        homework=content["homework"][phase],
        suicidal_ideation=ideation,
        self_harm=self_harm,
        risk_level=level,
        safety_plan_reviewed=reviewed,
        risk_notes=assessment,
        summary=content["summary"][phase],
        created_at=ended,
        updated_at=ended + timedelta(hours=2),
    )
    if draft:
        note.summary = content["summary"][phase].splitlines()[0]
        note.risk_level = ""
    else:
        note.status = NoteStatus.SIGNED
        note.signed_by = session.clinician
        note.signed_at = ended + timedelta(hours=2, minutes=rng.randrange(0, 240))
    return note


def _private_notes(ctx: DemoContext, sessions: list[Session]) -> None:
    therapist = ctx.users.get("therapist@demo.tandem")
    if therapist is None or PsychotherapyNote.objects.filter(author=therapist).exists():
        return
    mine: dict[int, Session] = {}
    for session in sessions:
        if session.clinician_id == therapist.pk:
            mine[session.patient_id] = session  # their latest attended session
    rows = [
        PsychotherapyNote(
            patient_id=patient_id,
            author=therapist,
            session=session,
            text=text,
            created_at=session.starts_at + timedelta(minutes=55),
            updated_at=session.starts_at + timedelta(minutes=55),
        )
        for (patient_id, session), text in zip(list(mine.items())[:3], PRIVATE, strict=False)
    ]
    PsychotherapyNote.objects.bulk_create(rows)
    ctx.count("private psychotherapy notes", len(rows))
