"""What a progress note records in words a clinician picks from: the interventions of each
modality and the structured risk assessment.

The interventions are the named techniques of each treatment manual (cited per group). They are
a checklist to save typing, not a fidelity measure: a clinician may tick techniques of several
modalities (a DBT skill in a CBT session) and describe anything else in free text. The names
are the manuals' common terms, not verified word for word against them.

The risk choices follow the C-SSRS ideation constructs (wish to be dead; non-specific active
thoughts; thoughts with a plan or intent; LOINC 93246-7 … 93250-9) and its low / moderate / high
risk level (LOINC 93374-7). "None reported" records what the patient said in the session; it
never means the patient is out of danger (71.6 % of suicides in VA data followed a PHQ-9 item 9
of "not at all", Louzon 2016), so nothing here words it as an all-clear.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models


@dataclass(frozen=True)
class InterventionGroup:
    key: str
    label: str
    source: str
    items: tuple[tuple[str, str], ...]  # (key, label); keys are unique across groups


INTERVENTION_GROUPS: tuple[InterventionGroup, ...] = (
    InterventionGroup(
        "cbt",
        "Cognitive behavioural therapy (CBT)",
        "Beck JS. Cognitive Behavior Therapy: Basics and Beyond, 3rd ed. Guilford, 2020.",
        (
            ("cbt_agenda", "Agenda setting and mood check"),
            ("cbt_homework_review", "Review of last session's homework"),
            ("cbt_psychoeducation", "Psychoeducation on the cognitive model"),
            ("cbt_automatic_thoughts", "Identifying automatic thoughts"),
            ("cbt_restructuring", "Cognitive restructuring (evaluating thoughts)"),
            ("cbt_thought_record", "Thought record"),
            ("cbt_core_beliefs", "Work on intermediate and core beliefs"),
            ("cbt_behavioural_experiment", "Behavioural experiment"),
            ("cbt_exposure", "Graded exposure"),
            ("cbt_problem_solving", "Problem solving"),
            ("cbt_relaxation", "Relaxation or breathing training"),
            ("cbt_relapse_prevention", "Relapse prevention"),
        ),
    ),
    InterventionGroup(
        "dbt",
        "Dialectical behaviour therapy (DBT)",
        "Linehan MM. DBT Skills Training Manual, 2nd ed. Guilford, 2015.",
        (
            ("dbt_diary_card", "Diary card review"),
            ("dbt_chain_analysis", "Behavioural chain analysis"),
            ("dbt_solution_analysis", "Solution analysis"),
            ("dbt_mindfulness", "Mindfulness skills"),
            ("dbt_distress_tolerance", "Distress tolerance skills"),
            ("dbt_emotion_regulation", "Emotion regulation skills"),
            ("dbt_interpersonal", "Interpersonal effectiveness skills"),
            ("dbt_validation", "Validation"),
            ("dbt_commitment", "Commitment strategies"),
        ),
    ),
    InterventionGroup(
        "ipt",
        "Interpersonal psychotherapy (IPT)",
        "Weissman MM, Markowitz JC, Klerman GL. The Guide to Interpersonal Psychotherapy. "
        "Oxford University Press, 2018.",
        (
            ("ipt_inventory", "Interpersonal inventory"),
            ("ipt_sick_role", "Giving the sick role"),
            ("ipt_mood_link", "Linking mood to interpersonal events"),
            ("ipt_grief", "Problem area: grief"),
            ("ipt_role_dispute", "Problem area: role dispute"),
            ("ipt_role_transition", "Problem area: role transition"),
            ("ipt_deficits", "Problem area: interpersonal deficits"),
            ("ipt_communication_analysis", "Communication analysis"),
            ("ipt_role_play", "Role play"),
            ("ipt_decision_analysis", "Decision analysis"),
        ),
    ),
    InterventionGroup(
        "ba",
        "Behavioural activation",
        "Martell CR, Dimidjian S, Herman-Dunn R. Behavioral Activation for Depression: "
        "A Clinician's Guide. Guilford, 2010.",
        (
            ("ba_activity_monitoring", "Activity monitoring review"),
            ("ba_mastery_pleasure", "Mastery and pleasure ratings"),
            ("ba_values", "Values and goals assessment"),
            ("ba_scheduling", "Activity scheduling"),
            ("ba_graded_tasks", "Graded task assignment"),
            ("ba_functional_analysis", "Functional analysis of avoidance"),
            ("ba_rumination", "Targeting rumination"),
        ),
    ),
    InterventionGroup(
        "supportive",
        "Supportive therapy",
        "Winston A, Rosenthal RN, Pinsker H. Learning Supportive Psychotherapy. "
        "American Psychiatric Publishing, 2012.",
        (
            ("sup_reassurance", "Reassurance and encouragement"),
            ("sup_advice", "Advice and guidance"),
            ("sup_reframing", "Reframing"),
            ("sup_anticipatory", "Anticipatory guidance"),
            ("sup_esteem", "Esteem building"),
        ),
    ),
    InterventionGroup(
        "common",
        "Any modality",
        "Stanley B, Brown GK. Safety Planning Intervention. Cogn Behav Pract 2012;19:256–264 "
        "(safety planning); Miller WR, Rollnick S. Motivational Interviewing, 3rd ed. 2013.",
        (
            ("safety_planning", "Safety planning (Stanley–Brown)"),
            ("lethal_means", "Lethal means counselling"),
            ("motivational_interviewing", "Motivational interviewing"),
            ("medication_adherence", "Medication adherence discussion"),
            ("measure_review", "Review of measures (e.g. PHQ-9, GAD-7)"),
            ("psychoeducation", "Psychoeducation"),
        ),
    ),
)

INTERVENTIONS: dict[str, str] = {key: label for g in INTERVENTION_GROUPS for key, label in g.items}

# The group shown first for each session modality (tandem.therapy.models.Modality values).
GROUP_FOR_MODALITY = {"cbt": "cbt", "dbt": "dbt", "ipt": "ipt", "ba": "ba", "supportive": "supportive"}


def intervention_labels(keys: list[str]) -> list[str]:
    return [INTERVENTIONS[k] for k in keys if k in INTERVENTIONS]


def groups_for(modality: str) -> list[InterventionGroup]:
    """Every group, the modality's own first and "any modality" second."""
    first = GROUP_FOR_MODALITY.get(modality)
    return sorted(
        INTERVENTION_GROUPS, key=lambda g: (g.key != first, g.key != "common", INTERVENTION_GROUPS.index(g))
    )


class SuicidalIdeation(models.TextChoices):
    NONE_REPORTED = "none_reported", "None reported"
    PASSIVE = "passive", "Passive: wish to be dead, no thoughts of acting"
    ACTIVE_NO_PLAN = "active_no_plan", "Active thoughts, without a plan or intent"
    ACTIVE_PLAN_OR_INTENT = "active_plan_intent", "Active thoughts, with a plan or intent"


class SelfHarm(models.TextChoices):
    NONE_REPORTED = "none_reported", "None reported"
    URGES = "urges", "Urges or thoughts, no self-harm since the last session"
    BEHAVIOUR = "behaviour", "Self-harm since the last session"


class RiskLevel(models.TextChoices):
    LOW = "low", "Low"
    MODERATE = "moderate", "Moderate"
    HIGH = "high", "High"


NONE_REPORTED_HELP = "“None reported” records only what was said in the session; it does not rule out risk."
RISK_LEVEL_HELP = (
    "Your clinical formulation of suicide risk today. High alerts the whole care team at signing."
)
