from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tandem.accounts.models import LoginSession
from tandem.audit.models import AuditEvent
from tandem.lib.testing import PASSWORD


def login(client: Client, email: str, password: str = PASSWORD):
    return client.post(reverse("login"), {"username": email, "password": password})


@pytest.mark.django_db
def test_a_signed_out_visitor_is_sent_to_a_labelled_login_form(client):
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0] == reverse("login")
    html = response.content.decode()
    assert '<label for="id_username">Email' in html
    assert '<label for="id_password">Password' in html


@pytest.mark.django_db
def test_a_clinician_signs_in_and_lands_on_my_patients(personas, client):
    response = login(client, "therapist@riverside.test")
    assert response.status_code == 302
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0] == reverse("patients:list")
    assert AuditEvent.objects.filter(action="login", actor=personas.therapist).exists()


@pytest.mark.django_db
def test_email_is_case_insensitive(personas, client):
    assert login(client, "  Therapist@Riverside.TEST ").status_code == 302


@pytest.mark.django_db
def test_a_patient_signs_in_to_the_portal(personas, client):
    login(client, "pat@example.test")
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0] == reverse("portal:home")
    assert "Hello, Pat" in response.content.decode()


@pytest.mark.django_db
def test_a_wrong_password_gets_a_generic_error_and_is_audited(personas, client):
    bad = login(client, "therapist@riverside.test", "wrong password")
    unknown = login(client, "nobody@riverside.test", "wrong password")
    assert bad.status_code == unknown.status_code == 200
    message = "That email and password do not match an account."
    assert message in bad.content.decode() and message in unknown.content.decode()
    failures = AuditEvent.objects.filter(action="login-failed").values_list("actor_label", flat=True)
    assert set(failures) == {"therapist@riverside.test", "nobody@riverside.test"}


@pytest.mark.django_db
@override_settings(AXES_FAILURE_LIMIT=3)
def test_repeated_failures_lock_the_account_even_with_the_right_password(personas, client):
    for _ in range(2):
        assert login(client, "therapist@riverside.test", "nope nope nope").status_code == 200
    third = login(client, "therapist@riverside.test", "nope nope nope")
    assert third.status_code == 429
    assert "locked" in third.content.decode()
    right = login(client, "therapist@riverside.test")
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_the_session_key_changes_at_sign_in(personas, client):
    client.get(reverse("login"))
    client.session.save()
    before = client.session.session_key
    login(client, "therapist@riverside.test")
    assert client.session.session_key != before
    assert LoginSession.objects.filter(
        user=personas.therapist, session_key=client.session.session_key
    ).exists()


