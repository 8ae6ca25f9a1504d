"""Routing rules an organisation configures, applied when an alert is raised; deduplication and
escalation of routed alerts over time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.urls import reverse

from tandem.accounts.models import Notification
from tandem.audit.models import AuditEvent
from tandem.collab.access import open_alerts_for
from tandem.collab.actions import do_resolve_alert
from tandem.collab.escalation import escalate_due
from tandem.collab.models import Alert, AlertRoute, RoutingRule
from tandem.collab.routing import KINDS, RoutingError, do_reset_routing_rule, do_set_routing_rule
from tandem.collab.tests.helpers import raise_alert

pytestmark = pytest.mark.django_db


def keys(user):
    return [a.dedup_key for a in open_alerts_for(user)]


def test_the_catalogue_has_every_kind_tandem_raises():
    from tandem.handoffs import messaging
    from tandem.measures.signals import job
    from tandem.medications import side_effect_actions, signals
    from tandem.medications.monitoring import base
    from tandem.notes import actions as notes
    from tandem.practice import actions as practice
    from tandem.safety import actions as safety
    from tandem.therapy import signals as therapy

    raised = {
        job.ALERT_KIND,
        notes.ALERT_KIND,
        safety.ALERT_KIND,
        base.ALERT_KIND,
        base.OVERDUE_KIND,
        signals.ALERT_KIND,
        side_effect_actions.ALERT_KIND,
        therapy.ALERT_KIND,
        practice.ALERT_KIND,
    }
    assert raised | {"message_crisis"} == set(KINDS)
    assert 'kind="message_crisis"' in Path(messaging.__file__).read_text()


def test_without_a_rule_the_raiser_chooses(personas):
    raise_alert(personas, route=("prescriber",))
    assert keys(personas.prescriber) == ["k"] and keys(personas.care_manager) == []


def test_a_rule_replaces_the_raisers_roles(personas):
    do_set_routing_rule(
        personas.home, "side_effect", ["care_manager", "therapist"], acting_user=personas.org_admin
    )
    alert, _ = raise_alert(personas, route=("prescriber",))
    assert alert.route_to == ["care_manager", "therapist"]
    assert set(AlertRoute.objects.filter(alert=alert).values_list("role", flat=True)) == {
        "care_manager",
        "therapist",
    }
    assert keys(personas.prescriber) == []
    assert keys(personas.care_manager) == ["k"] and keys(personas.therapist) == ["k"]
    told = set(Notification.objects.values_list("user__email", flat=True))
    assert told == {"care@riverside.test", "therapist@riverside.test"}


def test_a_rule_for_another_kind_or_organisation_changes_nothing(personas):
    do_set_routing_rule(personas.home, "lab", ["care_manager"], acting_user=personas.org_admin)
    do_set_routing_rule(personas.other_org, "side_effect", ["care_manager"], acting_user=None)
    alert, _ = raise_alert(personas, route=("prescriber",))
    assert alert.route_to == ["prescriber"]


def test_alerts_already_open_keep_their_roles(personas):
    raise_alert(personas, route=("prescriber",))
    do_set_routing_rule(personas.home, "side_effect", ["care_manager"], acting_user=personas.org_admin)
    assert keys(personas.prescriber) == ["k"]
    do_reset_routing_rule(personas.home, "side_effect", acting_user=personas.org_admin)
    assert not RoutingRule.objects.exists()


@pytest.mark.parametrize(
    ("kind", "roles", "field"),
    [
        ("side_effect", [], "roles"),
        ("side_effect", ["receptionist"], "roles"),
        ("side_effect", ["org_admin"], "roles"),
        ("weather", ["prescriber"], "kind"),
    ],
)
def test_bad_rules_are_refused_naming_the_field(personas, kind, roles, field):
    with pytest.raises(RoutingError) as caught:
        do_set_routing_rule(personas.home, kind, roles, acting_user=personas.org_admin)
    assert caught.value.field == field
    assert not RoutingRule.objects.exists()


def test_the_admin_page_edits_and_audits_a_rule(personas):
    client = personas.client_for("org_admin")
    assert "Side effects" in client.get(reverse("collab:routing")).content.decode()
    url = reverse("collab:routing_edit", kwargs={"kind": "side_effect"})
    assert client.get(url).status_code == 200
    response = client.post(url, {"roles": ["care_manager", "prescriber"]})
    assert response.status_code == 302
    assert RoutingRule.objects.get(organisation=personas.home, kind="side_effect").roles == [
        "care_manager",
        "prescriber",
    ]
    event = AuditEvent.objects.filter(entity_type="AlertRoutingRule").latest("seq")
    assert event.extra["roles"] == ["care_manager", "prescriber"] and event.actor_id == personas.org_admin.pk
    page = client.get(reverse("collab:routing")).content.decode()
    assert "Care manager, Prescriber" in page


def test_the_admin_page_names_the_field_and_keeps_the_choice(personas):
    client = personas.client_for("org_admin")
    url = reverse("collab:routing_edit", kwargs={"kind": "lab"})
    response = client.post(url, {})
    assert response.status_code == 400
    assert "Care-team roles that receive it:" in response.content.decode()
    response = client.post(url, {"roles": ["therapist", "nurse"]})
    html = response.content.decode()
    assert response.status_code == 400 and "Care-team roles that receive it:" in html
    assert not RoutingRule.objects.exists()
    assert client.get(reverse("collab:routing_edit", kwargs={"kind": "nope"})).status_code == 404


def test_reset_from_the_admin_page(personas):
    do_set_routing_rule(personas.home, "lab", ["care_manager"], acting_user=personas.org_admin)
    client = personas.client_for("org_admin")
    assert client.post(reverse("collab:routing_reset", kwargs={"kind": "lab"})).status_code == 302
    assert not RoutingRule.objects.exists()
    assert AuditEvent.objects.filter(entity_type="AlertRoutingRule", action="delete").exists()


T0 = datetime(2026, 1, 12, 15, 0, tzinfo=UTC)


def test_an_open_condition_alerts_once_over_days_and_again_after_resolution(personas):
    with time_machine.travel(T0, tick=False):
        first, created = raise_alert(personas)
    with time_machine.travel(T0 + timedelta(days=3), tick=False):
        again, created_again = raise_alert(personas, severity="urgent")
    assert created and not created_again and again.pk == first.pk
    assert Alert.objects.get().severity == "high"  # the open alert is not changed by a repeat
    with time_machine.travel(T0 + timedelta(days=4), tick=False):
        do_resolve_alert(first, note="Dose reduced", acting_user=personas.prescriber)
    with time_machine.travel(T0 + timedelta(days=9), tick=False):
        third, created_third = raise_alert(personas)
    assert created_third and third.pk != first.pk
    assert third.created_at == T0 + timedelta(days=9)
    assert Alert.objects.count() == 2 and AlertRoute.objects.filter(alert=third, role="prescriber").exists()


def test_a_repeat_under_a_new_rule_keeps_the_open_alerts_roles(personas):
    with time_machine.travel(T0, tick=False):
        raise_alert(personas)
    do_set_routing_rule(personas.home, "side_effect", ["care_manager"], acting_user=personas.org_admin)
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        alert, created = raise_alert(personas)
    assert not created and alert.route_to == ["prescriber"]


def test_escalation_adds_the_next_role_to_the_inbox(personas):
    """Routed to the therapist only; not acknowledged in 60 minutes → the care manager's inbox."""
    now = datetime.now(tz=UTC).replace(microsecond=0) - timedelta(days=2)
    with time_machine.travel(now, tick=False):
        alert, _ = raise_alert(
            personas, kind="safety", severity="urgent", route=("therapist",), escalate=True
        )
    assert keys(personas.care_manager) == []
    with time_machine.travel(now + timedelta(minutes=59), tick=False):
        assert escalate_due(now + timedelta(minutes=59)).escalated == 0
    with time_machine.travel(now + timedelta(minutes=60), tick=False):
        assert escalate_due(now + timedelta(minutes=60)).escalated == 1
    assert keys(personas.care_manager) == ["k"]
    assert AlertRoute.objects.filter(alert=alert, role="care_manager").exists()
