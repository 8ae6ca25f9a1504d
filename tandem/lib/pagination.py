from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.http import HttpRequest


def paginate(request: HttpRequest, queryset: Any, per_page: int = 25) -> Page:
    """The requested page; a malformed or out-of-range page number gives the nearest real page."""
    paginator = Paginator(queryset, per_page)
    raw = request.GET.get("page", "1")
    number = int(raw) if raw.isdigit() and len(raw) < 9 else 1
    return paginator.get_page(number)
