from __future__ import annotations

from tandem.collab.actions import do_raise_alert


def raise_alert(
    personas, *, patient=None, kind="side_effect", severity="high", key="k", route=("prescriber",), **extra
):
    return do_raise_alert(
        patient or personas.patient,
        kind=kind,
        severity=severity,
        title=f"Alert {key}",
        reason="Over its threshold",
        rule_id=f"rule.{kind}",
        dedup_key=key,
        route_to=list(route),
        **extra,
    )
