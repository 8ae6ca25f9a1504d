"""The practice worksheets as data: their fields, the ranges of their ratings and the source of
each technique. Forms, checks, the clinician's review and the weekly summary are all built from
these definitions.

Form names: a field is posted under its name; a row of a repeating group as
`<group>-<row>-<column>`; a group's marker (the hot thought) as its own name with the row number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tandem.practice.models import TemplateKind

if TYPE_CHECKING:
    from tandem.practice.models import Assignment

TEXT = "text"
TEXTAREA = "textarea"
RATING = "rating"
YESNO = "yesno"
CHOICE = "choice"
DATE = "date"


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str
    low: int = 0
    high: int = 0
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()
    help: str = ""
    short: str = ""  # the label in the weekly summary

    @property
    def scale(self) -> str:
        return f"{self.low}–{self.high}" if self.kind == RATING else ""


@dataclass(frozen=True)
class Group:
    """Repeating rows; a row counts when its `key` column is filled in."""

    name: str
    label: str
    rows: int
    columns: tuple[Field, ...]
    key: str
    help: str = ""
    marker: str = ""  # a choice of one row (the hot thought), posted under this name
    marker_label: str = ""
    min_rows: int = 0
    row_label: str = "Row"  # one row, as people say it: "Emotion 1"


@dataclass(frozen=True)
class Rerate:
    """A rating of each row of an earlier group asked again later in the form (the thought
    record's emotions, re-rated after the balanced thought): posted as `<group>-<row>-<name>`."""

    name: str
    group: str
    label: str
    low: int
    high: int
    help: str = ""


Item = Field | Group | Rerate


@dataclass(frozen=True)
class Section:
    title: str
    items: tuple[Item, ...]
    help: str = ""


@dataclass(frozen=True)
class Template:
    kind: str
    title: str
    summary: str
    source: str
    sections: tuple[Section, ...]
    dated: bool = False  # the patient names the day the entry is for (one diary card a day)
    unverified: str = ""  # what of the template is not confirmed by its source
    summary_items: tuple[Field, ...] = field(default=())

    def items(self) -> list[Item]:
        return [item for section in self.sections for item in section.items]

    def group(self, name: str) -> Group:
        return next(i for i in self.items() if isinstance(i, Group) and i.name == name)


def rating(name: str, label: str, low: int, high: int, **extra: object) -> Field:
    return Field(name, label, RATING, low=low, high=high, **extra)  # type: ignore[arg-type]


THOUGHT_RECORD = Template(
    kind=TemplateKind.THOUGHT_RECORD,
    title="Thought record",
    summary="Catch an upsetting thought, weigh the evidence and find a more balanced one.",
    source=(
        "Beck's seven-column thought record: situation; emotions rated 0–100 %; automatic "
        "thoughts with the hot thought marked; evidence for; evidence against; balanced thought "
        "with belief 0–100 %; emotions re-rated 0–100 %. J. S. Beck, Cognitive Behavior Therapy: "
        "Basics and Beyond; worksheet: https://meridiannh.org/tools/worksheets/thought-record"
    ),
    sections=(
        Section(
            "1. Situation",
            (Field("situation", "What happened? Who, what, when, where", TEXTAREA, required=True),),
        ),
        Section(
            "2. Emotions",
            (
                Group(
                    "emotions",
                    "Emotions",
                    row_label="Emotion",
                    rows=4,
                    key="name",
                    min_rows=1,
                    help="Name each emotion and rate how strong it was, 0 (not at all) to 100 (the most ever).",
                    columns=(
                        Field("name", "Emotion", TEXT),
                        rating("rating", "How strong (0–100)", 0, 100, required=True),
                    ),
                ),
            ),
        ),
        Section(
            "3. Automatic thoughts",
            (
                Group(
                    "thoughts",
                    "Automatic thoughts",
                    row_label="Thought",
                    rows=4,
                    key="text",
                    min_rows=1,
                    help="What went through your mind? Mark the hot thought: the one that upset you most.",
                    marker="hot",
                    marker_label="Hot thought",
                    columns=(Field("text", "Thought", TEXTAREA),),
                ),
            ),
        ),
        Section(
            "4. Evidence for the hot thought", (Field("evidence_for", "Evidence that supports it", TEXTAREA),)
        ),
        Section(
            "5. Evidence against the hot thought",
            (Field("evidence_against", "Evidence that does not support it", TEXTAREA),),
        ),
        Section(
            "6. Balanced thought",
            (
                Field("balanced", "A more balanced or alternative thought", TEXTAREA, required=True),
                rating("belief", "How much do you believe it? (0–100)", 0, 100, required=True),
            ),
        ),
        Section(
            "7. Emotions now",
            (
                Rerate(
                    "after",
                    "emotions",
                    "Now (0–100)",
                    0,
                    100,
                    help="Rate each emotion again, now.",
                ),
            ),
        ),
    ),
)

DIARY_URGES = (("self_harm", "Self-harm"), ("suicide", "Suicide"), ("substance", "Substance use"))
DIARY_EMOTIONS = (
    ("emotional_misery", "Emotional misery"),
    ("physical_misery", "Physical misery"),
    ("joy", "Joy"),
    ("sadness", "Sadness"),
    ("anger", "Anger"),
    ("fear", "Fear"),
    ("shame", "Shame"),
)
MEDICATION_CHOICES = (
    ("as_prescribed", "Yes, as prescribed"),
    ("partly", "Some of it"),
    ("no", "No"),
    ("none_prescribed", "I have no medication"),
)
SKILLS_HELP = (
    "0 = didn't think about or use skills; 3 = tried but couldn't use them; "
    "5 = tried, could use them, they helped; 7 = didn't need to try, used them, they helped."
)
_urge_fields = tuple(
    f
    for key, label in DIARY_URGES
    for f in (
        rating(f"urge_{key}", f"{label} urge (0–5)", 0, 5, short=f"{label} urge"),
        Field(f"acted_{key}", f"Acted on the {label.lower()} urge?", YESNO, short=f"{label}: acted"),
    )
)
_emotion_fields = tuple(
    rating(f"emo_{key}", f"{label} (0–5)", 0, 5, short=label) for key, label in DIARY_EMOTIONS
)
_skills = rating("skills", "Skills used (0–7)", 0, 7, help=SKILLS_HELP, short="Skills used")
_medication = Field("medication", "Medication taken?", CHOICE, choices=MEDICATION_CHOICES, short="Medication")

DIARY_CARD = Template(
    kind=TemplateKind.DIARY_CARD,
    title="Diary card",
    summary="One card a day: urges, emotions, skills used and medication.",
    source=(
        "Linehan's DBT diary card: daily urges (self-harm, suicide, substance use) 0–5 with "
        "acted on yes/no, emotions 0–5, medication taken, skills used 0–7. M. M. Linehan, DBT "
        "Skills Training Handouts and Worksheets (2nd ed., 2015); "
        "https://blog.mindfully.com/how-to-effectively-fill-out-a-diary-card/"
    ),
    unverified="Skills anchors other than 0, 3, 5 and 7 are not confirmed from a source.",
    dated=True,
    sections=(
        Section("Day", (Field("day", "Which day is this card for?", DATE, required=True),)),
        Section(
            "Urges",
            _urge_fields,
            help="0 = no urge, 5 = the strongest urge. Tick whether you acted on it.",
        ),
        Section("Emotions", _emotion_fields, help="0 = not at all, 5 = the most intense."),
        Section("Skills", (_skills,)),
        Section("Medication", (_medication,)),
        Section("Notes", (Field("notes", "Anything else about today (optional)", TEXTAREA),)),
    ),
    summary_items=(*_urge_fields, *_emotion_fields, _skills, _medication),
)

ACTIVITY_SCHEDULE = Template(
    kind=TemplateKind.ACTIVITY_SCHEDULE,
    title="Activity schedule",
    summary="Plan activities, then note which you did and how much mastery and pleasure each gave.",
    source=(
        "Behavioural activation: activity scheduling with mastery and pleasure ratings. "
        "C. R. Martell, S. Dimidjian, R. Herman-Dunn, Behavioral Activation for Depression: "
        "A Clinician's Guide (2010); A. T. Beck et al., Cognitive Therapy of Depression (1979)."
    ),
    unverified="The 0–10 mastery and pleasure scales are Tandem's choice; item-level fields are not confirmed from a source.",
    sections=(
        Section(
            "Activities",
            (
                Group(
                    "activities",
                    "Activities",
                    row_label="Activity",
                    rows=8,
                    key="activity",
                    min_rows=1,
                    help="Plan an activity for a time; afterwards tick whether you did it and rate it.",
                    columns=(
                        Field("when", "When (day and time)", TEXT),
                        Field("activity", "Planned activity", TEXT),
                        Field("done", "Done?", YESNO),
                        rating("mastery", "Mastery (0–10)", 0, 10),
                        rating("pleasure", "Pleasure (0–10)", 0, 10),
                    ),
                ),
            ),
            help="Mastery: how much you achieved, 0–10. Pleasure: how much you enjoyed it, 0–10.",
        ),
        Section("Notes", (Field("notes", "What did you notice? (optional)", TEXTAREA),)),
    ),
)

IPT_AREAS = (
    ("grief", "Grief (complicated bereavement)"),
    ("role_dispute", "Role dispute"),
    ("role_transition", "Role transition"),
    ("interpersonal_deficits", "Interpersonal deficits"),
)
CLOSENESS = (("inner", "Very close (inner circle)"), ("middle", "Close"), ("outer", "Less close"))

IPT = Template(
    kind=TemplateKind.IPT,
    title="Interpersonal worksheet",
    summary="Your problem area, the people in your life, and this week's work on the area.",
    source=(
        "Interpersonal psychotherapy: four problem areas (grief, role disputes, role transitions, "
        "interpersonal deficits) and the interpersonal inventory. M. M. Weissman, J. C. Markowitz, "
        "G. L. Klerman, Comprehensive Guide to Interpersonal Psychotherapy (2000); "
        "https://pmc.ncbi.nlm.nih.gov/articles/PMC7001362"
    ),
    unverified="The three closeness circles are Tandem's simplification of the inventory's closeness circle.",
    sections=(
        Section(
            "Problem area",
            (Field("area", "The problem area we are working on", CHOICE, required=True, choices=IPT_AREAS),),
        ),
        Section(
            "Interpersonal inventory",
            (
                Group(
                    "people",
                    "People",
                    row_label="Person",
                    rows=6,
                    key="person",
                    help="The important people in your life, how close you are, what is good and what is hard.",
                    columns=(
                        Field("person", "Person", TEXT),
                        Field("closeness", "How close", CHOICE, choices=CLOSENESS),
                        Field("good", "What's good", TEXTAREA),
                        Field("hard", "What's hard", TEXTAREA),
                    ),
                ),
            ),
        ),
        Section(
            "This week",
            (
                Field("work", "What I did this week on this area", TEXTAREA, required=True),
                Field("next", "What I will try next (optional)", TEXTAREA),
            ),
        ),
    ),
)

WORKSHEET_SOURCE = "A worksheet written by the therapist for this patient."
MAX_PROMPTS = 10

TEMPLATES: dict[str, Template] = {t.kind: t for t in (THOUGHT_RECORD, ACTIVITY_SCHEDULE, DIARY_CARD, IPT)}


def worksheet(title: str, prompts: list[str]) -> Template:
    return Template(
        kind=TemplateKind.WORKSHEET,
        title=title or "Worksheet",
        summary="Answer your therapist's questions.",
        source=WORKSHEET_SOURCE,
        sections=(
            Section(
                "Your answers",
                tuple(
                    Field(f"prompt_{i}", prompt, TEXTAREA, required=i == 0)
                    for i, prompt in enumerate(prompts)
                ),
            ),
        ),
    )


def template_for(assignment: Assignment) -> Template:
    if assignment.template == TemplateKind.WORKSHEET:
        return worksheet(assignment.title, list(assignment.prompts or []))
    return TEMPLATES[assignment.template]


def template_choices() -> list[tuple[str, str, str]]:
    """(kind, title, summary) of every template, the therapist's own worksheet last."""
    rows = [(t.kind, TemplateKind(t.kind).label, t.summary) for t in TEMPLATES.values()]
    return [*rows, (TemplateKind.WORKSHEET.value, "Your own worksheet", "A title and your own prompts.")]
