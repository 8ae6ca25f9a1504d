"""Things waiting for a clinician, gathered from every app for the start page.

Each app registers a provider (usually in its AppConfig.ready): a function of the user that
returns a few `WorkItem`s with ONE query, so the start page keeps a fixed query count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class WorkItem:
    kind: str
    text: str
    link: str


Provider = Callable[[Any], list[WorkItem]]
_providers: list[Provider] = []


def register(provider: Provider) -> Provider:
    if provider not in _providers:
        _providers.append(provider)
    return provider


def items_for(user: Any) -> list[WorkItem]:
    return [item for provider in _providers for item in provider(user)]
