from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from tandem.accounts.models import Notification
from tandem.collab.access import open_alerts_for
from tandem.collab.actions import AlertError, do_raise_alert, do_resolve_alert
from tandem.collab.models import Alert, AlertStatus


def raise_alert(personas, severity="high", key="side-effect:1", route=("prescriber",), **extra):
    return do_raise_alert(
        personas.patient,
        kind="side_effect",
        severity=severity,
        title="Burden of side effects 5/6",
        reason="FIBSER burden 5 (≥ 5 is high)",
        rule_id="fibser.burden.high",
        source="clinical-facts.md §A7",
        dedup_key=key,
        route_to=list(route),
        **extra,
    )


@pytest.mark.django_db
def test_an_open_condition_alerts_once(personas):
    first, created = raise_alert(personas)
    again, created_again = raise_alert(personas)
    assert created and not created_again
    assert first.pk == again.pk
    assert Alert.objects.count() == 1


@pytest.mark.django_db
def test_a_resolved_condition_can_alert_again(personas):
    alert, _ = raise_alert(personas)
    do_resolve_alert(alert, note="Dose reduced", acting_user=personas.prescriber)
    _, created = raise_alert(personas)
    assert created
    assert Alert.objects.count() == 2


@pytest.mark.django_db
def test_it_reaches_the_routed_roles_and_notifies_others_on_request(
    personas, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        raise_alert(personas, severity="urgent", notify_roles=["therapist"])
    told = set(Notification.objects.values_list("user__email", "text"))
    assert any(e == "prescriber@riverside.test" and "Urgent alert" in t for e, t in told)
    assert any(e == "therapist@riverside.test" and "For your information" in t for e, t in told)
    assert not any(e == "care@riverside.test" for e, _ in told)
    assert len(mail.outbox) == 1 and "Pat" not in str(mail.outbox[0].body)


@pytest.mark.django_db
def test_the_inbox_lists_the_routed_alerts_most_urgent_first(personas):
    raise_alert(personas, severity="routine", key="a")
    raise_alert(personas, severity="urgent", key="b")
    raise_alert(personas, severity="high", key="c")
    raise_alert(personas, severity="urgent", key="d", route=("care_manager",))
    assert [a.dedup_key for a in open_alerts_for(personas.prescriber)] == ["b", "c", "a"]
    assert [a.dedup_key for a in open_alerts_for(personas.care_manager)] == ["d"]
    assert open_alerts_for(personas.outsider) == []
    html = personas.client_for("prescriber").get(reverse("collab:inbox")).content.decode()
    assert html.index("Urgent") < html.index("Routine")


@pytest.mark.django_db
def test_acknowledge_and_resolve_from_the_patient_page(personas):
    alert, _ = raise_alert(personas)
    client = personas.client_for("prescriber")
    kwargs = {"patient_id": personas.patient.pk, "alert_id": alert.pk}
    client.post(reverse("collab:acknowledge", kwargs=kwargs))
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ACKNOWLEDGED and alert.acknowledged_by == personas.prescriber
    response = client.post(reverse("collab:resolve", kwargs=kwargs), {"note": ""}, follow=True)
    assert "Say how the alert was resolved." in response.content.decode()
    client.post(reverse("collab:resolve", kwargs=kwargs), {"note": "Seen in clinic; dose reduced"})
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED and alert.resolution_note == "Seen in clinic; dose reduced"


@pytest.mark.django_db
def test_resolving_needs_a_note(personas):
    alert, _ = raise_alert(personas)
    with pytest.raises(AlertError):
        do_resolve_alert(alert, note="  ", acting_user=personas.prescriber)


@pytest.mark.django_db
def test_open_alerts_wait_on_my_patients(personas):
    raise_alert(personas)
    html = personas.client_for("prescriber").get(reverse("patients:list")).content.decode()
    assert "High alert" in html and "Burden of side effects" in html
