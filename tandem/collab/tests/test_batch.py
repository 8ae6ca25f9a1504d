"""Raising alerts together (tandem.collab.batch) writes what raising them one by one writes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from tandem.accounts.models import Notification
from tandem.audit.models import AuditEvent
from tandem.audit.verify import verify_chain
from tandem.collab import batch
from tandem.collab.actions import do_resolve_alert
from tandem.collab.batch import AlertToRaise, do_raise_alerts
from tandem.collab.models import Alert, AlertRoute
from tandem.collab.routing import do_set_routing_rule
from tandem.collab.tests.helpers import raise_alert


def wanted(personas) -> list[AlertToRaise]:
    patient, other = personas.patient, personas.other_patient

    def alert(key: str, **extra: Any) -> AlertToRaise:
        values: dict[str, Any] = {
            "patient": patient,
            "kind": "side_effect",
            "severity": "high",
            "title": f"Alert {key}",
            "reason": "Over its threshold",
            "rule_id": "rule.side_effect",
            "dedup_key": key,
            "route_to": ["prescriber"],
        }
        return AlertToRaise(**(values | extra))

    return [
        alert("a", link="/somewhere/a"),
        alert("open", title="Already open"),  # raised before: answered, not created
        alert("b", severity="urgent", notify_roles=["therapist", "care_manager"], escalate=True),
        alert("a", title="The same condition again"),  # the first of the batch answers it
        alert("c", kind="lab", route_to=["therapist"], subject=personas.patient),  # routed by the rule
        alert("whole-team", route_to=[]),
        alert("resolved"),  # resolved before: raised again
        alert("a", patient=other, route_to=["therapist"], severity="urgent"),
    ]


ALERT_FIELDS = [
    "patient_id",
    "kind",
    "severity",
    "title",
    "reason",
    "rule_id",
    "source",
    "dedup_key",
    "route_to",
    "subject_type",
    "subject_id",
    "link",
    "status",
    "created_at",
    "ack_due_at",
]


def written(since: dict[str, int], results: list[tuple[Alert, bool]]) -> dict[str, Any]:
    """What was written after `since`, alerts named by their place in `results`."""
    place = {alert.pk: n for n, (alert, created) in enumerate(results) if created}
    alerts = Alert.objects.filter(pk__gt=since["alert"]).order_by("pk")
    return {
        "results": [(place.get(a.pk, a.pk), created) for a, created in results],
        "alerts": [[place[a.pk], *(getattr(a, f) for f in ALERT_FIELDS)] for a in alerts],
        "routes": sorted(
            (place[r.alert_id], r.role) for r in AlertRoute.objects.filter(alert_id__gt=since["alert"])
        ),
        "notices": [
            (n.user_id, n.text, n.link)
            for n in Notification.objects.filter(pk__gt=since["notice"]).order_by("pk")
        ],
        "audit": [
            (
                e.action,
                e.entity_type,
                place[int(e.entity_id)],
                e.patient_id,
                e.actor_id,
                e.actor_label,
                e.extra,
            )
            for e in AuditEvent.objects.filter(seq__gt=since["seq"]).order_by("seq")
        ],
    }


def marks() -> dict[str, int]:
    return {
        "alert": Alert.objects.order_by("-pk").values_list("pk", flat=True).first() or 0,
        "notice": Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0,
        "seq": AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0,
    }


@pytest.mark.django_db
def test_raising_together_writes_what_raising_one_by_one_writes(personas, monkeypatch):
    do_set_routing_rule(personas.home, "lab", ["care_manager", "prescriber"], acting_user=personas.org_admin)
    raise_alert(personas, key="open")
    resolved, _ = raise_alert(personas, key="resolved")
    do_resolve_alert(resolved, note="Seen", acting_user=personas.prescriber)
    now = timezone.now()
    since = marks()
    # What would run on commit (the urgent alerts' e-mails), run at once to be compared.
    monkeypatch.setattr(transaction, "on_commit", lambda func, using=None, robust=False: func())

    with transaction.atomic():
        one_by_one = [item.one_by_one(now) for item in wanted(personas)]
        expected = written(since, one_by_one)
        transaction.set_rollback(True)
    mailed = sorted((m.subject, tuple(m.to), m.body) for m in mail.outbox)
    mail.outbox.clear()

    together = do_raise_alerts(wanted(personas), now=now)

    assert written(since, together) == expected
    assert [created for _, created in together] == [True, False, True, False, True, True, True, True]
    assert together[3][0].pk == together[0][0].pk and together[1][0].title == "Alert open"
    assert sorted((m.subject, tuple(m.to), m.body) for m in mail.outbox) == mailed and len(mailed) == 2
    assert len(expected["notices"]) > 8 and len(expected["audit"]) == 6
    assert not verify_chain()[1]


@pytest.mark.django_db
def test_an_alert_opened_meanwhile_is_answered_as_one_by_one(personas, monkeypatch):
    """The insert meets the one-open-alert constraint (the condition was opened by someone else
    after the batch looked): nothing of the batch is kept, and one by one the open one is answered."""
    first, _ = raise_alert(personas, key="a")
    monkeypatch.setattr(batch, "_open_alerts", lambda keys: {})  # looked before it was opened
    results = do_raise_alerts([wanted(personas)[0], wanted(personas)[2]], now=timezone.now())

    assert [(alert.pk == first.pk, created) for alert, created in results] == [(True, False), (False, True)]
    assert Alert.objects.filter(patient=personas.patient).count() == 2
    assert AuditEvent.objects.filter(entity_type="Alert").count() == 2
    assert not verify_chain()[1]


@pytest.mark.django_db
def test_another_integrity_error_is_not_swallowed(personas, monkeypatch):
    def broken(new: list[tuple[AlertToRaise, Alert]], now: datetime) -> None:
        raise IntegrityError("something else")

    monkeypatch.setattr(batch, "_write", broken)
    monkeypatch.setattr(AlertToRaise, "one_by_one", lambda self, now: broken([], now))
    with pytest.raises(IntegrityError):
        do_raise_alerts(wanted(personas)[:1])
    assert not Alert.objects.exists()


@pytest.mark.django_db
def test_nothing_to_raise_writes_nothing(personas):
    since = marks()
    assert do_raise_alerts([]) == []
    assert marks() == since
