"""Which care-team roles receive which kind of alert, per organisation.

Every rule that raises an alert names the roles it goes to (`route_to`); an organisation may
replace them for a whole kind of alert (RoutingRule). The replacement is applied when the alert
is raised (`do_raise_alert` calls `routes_for`); alerts already open keep the roles they were
raised with. Escalation (tandem/collab/escalation.py) may add a role to an open alert later.

An alert's roles are kept twice: `Alert.route_to` (what pages show) and AlertRoute rows (what the
inbox and the digest join on in SQL). An empty list means the whole care team.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from tandem.accounts.models import CLINICAL_ROLES, Organisation, Role, User
from tandem.audit.actions import record_audit
from tandem.audit.models import Action
from tandem.collab.models import Alert, AlertRoute, RoutingRule

# The kinds of alert Tandem raises, with the rule that raises each (kept in step with the
# ALERT_KIND constants of the raising apps; tested in tests/test_routing.py).
KINDS: dict[str, tuple[str, str]] = {
    "safety": ("Safety", "a positive suicide-risk screen or a safety concern in a note"),
    "message_crisis": ("Crisis words in a message", "a patient's message contains crisis words"),
    "side_effect": ("Side effects", "a side-effect report over its threshold"),
    "non_adherence": ("Non-adherence", "missed doses or a low proportion of days covered"),
    "lab": ("Lab result out of range", "a monitoring result outside its range"),
    "lab_overdue": ("Monitoring overdue", "a monitoring test not done in time"),
    "attendance": ("Missed sessions", "missed or cancelled therapy sessions"),
    "treat_to_target": ("Treat to target", "measure scores not improving as expected"),
    "practice_diary": ("Skills practice diary", "a diary entry that needs a clinician's attention"),
}
ROLE_ORDER = [Role.CARE_MANAGER, Role.PRESCRIBER, Role.THERAPIST, Role.PSYCHIATRIC_CONSULTANT]
ROLE_LABELS = {str(r): r.label for r in ROLE_ORDER}
ALL_ROLES = [str(r) for r in ROLE_ORDER]
assert set(ALL_ROLES) == {str(r) for r in CLINICAL_ROLES}


class RoutingError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def kind_label(kind: str) -> str:
    return KINDS[kind][0] if kind in KINDS else kind.replace("_", " ").capitalize()


def rules_of(organisation: Organisation | int) -> dict[str, list[str]]:
    org_id = organisation if isinstance(organisation, int) else organisation.pk
    return dict(RoutingRule.objects.filter(organisation_id=org_id).values_list("kind", "roles"))


def routes_for(organisation_id: int, kind: str, default: Iterable[str]) -> list[str]:
    """The roles an alert of `kind` goes to in the organisation: its rule, else the raiser's."""
    rule = RoutingRule.objects.filter(organisation_id=organisation_id, kind=kind).values_list(
        "roles", flat=True
    )
    configured = next(iter(rule), None)
    return [str(r) for r in (configured if configured else default)]


def write_routes(alert: Alert, roles: Iterable[str]) -> None:
    """AlertRoute rows for `roles` (all clinical roles when empty); existing rows are kept."""
    wanted = list(dict.fromkeys(str(r) for r in roles)) or ALL_ROLES
    AlertRoute.objects.bulk_create([AlertRoute(alert=alert, role=r) for r in wanted], ignore_conflicts=True)


def clean_roles(raw: Iterable[str]) -> list[str]:
    roles = [str(r).strip() for r in raw if str(r).strip()]
    unknown = [r for r in roles if r not in ALL_ROLES]
    if unknown:
        raise RoutingError("roles", f"{unknown[0][:40]!r} is not a care-team role")
    if not roles:
        raise RoutingError("roles", "choose at least one role: an alert must reach someone")
    return [r for r in ALL_ROLES if r in roles]


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise RoutingError("kind", f"{kind[:40]!r} is not a kind of alert")
    return kind


@transaction.atomic
def do_set_routing_rule(
    organisation: Organisation,
    kind: str,
    roles: Iterable[str],
    *,
    acting_user: User | None,
    request: HttpRequest | None = None,
) -> RoutingRule:
    """Route every new alert of `kind` in the organisation to `roles` (audited); RoutingError
    names the field at fault."""
    check_kind(kind)
    cleaned = clean_roles(roles)
    before = rules_of(organisation).get(kind)
    rule, _ = RoutingRule.objects.update_or_create(
        organisation=organisation,
        kind=kind,
        defaults={"roles": cleaned, "updated_at": timezone.now(), "updated_by": acting_user},
    )
    record_audit(
        actor=acting_user,
        action=Action.UPDATE,
        entity_type="AlertRoutingRule",
        entity_id=rule.pk,
        organisation=organisation.pk,
        request=request,
        extra={"kind": kind, "roles": cleaned, "before": before},
    )
    return rule


@transaction.atomic
def do_reset_routing_rule(
    organisation: Organisation, kind: str, *, acting_user: User | None, request: HttpRequest | None = None
) -> bool:
    """Back to the roles each raising rule chooses; False when there was no rule (audited when
    one was removed)."""
    check_kind(kind)
    rule = RoutingRule.objects.filter(organisation=organisation, kind=kind).first()
    if rule is None:
        return False
    record_audit(
        actor=acting_user,
        action=Action.DELETE,
        entity_type="AlertRoutingRule",
        entity_id=rule.pk,
        organisation=organisation.pk,
        request=request,
        extra={"kind": kind, "before": rule.roles},
    )
    rule.delete()
    return True
