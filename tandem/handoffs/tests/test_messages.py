"""Message threads, clinician side and actions: team-only and shared threads, read receipts,
idempotent sends, crisis words raising an urgent alert that does not quote the message."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tandem.accounts.models import Notification
from tandem.audit.models import AuditEvent
from tandem.collab.models import Alert
from tandem.handoffs.messaging import MessageError, do_mark_read, do_post_message, do_start_thread
from tandem.handoffs.models import Audience, Message, MessageRead, Thread
from tandem.handoffs.tests.helpers import key, shared_thread

pytestmark = pytest.mark.django_db

CRISIS_TEXT = "I keep thinking I want to end my life, the pills are right here"


def post(thread, user, role, body, k=None):
    return do_post_message(thread, body=body, acting_user=user, author_role=role, idempotency_key=k or key())


def test_a_clinician_starts_a_team_only_thread_and_the_team_is_told(personas):
    thread, created = do_start_thread(
        personas.patient,
        audience=Audience.TEAM,
        subject="Dose plan",
        body="Shall we hold the increase?",
        acting_user=personas.prescriber,
        author_role="prescriber",
        idempotency_key=key(),
    )
    assert created and thread.messages.count() == 1
    told = set(Notification.objects.values_list("user__email", flat=True))
    assert told == {"therapist@riverside.test", "care@riverside.test", "consultant@riverside.test"}
    assert all("Shall we" not in n.text for n in Notification.objects.all())
    assert AuditEvent.objects.filter(entity_type="MessageThread", action="create").exists()
    assert AuditEvent.objects.filter(entity_type="Message", action="create").exists()


def test_the_patient_is_told_of_a_reply_in_a_shared_thread_only(personas):
    shared_thread(personas)
    assert Notification.objects.filter(user=personas.patient_user).count() == 1
    shared_thread(personas, audience=Audience.TEAM)
    assert Notification.objects.filter(user=personas.patient_user).count() == 1


def test_bad_input_is_named(personas):
    def start(**kw):
        args = {
            "audience": Audience.TEAM,
            "subject": "S",
            "body": "B",
            "acting_user": personas.therapist,
            "author_role": "therapist",
            "idempotency_key": key(),
            **kw,
        }
        with pytest.raises(MessageError) as info:
            do_start_thread(personas.patient, **args)
        return info.value.field

    assert start(audience="everyone") == "audience"
    assert start(subject="  ") == "subject"
    assert start(subject="s" * 201) == "subject"
    assert start(body="") == "body"
    assert start(body="b" * 4001) == "body"
    assert start(idempotency_key="short") == "key"
    assert not Thread.objects.exists()


def test_a_double_tap_sends_once(personas):
    thread = shared_thread(personas)
    first, created = post(thread, personas.patient_user, "patient", "Thanks", "tap-tap-0001")
    second, again = post(thread, personas.patient_user, "patient", "Thanks", "tap-tap-0001")
    assert created and not again and first == second
    assert thread.messages.count() == 2


def test_opening_a_thread_records_who_read_each_message_and_when(personas):
    thread = shared_thread(personas)
    url = reverse("handoffs:thread", kwargs={"patient_id": personas.patient.pk, "thread_id": thread.pk})
    html = personas.client_for("therapist").get(url).content.decode()
    assert "Read by: nobody yet" in html  # the author's own receipt is not shown
    personas.client_for("prescriber").get(url)
    read = MessageRead.objects.get(user=personas.prescriber)
    assert read.message.thread == thread
    assert "Read by: Rita Prescriber" in personas.client_for("therapist").get(url).content.decode()
    personas.client_for("prescriber").get(url)
    assert MessageRead.objects.filter(user=personas.prescriber).count() == 1
    assert do_mark_read(thread, personas.prescriber) == 0


def test_a_patient_cannot_post_in_a_team_only_thread(personas):
    thread = shared_thread(personas, audience=Audience.TEAM)
    with pytest.raises(MessageError) as info:
        post(thread, personas.patient_user, "patient", "hello")
    assert info.value.field == "thread"


def test_crisis_words_from_the_patient_raise_an_urgent_alert_that_does_not_quote_them(personas):
    thread = shared_thread(personas)
    message, _ = post(thread, personas.patient_user, "patient", CRISIS_TEXT)
    assert message.crisis
    alert = Alert.objects.get(kind="message_crisis")
    assert alert.severity == "urgent" and alert.rule_id == "handoffs.message_crisis_words"
    assert set(alert.route_to) == {"therapist", "prescriber", "care_manager", "psychiatric_consultant"}
    for text in (
        alert.title,
        alert.reason,
        alert.source,
        *Notification.objects.values_list("text", flat=True),
    ):
        assert "end my life" not in text and "pills" not in text
    post(thread, personas.patient_user, "patient", "I want to die")
    assert Alert.objects.filter(kind="message_crisis").count() == 1  # one open condition, one alert


def test_a_clinician_quoting_crisis_words_raises_no_alert(personas):
    thread = shared_thread(personas, body="Did you have thoughts of suicide this week?")
    assert not thread.messages.get().crisis
    assert not Alert.objects.exists()


def test_the_thread_list_and_composer(personas):
    thread = shared_thread(personas)
    url = reverse("handoffs:threads", kwargs={"patient_id": personas.patient.pk})
    html = personas.client_for("prescriber").get(url).content.decode()
    assert "Sleep" in html and "Unread" in html and "Care team and the patient" in html
    assert "nothing can be attached" in html
    new = reverse("handoffs:thread_new", kwargs={"patient_id": personas.patient.pk})
    client = personas.client_for("prescriber")
    data = {"audience": "team", "subject": "Labs", "body": "Lithium level due", "key": "new-thread-01"}
    assert client.post(new, data).status_code == 302
    assert client.post(new, data).status_code == 302
    assert Thread.objects.filter(subject="Labs").count() == 1
    bad = client.post(new, {**data, "subject": "", "key": "new-thread-02"})
    assert bad.status_code == 400
    assert "<strong>Subject:</strong> give the thread a subject" in bad.content.decode()
    assert "Lithium level due" in bad.content.decode()
    reply = reverse("handoffs:reply", kwargs={"patient_id": personas.patient.pk, "thread_id": thread.pk})
    assert client.post(reply, {"body": "Noted", "key": "reply-key-01"}).status_code == 302
    assert Message.objects.filter(body="Noted").count() == 1
    assert client.post(reply, {"body": "", "key": "reply-key-02"}).status_code == 400


def test_a_clinician_who_broke_the_glass_reads_but_does_not_write(personas):
    from datetime import timedelta

    from django.utils import timezone

    from tandem.patients.models import BreakGlass

    BreakGlass.objects.create(
        patient=personas.patient,
        user=personas.colleague,
        reason="r",
        expires_at=timezone.now() + timedelta(hours=1),
    )
    thread = shared_thread(personas)
    client = personas.client_for("colleague")
    url = reverse("handoffs:thread", kwargs={"patient_id": personas.patient.pk, "thread_id": thread.pk})
    assert client.get(url).status_code == 200
    reply = reverse("handoffs:reply", kwargs={"patient_id": personas.patient.pk, "thread_id": thread.pk})
    assert client.post(reply, {"body": "x", "key": "glass-key-01"}).status_code == 404
