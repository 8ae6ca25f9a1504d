"""Template filters for plans and the portal: {% load plans_extras %}."""

from __future__ import annotations

import re

from django import template
from django.utils.safestring import SafeString

from tandem.plans.education import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str) -> SafeString:
    return render_markdown(text)


@register.filter
def tel(phone: str) -> str:
    """A tel: URL for a phone number as people write it ("(555) 010-0199" → "tel:5550100199");
    "" when it holds no digits."""
    phone = str(phone or "")
    digits = re.sub(r"[^0-9]", "", phone)
    if not digits:
        return ""
    return "tel:" + ("+" if phone.strip().startswith("+") else "") + digits
