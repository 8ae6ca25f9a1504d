"""The alert inbox in a 100 000-patient database.

Signs in as the synthetic population's benchmark care manager (120 patients) and asks for the
inbox: page 1 unfiltered (the alerts routed to them, most urgent first), and filtered to urgent
alerts not yet acknowledged. Every request writes its audit row (the inbox read is audited),
which is part of what is measured. Target: p95 < 100 ms with a fixed query count.
"""

from __future__ import annotations

from django.test import Client
from django.urls import reverse
from harness import BenchmarkError, Result, measure

from tandem.accounts.models import User
from tandem.collab.access import routed_to


def inbox_page(seed: int, clinician: User, *, requests: int, warmup: int, query: str = "") -> Result:
    """The inbox of `clinician` (the benchmark care manager); `query` adds filters, e.g.
    "severity=urgent&state=open"."""
    alerts = routed_to(int(clinician.pk)).exclude(status="resolved").count()
    if alerts == 0:
        raise BenchmarkError(
            f"no open alerts routed to {clinician.email} (seed {seed}); run tandem synth with collab"
        )
    client = Client()
    client.force_login(clinician)
    path = reverse("collab:inbox") + (f"?{query}" if query else "")
    name = f"alert inbox ({alerts} open){', ' + query if query else ''}"
    return measure(client, name, path, requests=requests, warmup=warmup)