@pytest.mark.django_db
def test_a_clinician_is_signed_out_after_15_idle_minutes(personas, client):
    login(client, "therapist@riverside.test")
    start = timezone.now()
    with time_machine.travel(start + timedelta(minutes=14)):
        assert client.get(reverse("patients:list")).status_code == 200
    with time_machine.travel(start + timedelta(minutes=14 + 16)):
        response = client.get(reverse("patients:list"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login") + "?timeout=1"
    assert client.get(reverse("patients:list")).status_code == 302


@pytest.mark.django_db
def test_activity_keeps_a_session_alive_until_the_absolute_timeout(personas, client):
    login(client, "therapist@riverside.test")
    start = timezone.now()
    minute = 0
    while minute < 11 * 60 + 50:
        minute += 10
        with time_machine.travel(start + timedelta(minutes=minute)):
            assert client.get(reverse("patients:list")).status_code == 200, minute
    with time_machine.travel(start + timedelta(hours=12, minutes=5)):
        assert client.get(reverse("patients:list")).status_code == 302


@pytest.mark.django_db
def test_patients_get_a_longer_idle_timeout(personas, client):
    login(client, "pat@example.test")
    start = timezone.now()
    with time_machine.travel(start + timedelta(minutes=25)):
        assert client.get(reverse("portal:home")).status_code == 200


@pytest.mark.django_db
def test_deactivating_a_user_ends_all_their_sessions(personas):
    laptop, phone = Client(), Client()
    login(laptop, "therapist@riverside.test")
    login(phone, "therapist@riverside.test")
    assert Session.objects.count() == 2
    admin = personas.client_for("org_admin")
    response = admin.post(reverse("manage:member_deactivate", kwargs={"user_id": personas.therapist.pk}))
    assert response.status_code == 302
    personas.therapist.refresh_from_db()
    assert not personas.therapist.is_active
    for client in (laptop, phone):
        assert client.get(reverse("patients:list")).status_code == 302
    assert login(Client(), "therapist@riverside.test").status_code == 200  # cannot sign in again


@pytest.mark.django_db
def test_changing_the_password_ends_every_other_session(personas):
    laptop, phone = Client(), Client()
    login(laptop, "therapist@riverside.test")
    login(phone, "therapist@riverside.test")
    response = laptop.post(
        reverse("accounts:password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a new long passphrase 42",
            "new_password2": "a new long passphrase 42",
        },
    )
    assert response.status_code == 302
    assert laptop.get(reverse("patients:list")).status_code == 200
    assert phone.get(reverse("patients:list")).status_code == 302


@pytest.mark.django_db
def test_a_password_reset_by_email_works_once_and_ends_sessions(personas, client):
    other = Client()
    login(other, "care@riverside.test")
    response = client.post(reverse("accounts:password_reset"), {"email": "care@riverside.test"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/]+(/accounts/password-reset/\S+)", str(mail.outbox[0].body))
    assert link is not None
    page = client.get(link.group(1), follow=True)
    form_url = page.redirect_chain[-1][0]
    new = "river stones and kites 7"
    done = client.post(form_url, {"new_password1": new, "new_password2": new})
    assert done.status_code == 302
    assert login(Client(), "care@riverside.test", new).status_code == 302
    assert other.get(reverse("patients:list")).status_code == 302
    assert client.get(link.group(1), follow=True).context["validlink"] is False


@pytest.mark.django_db
def test_a_reset_for_an_unknown_email_looks_the_same_and_sends_nothing(client):
    response = client.post(reverse("accounts:password_reset"), {"email": "nobody@nowhere.test"})
    assert response.status_code == 302
    assert mail.outbox == []


@pytest.mark.django_db
@override_settings(REQUIRE_MFA=True)
def test_clinicians_must_set_up_and_pass_totp_when_mfa_is_required(personas, client):
    login(client, "prescriber@riverside.test")
    response = client.get(reverse("patients:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:mfa"))
    setup = client.get(response["Location"])
    assert setup.context["setup"] is True
    assert setup.context["qr"].startswith("data:image/svg+xml")
    device = TOTPDevice.objects.get(user=personas.prescriber)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    wrong = f"{(totp.token() + 1) % 1_000_000:06d}"
    response = client.post(reverse("accounts:mfa"), {"token": wrong})
    assert response.status_code == 400
    assert "did not match" in response.content.decode()
    assert client.get(reverse("patients:list")).status_code == 302
    # django-otp throttles after a failure; the next code is tried a little later.
    with time_machine.travel(timezone.now() + timedelta(seconds=5), tick=False):
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        ok = client.post(
            reverse("accounts:mfa"), {"token": f"{totp.token():06d}", "next": "https://evil.example/"}
        )
        assert ok.status_code == 302
        assert ok["Location"] == "/"  # never off-site
        assert client.get(reverse("patients:list")).status_code == 200
    device.refresh_from_db()
    assert device.confirmed


@pytest.mark.django_db
@override_settings(REQUIRE_MFA=True)
def test_patients_do_not_need_mfa(personas, client):
    login(client, "pat@example.test")
    assert client.get(reverse("portal:home")).status_code == 200


@pytest.mark.django_db
def test_logout_needs_a_post_and_is_audited(personas, client):
    login(client, "therapist@riverside.test")
    assert client.get(reverse("logout")).status_code == 405
    assert client.post(reverse("logout")).status_code == 302
    assert AuditEvent.objects.filter(action="logout", actor=personas.therapist).exists()
