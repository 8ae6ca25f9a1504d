"""Writes to an organisation's patient-education texts: one transaction, audited."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from tandem.accounts.models import Organisation, Role, User
from tandem.audit.actions import record_audit
from tandem.audit.models import Action
from tandem.plans.education import is_topic
from tandem.plans.models import EducationTopic


@transaction.atomic
def do_save_education_topic(
    organisation: Organisation,
    kind: str,
    key: str,
    *,
    title: str,
    body: str,
    acting_user: User,
    request: HttpRequest | None = None,
) -> EducationTopic:
    """The organisation's own version of a built-in topic, created or replaced."""
    if not is_topic(kind, key):
        raise ValueError(f"unknown education topic {kind}/{key}")
    topic, created = EducationTopic.objects.select_for_update().get_or_create(
        organisation=organisation,
        kind=kind,
        key=key,
        defaults={"title": title, "body": body, "updated_by": acting_user},
    )
    if not created:
        topic.title = title
        topic.body = body
        topic.updated_by = acting_user
        topic.updated_at = timezone.now()
        topic.save(update_fields=["title", "body", "updated_by", "updated_at"])
    record_audit(
        actor=acting_user,
        action=Action.CREATE if created else Action.UPDATE,
        entity_type="EducationTopic",
        entity_id=f"{kind}/{key}",
        organisation=organisation,
        role=Role.ORG_ADMIN,
        request=request,
    )
    return topic


@transaction.atomic
def do_reset_education_topic(
    organisation: Organisation, kind: str, key: str, *, acting_user: User, request: HttpRequest | None = None
) -> bool:
    """Back to the built-in text: the organisation's version is deleted. False if there was none."""
    deleted, _ = EducationTopic.objects.filter(organisation=organisation, kind=kind, key=key).delete()
    if deleted:
        record_audit(
            actor=acting_user,
            action=Action.DELETE,
            entity_type="EducationTopic",
            entity_id=f"{kind}/{key}",
            organisation=organisation,
            role=Role.ORG_ADMIN,
            request=request,
        )
    return bool(deleted)
