"""Bearer tokens for the APIs: the one place that decides whether a presented token is good."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from tandem.accounts.models import ApiToken, hash_token
from tandem.lib.prepared import PreparedLookup

# Every API request starts here: compiled once (tandem.lib.prepared).
_BY_HASH = PreparedLookup(
    lambda token_hash: ApiToken.objects.select_related("user").filter(token_hash=token_hash), token_hash=str
)

# Record use at most this often, so that a burst of requests is not a burst of writes.
TOUCH_EVERY = timedelta(minutes=1)


def authenticate_token(raw: str) -> ApiToken | None:
    """The usable token with this raw value (its user loaded), or None when it is unknown,
    revoked, expired or its user is deactivated."""
    raw = raw.strip()
    if not raw.startswith(ApiToken.PREFIX) or len(raw) > 200:
        return None
    token = _BY_HASH.first(token_hash=hash_token(raw))
    now = timezone.now()
    if token is None or not token.is_usable(now):
        return None
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
        # Conditional, so that concurrent requests of one minute write once.
        ApiToken.objects.filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - TOUCH_EVERY), pk=token.pk
        ).update(last_used_at=now)
        token.last_used_at = now
    return token
