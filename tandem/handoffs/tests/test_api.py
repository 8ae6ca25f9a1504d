"""Messages in the JSON API: a patient's app reads the threads shared with them and replies."""

from __future__ import annotations

import pytest

from tandem.audit.models import Action, AuditEvent, Outcome
from tandem.collab.models import Alert
from tandem.handoffs.models import Message, MessageRead
from tandem.lib.tests.api_helpers import app, last_seq, pats_record


def url(thread_id, *rest) -> str:
    return "/".join([f"/api/messages/threads/{thread_id}", *rest])


def reply(client, thread_id, body="Better, thank you", key="msg-key-0001"):
    return client.post(
        url(thread_id, "messages"), {"body": body, "idempotency_key": key}, content_type="application/json"
    )


@pytest.mark.django_db
def test_the_list_has_only_the_threads_shared_with_the_patient(personas):
    record = pats_record(personas)
    before = last_seq()
    response = app(personas.patient_user).get("/api/messages/threads")
    assert response.status_code == 200
    body = response.json()
    assert [t["id"] for t in body["items"]] == [record.thread.pk]
    assert body["items"][0]["unread"] is True and body["next_page"] is None
    assert AuditEvent.objects.filter(seq__gt=before, action=Action.READ, entity_type="MessageThread").exists()


@pytest.mark.django_db
def test_reading_a_thread_lists_its_messages_and_marks_them_read(personas):
    record = pats_record(personas)
    client = app(personas.patient_user)
    response = client.get(url(record.thread.pk))
    assert response.status_code == 200
    [message] = response.json()["messages"]
    assert message["body"] == "How are you sleeping?" and message["author_role"] == "therapist"
    assert message["mine"] is False and message["author"] == personas.therapist.display_name
    assert MessageRead.objects.filter(user=personas.patient_user).count() == 1
    assert client.get("/api/messages/threads").json()["items"][0]["unread"] is False


@pytest.mark.django_db
def test_a_reply_is_sent_once_per_key(personas):
    record = pats_record(personas)
    client = app(personas.patient_user)
    first = reply(client, record.thread.pk)
    again = reply(client, record.thread.pk)
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"] and again.json()["created"] is False
    assert first.json()["crisis"]["show_resources"] is False
    assert Message.objects.filter(author=personas.patient_user).count() == 1
    assert (
        AuditEvent.objects.filter(
            entity_type="Message", action=Action.CREATE, actor=personas.patient_user
        ).count()
        == 1
    )


@pytest.mark.django_db
def test_crisis_words_bring_the_crisis_lines_and_an_urgent_alert(personas):
    record = pats_record(personas)
    response = reply(app(personas.patient_user), record.thread.pk, body="Some nights I want to die")
    assert response.status_code == 201
    crisis = response.json()["crisis"]
    assert crisis["show_resources"] is True and crisis["lines"][0]["number"] == "988"
    alert = Alert.objects.get(patient=personas.patient, kind="message_crisis")
    assert alert.severity == "urgent" and "want to die" not in alert.reason


@pytest.mark.django_db
def test_the_teams_own_thread_and_another_patients_are_404_like_a_missing_one(personas):
    record = pats_record(personas)
    pat, oli = app(personas.patient_user), app(personas.other_patient_user)
    missing = pat.get(url(99999999))
    for client, thread in ((pat, record.team_thread), (oli, record.thread)):
        before = last_seq()
        response = client.get(url(thread.pk))
        assert response.status_code == 404 and response.json() == missing.json()
        assert AuditEvent.objects.filter(seq__gt=before, outcome=Outcome.DENIED).exists()
        assert reply(client, thread.pk, key="msg-key-0002").status_code == 404
    assert not Message.objects.filter(
        author__in=[personas.patient_user, personas.other_patient_user]
    ).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["prescriber", "therapist", "care_manager", "consented", "outsider"])
def test_clinicians_use_the_record_not_the_patient_api(personas, persona):
    record = pats_record(personas)
    client = app(personas.all()[persona])
    assert client.get("/api/messages/threads").status_code == 404
    assert client.get(url(record.thread.pk)).status_code == 404
    assert reply(client, record.thread.pk).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"body": "", "idempotency_key": "msg-key-0003"}, "body"),
        ({"body": "Hi"}, "idempotency_key"),
        ({"body": "x" * 4001, "idempotency_key": "msg-key-0004"}, "body"),
        ({"body": "   ", "idempotency_key": "msg-key-0005"}, "body"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(personas, body, field):
    record = pats_record(personas)
    response = app(personas.patient_user).post(
        url(record.thread.pk, "messages"), body, content_type="application/json"
    )
    assert response.status_code == 422 and field in response.json()["errors"]


@pytest.mark.django_db
@pytest.mark.parametrize("thread_id", ["abc", "0", "-1", "99999999999999999999999"])
def test_a_malformed_thread_id_is_422_not_500(personas, thread_id):
    pats_record(personas)
    response = app(personas.patient_user).get(url(thread_id))
    assert response.status_code == 422 and "thread_id" in response.json()["errors"]


@pytest.mark.django_db
def test_tokens_need_the_communication_scopes(personas):
    record = pats_record(personas)
    client = app(personas.patient_user, "user/Communication.rs")
    assert client.get("/api/messages/threads").status_code == 200
    assert reply(client, record.thread.pk).status_code == 403
    none = app(personas.patient_user, "user/AdverseEvent.cs")
    assert none.get("/api/messages/threads").status_code == 403
    assert none.get(url(record.thread.pk)).status_code == 403
    assert not Message.objects.filter(author=personas.patient_user).exists()
