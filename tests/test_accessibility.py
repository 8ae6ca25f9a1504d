"""Every input has a label, and every button and link a name, on the pages that have forms."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.urls import reverse


class FormAudit(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.labels: set[str] = set()
        self.inputs: list[dict[str, str | None]] = []
        self.open_label = 0
        self.inputs_in_labels = 0
        self.buttons: list[str] = []
        self._button: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "label":
            self.open_label += 1
            if a.get("for"):
                self.labels.add(a["for"] or "")
        elif tag in {"input", "select", "textarea"} and a.get("type") not in {"hidden", "submit"}:
            if self.open_label:
                a["_wrapped"] = "yes"
            self.inputs.append(a)
        elif tag == "button":
            self._button = [a.get("aria-label") or ""]

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.open_label -= 1
        if tag == "button" and self._button is not None:
            self.buttons.append("".join(self._button).strip())
            self._button = None

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button.append(data)


def unlabelled(html: str) -> list[str]:
    audit = FormAudit()
    audit.feed(html)
    missing = [
        str(i.get("name") or i.get("id"))
        for i in audit.inputs
        if not (i.get("_wrapped") or i.get("aria-label") or (i.get("id") and i["id"] in audit.labels))
    ]
    missing += ["<button> without a name" for b in audit.buttons if not b]
    return missing


@pytest.mark.django_db
def test_every_form_control_is_labelled(personas, client):
    pages = [(client, reverse("login")), (client, reverse("accounts:password_reset"))]
    therapist = personas.client_for("therapist")
    admin = personas.client_for("org_admin")
    pid = personas.patient.pk
    pages += [
        (therapist, reverse("patients:list")),
        (therapist, reverse("patients:detail", kwargs={"patient_id": pid})),
        (therapist, reverse("patients:edit", kwargs={"patient_id": pid})),
        (therapist, reverse("patients:team_add", kwargs={"patient_id": pid})),
        (therapist, reverse("patients:consent_new", kwargs={"patient_id": pid})),
        (personas.client_for("colleague"), reverse("patients:break_glass")),
        (therapist, reverse("accounts:password_change")),
        (admin, reverse("manage:members")),
        (admin, reverse("manage:member_new")),
        (admin, reverse("manage:patients")),
        (admin, reverse("manage:patient_new")),
        (admin, reverse("audit:org_log")),
        (personas.client_for("patient"), reverse("portal:home")),
        (personas.client_for("patient"), reverse("portal:sharing")),
        (personas.client_for("patient"), reverse("portal:plan")),
        (personas.client_for("patient"), reverse("portal:safety")),
        (personas.client_for("patient"), reverse("portal:safety_edit", kwargs={"kind": "safety"})),
        (personas.client_for("patient"), reverse("portal:safety_edit", kwargs={"kind": "relapse"})),
        (therapist, reverse("plans:safety", kwargs={"patient_id": pid, "kind": "safety"})),
        (therapist, reverse("plans:safety_edit", kwargs={"patient_id": pid, "kind": "safety"})),
        (therapist, reverse("plans:safety_edit", kwargs={"patient_id": pid, "kind": "relapse"})),
        (admin, reverse("education:list")),
        (admin, reverse("education:edit", kwargs={"kind": "modality", "key": "cbt"})),
    ]
    problems = {}
    for c, url in pages:
        response = c.get(url)
        assert response.status_code == 200, url
        missing = unlabelled(response.content.decode())
        if missing:
            problems[url] = missing
    assert problems == {}
