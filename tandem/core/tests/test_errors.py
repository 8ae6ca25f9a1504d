from __future__ import annotations

import re

import pytest
from django.test import Client, override_settings


@pytest.mark.django_db
@override_settings(ROOT_URLCONF="tandem.core.tests.boom_urls", DEBUG=False)
def test_a_server_error_page_leaks_nothing(personas):
    client = Client(raise_request_exception=False)
    client.force_login(personas.therapist)
    response = client.get("/boom/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong" in html
    for leak in ("Pat", "RC-1", "Traceback", "RuntimeError", "database said"):
        assert leak not in html


@pytest.mark.django_db
def test_a_missing_record_and_a_forbidden_one_look_the_same(personas):
    client = personas.client_for("outsider")
    forbidden = client.get(f"/patients/{personas.patient.pk}/")
    missing = client.get("/patients/987654/")
    assert forbidden.status_code == missing.status_code == 404
    token = re.compile(rb'value="[A-Za-z0-9]{64}"|"X-CSRFToken": "[A-Za-z0-9]{64}"')
    assert token.sub(b"", forbidden.content) == token.sub(b"", missing.content)
    assert b"Pat" not in forbidden.content


@pytest.mark.django_db
def test_a_csrf_failure_gets_the_plain_403_page(personas):
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas.therapist)
    response = client.post("/logout/")
    assert response.status_code == 403
    assert "Not allowed" in response.content.decode()
