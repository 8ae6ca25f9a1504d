"""A clinician's alert inbox: the filters (each bad value is named), the query and its page.

The query is `access.routed_to` (routing decided in SQL) with the filters, in inbox order, read a
page at a time: a COUNT and one SELECT of the page's alerts with their patients, whatever the
number of alerts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Page
from django.db.models import Q, QuerySet
from django.http import QueryDict

from tandem.collab.access import UNRESOLVED, by_inbox_order, routed_to
from tandem.collab.models import Alert, AlertStatus, Severity
from tandem.collab.routing import KINDS, kind_label

PER_PAGE = 25
STATES = {
    "": "Not resolved",
    "open": "Not acknowledged",
    "acknowledged": "Acknowledged",
    "resolved": "Resolved",
}
MAX_QUERY = 100


@dataclass
class InboxFilters:
    severity: str = ""
    kind: str = ""
    q: str = ""
    state: str = ""
    page: str = "1"
    errors: dict[str, str] = field(default_factory=dict)

    def query_string(self, **override: str) -> str:
        """The filters as a query string (without the bad ones), for links and the way back."""
        values = {"severity": self.severity, "kind": self.kind, "q": self.q, "state": self.state}
        values.update(override)
        return urlencode({k: v for k, v in values.items() if v})


def parse_filters(params: QueryDict | dict[str, Any]) -> InboxFilters:
    """The inbox filters from a query string. A bad value is dropped (the filter is not applied)
    and named in `errors`, keyed by the filter's name."""
    filters = InboxFilters()
    severity = str(params.get("severity", "") or "").strip()
    if severity and severity not in Severity.values:
        filters.errors["severity"] = f"choose one of {', '.join(Severity.values)}"
    else:
        filters.severity = severity
    kind = str(params.get("kind", "") or "").strip()
    if kind and kind not in KINDS:
        filters.errors["kind"] = f"{kind[:40]!r} is not a kind of alert"
    else:
        filters.kind = kind
    state = str(params.get("state", "") or "").strip()
    if state not in STATES:
        filters.errors["state"] = f"choose one of {', '.join(s for s in STATES if s)}, or nothing"
    else:
        filters.state = state
    q = str(params.get("q", "") or "").strip()
    if len(q) > MAX_QUERY:
        filters.errors["q"] = f"at most {MAX_QUERY} characters"
    else:
        filters.q = q
    page = str(params.get("page", "1") or "1").strip()
    filters.page = page if page.isdigit() and len(page) < 9 else "1"
    return filters


def inbox_alerts(user_id: int, filters: InboxFilters) -> QuerySet[Alert]:
    alerts = routed_to(user_id)
    if filters.state == "":
        alerts = alerts.filter(status__in=UNRESOLVED)
    elif filters.state == "open":
        alerts = alerts.filter(status=AlertStatus.OPEN)
    else:
        alerts = alerts.filter(status=filters.state)
    if filters.severity:
        alerts = alerts.filter(severity=filters.severity)
    if filters.kind:
        alerts = alerts.filter(kind=filters.kind)
    if filters.q:
        terms = Q()
        for word in filters.q.split()[:4]:
            terms &= (
                Q(patient__given_name__icontains=word)
                | Q(patient__family_name__icontains=word)
                | Q(patient__preferred_name__icontains=word)
                | Q(patient__mrn__iexact=word)
            )
        alerts = alerts.filter(terms)
    return by_inbox_order(alerts.select_related("patient", "acknowledged_by"))


def inbox_page(user_id: int, filters: InboxFilters) -> Page:
    from django.core.paginator import Paginator

    paginator = Paginator(inbox_alerts(user_id, filters), PER_PAGE)
    return paginator.get_page(int(filters.page))


def kind_choices() -> list[tuple[str, str]]:
    return [(k, kind_label(k)) for k in KINDS]
