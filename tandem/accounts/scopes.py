"""SMART-on-FHIR style scopes of API tokens: which resource types a token may read or change.

A scope is `context/Resource.permissions`:

- context: `user` (what the token's user may see) or `system`. Both stay bounded by the user's
  own access in the `access.py` modules: a scope narrows what a token can do, it never widens
  what its user can. `patient/` scopes mean "the patient in the launch context", which a Tandem
  token does not carry, so they grant nothing here.
- Resource: a FHIR resource type (`CarePlan`) or `*`.
- permissions: SMART v1 `read`, `write` or `*`, or SMART v2 letters from `cruds` (create, read,
  update, delete, search). v1 `read` covers read and search, `write` covers create, update and
  delete. v2 letters are accepted in any order, each at most once.

A malformed scope grants nothing; it is not an error at request time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

INTERACTIONS = frozenset({"create", "read", "update", "delete", "search"})
CONTEXTS_GRANTING = frozenset({"user", "system"})

_V1 = {
    "read": frozenset({"read", "search"}),
    "write": frozenset({"create", "update", "delete"}),
    "*": INTERACTIONS,
}
_V2 = {"c": "create", "r": "read", "u": "update", "d": "delete", "s": "search"}
_SCOPE = re.compile(r"^(patient|user|system)/(\*|[A-Z][A-Za-z]+)\.(read|write|\*|[cruds]{1,5})$")


@dataclass(frozen=True)
class Scope:
    context: str
    resource: str
    interactions: frozenset[str]


def parse(scope: str) -> Scope | None:
    match = _SCOPE.match(scope.strip())
    if match is None:
        return None
    context, resource, permissions = match.groups()
    if permissions in _V1:
        return Scope(context, resource, _V1[permissions])
    if len(set(permissions)) != len(permissions):
        return None
    return Scope(context, resource, frozenset(_V2[letter] for letter in permissions))


def allows(scopes: str | Iterable[str], resource: str, interaction: str) -> bool:
    """Whether any of `scopes` (space-separated, or a list) lets a token do `interaction` on
    `resource`."""
    if interaction not in INTERACTIONS:
        raise ValueError(f"unknown interaction {interaction!r}; one of {sorted(INTERACTIONS)}")
    items = scopes.split() if isinstance(scopes, str) else scopes
    for item in items:
        scope = parse(item)
        if (
            scope is not None
            and scope.context in CONTEXTS_GRANTING
            and scope.resource in ("*", resource)
            and interaction in scope.interactions
        ):
            return True
    return False
