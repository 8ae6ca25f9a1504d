"""Patient-education texts: built-in files, organisation overrides, safe Markdown, the org admin's
editor, and the plain-language helpers of the patient's plan page."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.urls import reverse

from tandem.accounts.models import Role
from tandem.audit.models import AuditEvent, Outcome
from tandem.lib.testing import make_user
from tandem.plans import education, plain
from tandem.plans.models import EducationTopic

EVERYONE = {
    "prescriber",
    "therapist",
    "care_manager",
    "consultant",
    "org_admin",
    "patient",
    "other_patient",
    "colleague",
    "outsider",
    "consented",
}


def last_seq():
    last = AuditEvent.objects.order_by("-seq").first()
    return last.seq if last else 0


def test_every_topic_has_a_built_in_text_with_a_title_and_says_where_its_facts_come_from():
    count = 0
    for kind, topics in education.CATALOGUE.items():
        for key in topics:
            text = (education.BUILTIN_DIR / kind / f"{key}.md").read_text(encoding="utf-8")
            assert text.startswith("# "), key
            title, body = education.builtin(kind, key)
            assert title and len(body) > 200, key
            assert "Source:" in body or "general guidance" in body, key
            count += 1
    assert count == 19


def test_script_tags_are_shown_as_text():
    html = education.render_markdown("Hello <script>alert(1)</script> <b onclick=x>bold</b>")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b onclick" not in html


def test_a_javascript_link_is_not_a_link_but_a_web_link_is():
    for text in (
        "[x](javascript:alert(1))",
        "[x](JAVASCRIPT:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
    ):
        html = education.render_markdown(text)
        assert "<a" not in html and text in html  # shown as the text typed, not a link
    html = education.render_markdown("[z](https://example.org)")
    assert html == '<p><a href="https://example.org">z</a></p>\n'


def test_images_are_not_fetched_from_elsewhere():
    assert "<img" not in education.render_markdown("![tracker](https://example.org/pixel.png)")


def test_the_markdown_filter_renders_in_templates():
    out = Template("{% load plans_extras %}{{ text|markdown }}").render(Context({"text": "**hi** <i>x</i>"}))
    assert "<strong>hi</strong>" in out and "&lt;i&gt;" in out


def test_the_tel_filter_keeps_digits_and_a_leading_plus():
    out = Template("{% load plans_extras %}{{ a|tel }} {{ b|tel }} [{{ c|tel }}]").render(
        Context({"a": "(555) 010-0199", "b": "+44 20 7946 0000", "c": "ask at the desk"})
    )
    assert out == "tel:5550100199 tel:+442079460000 []"


@pytest.mark.django_db
def test_an_override_replaces_the_built_in_text_for_its_organisation_only(personas):
    built_in = education.topic(personas.home, "medication_class", "ssri")
    assert built_in[0] == "SSRI antidepressants"
    EducationTopic.objects.create(
        organisation=personas.home,
        kind="medication_class",
        key="ssri",
        title="Our SSRI leaflet",
        body="Ours.",
    )
    assert education.topic(personas.home, "medication_class", "ssri") == ("Our SSRI leaflet", "Ours.")
    assert education.topic(personas.other_org, "medication_class", "ssri") == built_in
    assert education.topic(None, "medication_class", "ssri") == built_in


def test_medication_classes_are_found_by_drug_or_class_name():
    assert education.medication_classes("Start an SSRI (sertraline)") == ["ssri"]
    assert education.medication_classes("Venlafaxine XR; add LITHIUM; lorazepam prn") == [
        "snri",
        "benzodiazepine",
        "mood-stabiliser",
    ]
    assert education.medication_classes("No medication for now") == []
    assert education.medication_classes("mood stabilizer to be discussed") == ["mood-stabiliser"]


@pytest.mark.parametrize(
    ("goal", "words"),
    [
        (
            {"measure": "phq9", "comparator": "<", "target": 5},
            "PHQ-9 below 5 means few or no symptoms of depression",
        ),
        (
            {"measure": "phq9", "comparator": "<", "target": 10},
            "PHQ-9 below 10 means at most mild symptoms of depression",
        ),
        (
            {"measure": "phq9", "comparator": "<=", "target": 4},
            "PHQ-9 at most 4 means few or no symptoms of depression",
        ),
        (
            {"measure": "gad7", "comparator": "<", "target": 5},
            "GAD-7 below 5 means few or no symptoms of anxiety",
        ),
        (
            {"measure": "who5", "comparator": ">=", "target": 13},
            "WHO-5 at least 13 means your sense of wellbeing is in the usual range (general guidance)",
        ),
        ({"measure": "phq9", "comparator": ">", "target": 3}, "PHQ-9 above 3"),
        ({"text": "Feel better"}, ""),
    ],
)
def test_a_measured_goal_is_explained_in_plain_words(goal, words):
    assert plain.goal_meaning(goal) == words


def test_schedules_are_said_in_words():
    assert [plain.every(d) for d in (1, 7, 14, 30, 10)] == [
        "every day",
        "every week",
        "every 2 weeks",
        "every month",
        "every 10 days",
    ]
    assert plain.monitoring_words({"instrument": "gad7", "every_days": 28}) == (
        "A short questionnaire about worry and anxiety (GAD-7) every 4 weeks"
    )


def test_roles_in_who_does_what_become_the_team_members_names():
    people = {"therapist": ["Theo Therapist"], "prescriber": ["Rita Prescriber"]}
    assert plain.who_words("Therapist", people) == "Theo Therapist (your therapist)"
    assert plain.who_words("patient", people) == "You"
    assert plain.who_words("care manager", people) == "Your care manager"
    assert plain.who_words("Dr Who", people) == "Dr Who"


# The org admin's editor ------------------------------------------------------------------------


def edit_url(kind="modality", key="cbt"):
    return reverse("education:edit", kwargs={"kind": kind, "key": key})


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(EVERYONE))
@pytest.mark.parametrize("page", ["list", "edit", "reset"])
def test_only_the_org_admin_opens_the_education_editor(personas, page, persona):
    target = (
        reverse("education:list")
        if page == "list"
        else (
            edit_url()
            if page == "edit"
            else reverse("education:reset", kwargs={"kind": "modality", "key": "cbt"})
        )
    )
    before = last_seq()
    client = personas.client_for(persona)
    response = client.post(target) if page == "reset" else client.get(target)
    if persona == "org_admin":
        assert response.status_code == (302 if page == "reset" else 200)
    else:
        assert response.status_code == 404
        assert AuditEvent.objects.filter(outcome=Outcome.DENIED, seq__gt=before).exists()


@pytest.mark.django_db
def test_the_admin_edits_a_topic_then_resets_it_to_the_built_in_text(personas):
    admin = personas.client_for("org_admin")
    page = admin.get(edit_url()).content.decode()
    assert "Cognitive behavioural therapy (CBT)" in page and "Built-in text" in page
    response = admin.post(
        edit_url(), {"title": "CBT here", "body": "We meet on *Tuesdays*. <script>x()</script>"}
    )
    assert response.status_code == 302
    topic = EducationTopic.objects.get(organisation=personas.home, kind="modality", key="cbt")
    assert topic.title == "CBT here" and topic.updated_by == personas.org_admin
    page = admin.get(edit_url()).content.decode()
    assert "<em>Tuesdays</em>" in page and "<script>x()" not in page and "Your version" in page
    assert "Your version" in admin.get(reverse("education:list")).content.decode()
    admin.post(edit_url(), {"title": "CBT here", "body": "Changed"})
    assert EducationTopic.objects.get(pk=topic.pk).body == "Changed"
    response = admin.post(reverse("education:reset", kwargs={"kind": "modality", "key": "cbt"}))
    assert response.status_code == 302
    assert not EducationTopic.objects.exists()
    events = AuditEvent.objects.filter(entity_type="EducationTopic").values_list("action", flat=True)
    assert sorted(events) == ["create", "delete", "update"]


@pytest.mark.django_db
def test_an_empty_title_is_named_and_the_text_kept(personas):
    response = personas.client_for("org_admin").post(edit_url(), {"title": "", "body": "Keep me"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "<strong>Title:</strong>" in html and "Keep me" in html
    assert not EducationTopic.objects.exists()


@pytest.mark.django_db
def test_an_admin_of_another_organisation_edits_only_their_own(personas):
    other_admin = make_user("admin@lakeside.test", "Lake Admin", personas.other_org, Role.ORG_ADMIN)
    personas.client_for(other_admin).post(edit_url(), {"title": "Lakeside CBT", "body": "Ours"})
    assert EducationTopic.objects.get().organisation == personas.other_org
    assert education.topic(personas.home, "modality", "cbt")[0] == "Cognitive behavioural therapy (CBT)"


@pytest.mark.django_db
def test_an_unknown_topic_is_not_found(personas):
    admin = personas.client_for("org_admin")
    assert admin.get(edit_url("modality", "astrology")).status_code == 404
    assert admin.get(edit_url("nonsense", "cbt")).status_code == 404
    assert (
        admin.post(reverse("education:reset", kwargs={"kind": "modality", "key": "nope"})).status_code == 404
    )


@pytest.mark.django_db
def test_the_admin_sees_the_education_link(personas):
    assert (
        reverse("education:list")
        in personas.client_for("org_admin").get(reverse("manage:members")).content.decode()
    )
