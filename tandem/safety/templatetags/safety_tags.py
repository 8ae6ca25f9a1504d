"""Template tags that show an open safety flag where other apps' pages need it:

- `{% safety_banner patient %}` at the top of the portal home (crisis help while a flag is open);
- `{% safety_flag_badge patient %}` in the clinician patient header.
Each costs one query.
"""

from __future__ import annotations

from typing import Any

from django import template

from tandem.safety.access import open_flag
from tandem.safety.crisis import resources_for

register = template.Library()


@register.inclusion_tag("portal/safety_workflow/_banner.html")
def safety_banner(patient: Any) -> dict[str, Any]:
    flag = open_flag(patient.pk) if patient is not None else None
    return {"flag": flag, "crisis": resources_for(patient) if flag else None}


@register.inclusion_tag("safety/_badge.html")
def safety_flag_badge(patient: Any) -> dict[str, Any]:
    return {"flag": open_flag(patient.pk) if patient is not None else None, "patient": patient}
