from __future__ import annotations

from django import template

from tandem.accounts.models import Role

register = template.Library()


@register.filter
def role_label(value: str) -> str:
    if value == "patient":
        return "Patient"
    try:
        return str(Role(value).label)
    except ValueError:
        return value or "—"


@register.simple_tag(takes_context=True)
def page_url(context: dict, number: int) -> str:
    """The current URL's query with another page number."""
    params = context["request"].GET.copy()
    params["page"] = number
    return "?" + params.urlencode()
