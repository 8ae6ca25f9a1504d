"""Fills: validation naming the field, idempotency by external_id, the CSV import (per row, with
a report by line and column, nothing twice), the staff page and upload, and the adherence page
(PDC per class against a hand-computed case, doses per ISO week, a pinned query count)."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tandem.audit.models import AuditEvent, Outcome
from tandem.lib.testing import build_personas
from tandem.lib.timezones import local_date
from tandem.medications.actions import MedicationError, do_change_regimen, do_start_regimen
from tandem.medications.fills import (
    as_pdc_fills,
    do_record_fill,
    import_fills,
    may_record_fills,
    patient_pdc,
)
from tandem.medications.models import DoseLog, Fill, FillSource
from tandem.patients.access import grant_for

HEADER = "mrn,organisation,drug,fill_date,days_supply,quantity,external_id\n"


def start(personas, drug_key="sertraline", name="Sertraline", classes=("ssri",), patient=None, **extra):
    return do_start_regimen(
        patient or personas.patient,
        drug_key=drug_key,
        drug_name=name,
        drug_classes=list(classes),
        dose_amount=50,
        times=["08:00"],
        reason="Start",
        acting_user=personas.prescriber,
        role="prescriber",
        **extra,
    )


def today(personas) -> date:
    return local_date(timezone.now(), personas.patient.time_zone)


def record(personas, **changes):
    values = {
        "regimen_or_drug": "sertraline",
        "fill_date": today(personas) - timedelta(days=3),
        "days_supply": 30,
        "quantity": 30,
        "source": FillSource.STAFF,
        "acting_user": personas.care_manager,
    }
    values.update(changes)
    return do_record_fill(personas.patient, **values)


# ---------------------------------------------------------------------------------------------
# do_record_fill


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"days_supply": 0}, "days_supply"),
        ({"days_supply": -30}, "days_supply"),
        ({"days_supply": 366}, "days_supply"),
        ({"days_supply": "30"}, "days_supply"),
        ({"days_supply": True}, "days_supply"),
        ({"fill_date": "2026-01-01"}, "fill_date"),
        ({"quantity": -1}, "quantity"),
        ({"quantity": "1.005"}, "quantity"),
        ({"quantity": "lots"}, "quantity"),
        ({"regimen_or_drug": "sertralinee"}, "drug"),
        ({"regimen_or_drug": "org:999"}, "drug"),
        ({"regimen_or_drug": "  "}, "drug"),
        ({"regimen_or_drug": "free:"}, "drug"),
        ({"source": "fax"}, "source"),
        ({"source": FillSource.IMPORT}, "external_id"),
        ({"external_id": "x" * 101}, "external_id"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_recorded(personas, changes, field):
    with pytest.raises(MedicationError) as caught:
        record(personas, **changes)
    assert caught.value.field == field
    assert not Fill.objects.exists()
    assert not AuditEvent.objects.filter(entity_type="MedicationDispense").exists()


@pytest.mark.django_db
def test_a_negative_days_supply_says_a_fill_lasts_at_least_a_day(personas):
    with pytest.raises(MedicationError, match="1 to 365 days, not -3: a fill lasts at least one day"):
        record(personas, days_supply=-3)


@pytest.mark.django_db
def test_a_fill_dated_tomorrow_in_the_patients_time_zone_is_in_the_future(personas):
    with pytest.raises(MedicationError, match="in the future") as caught:
        record(personas, fill_date=today(personas) + timedelta(days=1))
    assert caught.value.field == "fill_date"
    fill, created = record(personas, fill_date=today(personas))
    assert created and fill.fill_date == today(personas)


@pytest.mark.django_db
def test_a_regimen_of_another_patient_is_refused(personas):
    theirs = start(personas, patient=personas.other_patient)
    with pytest.raises(MedicationError) as caught:
        record(personas, regimen_or_drug=theirs)
    assert caught.value.field == "regimen"
    assert not Fill.objects.exists()


@pytest.mark.django_db
def test_a_fill_names_its_drug_class_and_regimen_and_is_audited(personas):
    regimen = start(personas)
    fill, created = record(personas, regimen_or_drug="Sertraline", quantity="30.5")
    assert created
    assert (fill.drug_key, fill.drug_name, fill.drug_class) == ("sertraline", "sertraline", "ssri")
    assert fill.regimen == regimen and fill.quantity == Decimal("30.50")
    assert fill.entered_by == personas.care_manager and fill.source == "staff"
    event = AuditEvent.objects.get(entity_type="MedicationDispense", entity_id=str(fill.pk))
    assert event.action == "create" and event.patient_id == personas.patient.pk
    assert event.extra["drug"] == "sertraline" and event.extra["source"] == "staff"

    by_regimen, _ = record(personas, regimen_or_drug=regimen)
    assert by_regimen.regimen == regimen and by_regimen.drug_name == "Sertraline"


@pytest.mark.django_db
def test_a_synonym_and_free_text_are_resolved(personas):
    lithium, _ = record(personas, regimen_or_drug="lithium carbonate")
    assert (lithium.drug_key, lithium.drug_class) == ("lithium", "mood_stabiliser")
    herbal, _ = record(personas, regimen_or_drug="free:St John's  wort")
    assert (herbal.drug_key, herbal.drug_name, herbal.drug_class) == (
        "free:St John's wort",
        "St John's wort",
        "",
    )


@pytest.mark.django_db
def test_the_same_external_id_records_once_and_refuses_other_details(personas):
    first, created = record(personas, source=FillSource.IMPORT, external_id="rx-1")
    again, created_again = record(personas, source=FillSource.IMPORT, external_id="rx-1")
    assert created and not created_again and first.pk == again.pk
    with pytest.raises(MedicationError) as caught:
        record(personas, source=FillSource.IMPORT, external_id="rx-1", days_supply=90)
    assert caught.value.field == "external_id"
    assert Fill.objects.count() == 1
    # The id is the sender's for one patient: another patient may carry the same one.
    do_record_fill(
        personas.other_patient,
        regimen_or_drug="sertraline",
        fill_date=today(personas),
        days_supply=30,
        source=FillSource.IMPORT,
        external_id="rx-1",
        acting_user=None,
    )
    assert Fill.objects.count() == 2


# ---------------------------------------------------------------------------------------------
# CSV import


def csv_text(personas, *rows: str) -> str:
    return HEADER + "".join(row + "\n" for row in rows)


def good_rows(personas) -> list[str]:
    day = today(personas) - timedelta(days=10)
    return [
        f"RC-1,riverside,sertraline,{day},30,30,rx-100",
        f"RC-1,riverside,Lithium carbonate,{day},30,60,rx-101",
        f"RC-2,riverside,free:Vitamin D,{day},90,,rx-102",
    ]


@pytest.mark.django_db
def test_an_import_records_good_rows_and_reports_bad_ones_by_line_and_column(personas):
    good = good_rows(personas)
    future = today(personas) + timedelta(days=2)
    text = csv_text(
        personas,
        good[0],
        "RC-1,riverside,sertraline,2026-02-30,-5,30,rx-200",  # line 3: two bad columns
        good[1],
        "RC-9,riverside,sertraline,2026-01-05,30,30,rx-201",  # line 5: unknown MRN
        "",  # blank lines are not rows
        f'RC-1,riverside,"sertraline, 50 mg",{future},30,30,rx-202',  # line 7: unknown drug, future
        "RC-1,nowhere,sertraline,2026-01-05,30,30,rx-203",  # line 8
        "RC-1,riverside,sertraline,2026-01-05,30,30,",  # line 9: no external id
        good[2],
    )
    report = import_fills(io.StringIO(text, newline=""), acting_user=personas.care_manager)
    assert (report.rows, report.recorded, report.already, report.rejected_rows) == (8, 3, 0, 5)
    problems = {(p.line, p.column) for p in report.problems}
    assert problems == {
        (3, "fill_date"),
        (3, "days_supply"),
        (5, "mrn"),
        (7, "drug"),
        (8, "organisation"),
        (9, "external_id"),
    }
    messages = {(p.line, p.column): p.message for p in report.problems}
    assert "not a real date" in messages[(3, "fill_date")]
    assert "not -5" in messages[(3, "days_supply")]
    assert "unknown medicine" in messages[(7, "drug")]
    assert str(report.problems[0]).startswith("line 3, column ")
    assert sorted(Fill.objects.values_list("external_id", flat=True)) == ["rx-100", "rx-101", "rx-102"]
    assert set(Fill.objects.values_list("source", flat=True)) == {"import"}


@pytest.mark.django_db
def test_a_bad_drug_is_only_found_after_the_row_parsed_and_still_names_its_column(personas):
    text = csv_text(personas, f"RC-1,riverside,sertralinee,{today(personas)},30,,rx-1")
    report = import_fills(io.StringIO(text, newline=""))
    assert [(p.line, p.column) for p in report.problems] == [(2, "drug")]
    assert not Fill.objects.exists()


@pytest.mark.django_db
def test_importing_the_same_file_twice_records_nothing_twice(personas):
    text = csv_text(personas, *good_rows(personas))
    first = import_fills(io.StringIO(text, newline=""))
    second = import_fills(io.StringIO(text, newline=""))
    assert (first.recorded, first.already) == (3, 0)
    assert (second.recorded, second.already, second.rejected_rows) == (0, 3, 0)
    assert Fill.objects.count() == 3
    assert AuditEvent.objects.filter(entity_type="MedicationDispense").count() == 3


@pytest.mark.django_db
def test_a_file_without_the_columns_is_refused_whole(personas):
    from tandem.medications.fills import ImportFileError

    with pytest.raises(ImportFileError, match="missing columns fill_date, days_supply"):
        import_fills(io.StringIO("mrn,organisation,drug,external_id\nRC-1,riverside,sertraline,x\n"))
    with pytest.raises(ImportFileError, match="empty"):
        import_fills(io.StringIO(""))
    assert not Fill.objects.exists()


@pytest.mark.django_db
def test_header_aliases_a_bom_and_a_quoted_newline_keep_line_numbers_right(personas, tmp_path: Path):
    day = today(personas)
    path = tmp_path / "fills.csv"
    path.write_text(
        "MRN,Organisation Slug,Drug Key,Fill Date,Days Supply,Quantity,External ID\r\n"
        f'RC-1,riverside,"free:Two\r\nlines",{day},30,,rx-1\r\n'
        f"RC-1,riverside,sertraline,{day},0,,rx-2\r\n",
        encoding="utf-8-sig",
    )
    with path.open(encoding="utf-8-sig", newline="") as lines:
        report = import_fills(lines)
    assert report.recorded == 1
    assert [(p.line, p.column) for p in report.problems] == [(4, "days_supply")]


@pytest.mark.django_db
def test_the_command_reports_rejected_rows_and_exits_non_zero(personas, tmp_path: Path, capsys):
    rows = [*good_rows(personas), "RC-1,riverside,sertraline,2026-01-05,400,30,rx-9"]
    path = tmp_path / "fills.csv"
    path.write_text(csv_text(personas, *rows), encoding="utf-8")
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 row rejected"):
        call_command("import_fills", str(path), "--no-progress", "--user", "care@riverside.test", stdout=out)
    assert "line 5, column days_supply: must be 1 to 365 days, not 400" in out.getvalue()
    assert "4 rows: 3 recorded, 0 already recorded, 1 rejected" in out.getvalue()
    assert set(Fill.objects.values_list("entered_by", flat=True)) == {personas.care_manager.pk}
    again = io.StringIO()
    path.write_text(csv_text(personas, *good_rows(personas)), encoding="utf-8")
    call_command("import_fills", str(path), "--no-progress", stdout=again)
    assert "3 rows: 0 recorded, 3 already recorded, 0 rejected" in again.getvalue()
    assert Fill.objects.count() == 3


@pytest.mark.django_db
def test_a_dry_run_checks_every_row_and_records_nothing(personas, tmp_path: Path):
    path = tmp_path / "fills.csv"
    path.write_text(csv_text(personas, *good_rows(personas)), encoding="utf-8")
    out = io.StringIO()
    call_command("import_fills", str(path), "--dry-run", stdout=out, stderr=io.StringIO())
    assert "dry run, nothing recorded — 3 rows: 3 recorded" in out.getvalue()
    assert not Fill.objects.exists()
    assert not AuditEvent.objects.filter(entity_type="MedicationDispense").exists()


@pytest.mark.django_db
def test_the_command_refuses_a_file_that_is_not_utf8_before_recording_anything(personas, tmp_path: Path):
    path = tmp_path / "fills.csv"
    good = csv_text(personas, *good_rows(personas)).encode()
    path.write_bytes(good + b"RC-1,riverside,caf\xe9,2026-01-05,30,,rx-9\n")
    with pytest.raises(CommandError, match="line 5 is not UTF-8 text; nothing was imported"):
        call_command("import_fills", str(path), "--no-progress", stdout=io.StringIO())
    path.write_text("mrn,drug\n", encoding="utf-8")
    with pytest.raises(CommandError, match="missing columns"):
        call_command("import_fills", str(path), "--no-progress", stdout=io.StringIO())
    assert not Fill.objects.exists()


# ---------------------------------------------------------------------------------------------
# The fills page


def url(personas, name: str) -> str:
    return reverse(name, kwargs={"patient_id": personas.patient.pk})


def form(personas, **changes) -> dict[str, str]:
    data = {
        "medicine": "other",
        "drug": "Sertraline",
        "fill_date": str(today(personas) - timedelta(days=1)),
        "days_supply": "30",
        "quantity": "30",
        "key": "form-key-0001",
    }
    data.update(changes)
    return data


READERS = {"prescriber", "therapist", "care_manager", "consultant", "consented"}
ENTERERS = {"prescriber", "therapist", "care_manager"}


@pytest.mark.django_db
def test_who_may_read_and_enter_fills(personas):
    record(personas)
    for name, user in personas.all().items():
        client = personas.client_for(user)
        page = client.get(url(personas, "medications:fills"))
        assert page.status_code == (200 if name in READERS else 404), name
        if name in READERS:
            html = page.content.decode()
            assert "sertraline" in html
            assert ("Record a fill" in html) == (name in ENTERERS), name
            grant = grant_for(user, personas.patient)
            assert grant is not None and may_record_fills(grant) == (name in ENTERERS)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(ENTERERS))
def test_the_team_enters_a_fill(personas, persona):
    regimen = start(personas)
    response = personas.client_for(persona).post(
        url(personas, "medications:fills"), form(personas, medicine=str(regimen.pk), drug="")
    )
    assert response.status_code == 302
    fill = Fill.objects.get()
    assert fill.regimen == regimen and fill.source == "staff" and fill.entered_by == personas.all()[persona]


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["consultant", "consented", "org_admin", "outsider", "patient"])
def test_others_cannot_enter_a_fill_and_the_attempt_is_audited(personas, persona):
    response = personas.client_for(persona).post(url(personas, "medications:fills"), form(personas))
    assert response.status_code == 404
    assert not Fill.objects.exists()
    assert AuditEvent.objects.filter(outcome=Outcome.DENIED, entity_type="MedicationDispense").exists()


@pytest.mark.django_db
def test_form_errors_name_the_field_and_keep_the_rest(personas):
    client = personas.client_for("care_manager")
    response = client.post(url(personas, "medications:fills"), form(personas, days_supply="-3"))
    html = response.content.decode()
    assert response.status_code == 400
    assert "<strong>Days&#x27; supply:</strong> must be 1 to 365 days, not -3" in html
    assert 'value="Sertraline"' in html
    response = client.post(url(personas, "medications:fills"), form(personas, drug="Sertralinee"))
    assert "<strong>Another medicine:</strong> unknown medicine" in response.content.decode()
    tomorrow = str(today(personas) + timedelta(days=1))
    response = client.post(
        url(personas, "medications:fills"),
        form(personas, drug="Sertralinee", days_supply="0", fill_date=tomorrow),
    )
    html = response.content.decode()  # every error at once
    assert (
        "<strong>Days&#x27; supply:</strong>" in html
        and "<strong>Date filled:</strong> is in the future" in html
    )
    response = client.post(url(personas, "medications:fills"), form(personas, drug=""))
    assert "type the medicine&#x27;s name" in response.content.decode()
    assert not Fill.objects.exists()
    response = client.post(
        url(personas, "medications:fills"), form(personas, drug="Sertralinee", free_text="on")
    )
    assert response.status_code == 302
    assert Fill.objects.get().drug_key == "free:Sertralinee"


@pytest.mark.django_db
def test_a_double_submit_records_one_fill(personas):
    client = personas.client_for("therapist")
    for _ in range(2):
        assert client.post(url(personas, "medications:fills"), form(personas)).status_code == 302
    assert Fill.objects.count() == 1


@pytest.mark.django_db
def test_the_upload_takes_this_patients_rows_and_reports_the_rest(personas):
    day = today(personas) - timedelta(days=2)
    text = csv_text(
        personas,
        f"RC-1,riverside,sertraline,{day},30,30,rx-1",
        f"RC-2,riverside,sertraline,{day},30,30,rx-2",
        f"RC-1,riverside,sertraline,{day},0,30,rx-3",
    )
    upload = SimpleUploadedFile("fills.csv", text.encode(), content_type="text/csv")
    client = personas.client_for("care_manager")
    response = client.post(url(personas, "medications:fills_import"), {"file": upload})
    html = response.content.decode()
    assert response.status_code == 200
    assert "3 rows: 1 recorded, 0 already recorded, 2 rejected" in html
    assert "is another patient" in html and '<td data-label="Line">3</td>' in html
    assert list(Fill.objects.values_list("external_id", flat=True)) == ["rx-1"]
    assert client.post(url(personas, "medications:fills_import")).status_code == 302  # no file
    consented = personas.client_for("consented").post(
        url(personas, "medications:fills_import"),
        {"file": SimpleUploadedFile("f.csv", text.encode(), content_type="text/csv")},
    )
    assert consented.status_code == 404
    assert Fill.objects.count() == 1


@pytest.mark.django_db
def test_the_fills_page_has_a_fixed_number_of_queries(personas):
    client = personas.client_for("prescriber")
    record(personas)
    with CaptureQueriesContext(connection) as one:
        assert client.get(url(personas, "medications:fills")).status_code == 200
    start(personas)
    for n in range(30):
        record(personas, fill_date=today(personas) - timedelta(days=n), regimen_or_drug="lithium")
    with CaptureQueriesContext(connection) as many:
        assert client.get(url(personas, "medications:fills")).status_code == 200
    assert len(many) == len(one)


# ---------------------------------------------------------------------------------------------
# PDC and the adherence page

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=ZoneInfo("America/Chicago"))  # a Tuesday, ISO week 27


@pytest.fixture
def june(db):
    with time_machine.travel(NOW, tick=False):
        yield build_personas()


def add_fill(personas, drug: str, day: date, days: int = 30) -> None:
    record(personas, regimen_or_drug=drug, fill_date=day, days_supply=days, quantity=None)


def hand_computed_case(personas) -> None:
    """The period is 2026-01-02 to 2026-06-30 (180 days).

    SSRI: sertraline on Jan 10 (30 days: Jan 10 – Feb 8); Feb 5 overlaps by 4 days and is
    shifted to Feb 9 – Mar 10; Apr 1 – Apr 30; Jun 15 runs past the end and is truncated to
    Jun 15 – Jun 30 (16 days). A fill of Dec 20 is before the period and ignored. Index date
    Jan 10; days Jan 10 – Jun 30 = 22 + 28 + 31 + 30 + 31 + 30 = 172; covered 30 + 30 + 30 + 16
    = 106; PDC 106 / 172 = 61.6 %: eligible, not adherent.
    Mood stabiliser: one lithium fill on May 1: ineligible (fewer than 2 fill dates)."""
    add_fill(personas, "sertraline", date(2025, 12, 20))
    for day in (date(2026, 1, 10), date(2026, 2, 5), date(2026, 4, 1), date(2026, 6, 15)):
        add_fill(personas, "sertraline", day)
    add_fill(personas, "lithium", date(2026, 5, 1))


def test_pdc_of_the_hand_computed_case(june):
    personas = june
    with time_machine.travel(NOW, tick=False):
        hand_computed_case(personas)
        results, period_fills = patient_pdc(personas.patient, date(2026, 6, 30))
    ssri, mood = results["ssri"], results["mood_stabiliser"]
    assert (ssri.index_date, ssri.days_covered, ssri.days_in_period) == (date(2026, 1, 10), 106, 172)
    assert ssri.eligible and not ssri.adherent and ssri.pdc == 106 / 172
    assert not mood.eligible and mood.rule == "pdc_min_fill_dates"
    assert len(period_fills) == 5  # the December fill is not one of the period's


@pytest.mark.django_db
def test_a_fill_without_a_class_is_measured_under_its_own_drug_key(personas):
    add_fill(personas, "free:Herbal", today(personas) - timedelta(days=5))
    (pdc_fill,) = as_pdc_fills(Fill.objects.all())
    assert pdc_fill.drug_class == "free:Herbal" and pdc_fill.drug_key == "free:Herbal"


def test_the_adherence_page_shows_the_hand_computed_numbers_and_doses_by_week(june):
    personas = june
    with time_machine.travel(NOW, tick=False):
        hand_computed_case(personas)
        regimen = start(
            personas, effective_at=datetime(2026, 6, 22, 0, 0, tzinfo=ZoneInfo("America/Chicago"))
        )
        # Daily at 08:00 from Monday Jun 22: taken on the 22nd and 23rd (the 23rd 3 hours late),
        # skipped on the 24th, nothing since. As of Tue Jun 30 12:00 the doses of the 25th to the
        # 28th are missed (over 48 hours) and those of the 29th and 30th not yet counted.
        for day, status, taken_hour in ((22, "taken", 8), (23, "taken", 11), (24, "skipped", None)):
            due = datetime(2026, 6, day, 8, 0, tzinfo=ZoneInfo("America/Chicago"))
            DoseLog.objects.create(
                patient=personas.patient,
                regimen=regimen,
                due_at=due,
                status=status,
                taken_at=due.replace(hour=taken_hour) if taken_hour else None,
                reason="" if taken_hour else "felt sick",
                idempotency_key=f"dose-{day}-0000",
            )
        response = personas.client_for("consented").get(url(personas, "medications:adherence"))
    assert response.status_code == 200
    html = response.content.decode()
    ssri = next(row for row in response.context["pdc_rows"] if row["result"].drug_class == "ssri")
    assert ssri["label"] == "SSRI" and ssri["current"] and ssri["percent"] == "61.6"
    assert "2026-01-10" in html and "106 / 172" in html and "61.6&nbsp;%" in html
    assert "2026-01-02 to 2026-06-30" in html
    mood = next(row for row in response.context["pdc_rows"] if row["result"].drug_class == "mood_stabiliser")
    assert not mood["current"] and "fewer than 2 fills on different dates" in html
    assert "NOT IN §F" in mood["source"]
    assert [g[2] for g in ssri["gaps"]] == [21, 45]  # Mar 11 – Mar 31; May 1 – Jun 14: 172 - 106 days
    weeks = {w["label"]: w["counts"] for w in response.context["weeks"]}
    assert len(weeks) == 8 and next(iter(weeks)) == "2026-W27"
    w26, w27 = weeks["2026-W26"], weeks["2026-W27"]
    assert (w26.taken, w26.taken_late, w26.skipped, w26.missed, w26.pending) == (1, 1, 1, 4, 0)
    assert (w27.scheduled, w27.pending) == (0, 2)
    assert "28.5&nbsp;%" in html and "(2 of 7)" in html  # 2 / 7 = 28.57 %, shown rounded down


@pytest.mark.django_db
def test_only_medication_readers_open_the_adherence_page(personas):
    for name, user in personas.all().items():
        response = personas.client_for(user).get(url(personas, "medications:adherence"))
        assert response.status_code == (200 if name in READERS else 404), name


@pytest.mark.django_db
def test_the_adherence_page_has_a_fixed_number_of_queries(personas):
    client = personas.client_for("prescriber")
    start(personas, drug_key="bupropion", name="Bupropion", classes=("other_antidepressant",))
    add_fill(personas, "bupropion", today(personas) - timedelta(days=100))
    with CaptureQueriesContext(connection) as few:
        assert client.get(url(personas, "medications:adherence")).status_code == 200
    for drug, classes in (
        ("sertraline", ("ssri",)),
        ("lithium", ("mood_stabiliser",)),
        ("quetiapine", ("antipsychotic_sga",)),
    ):
        regimen = start(
            personas,
            drug_key=drug,
            name=drug.title(),
            classes=classes,
            effective_at=timezone.now() - timedelta(days=60),
        )
        do_change_regimen(
            regimen,
            kind="change",
            times=["08:00", "20:00"],
            reason="twice a day",
            acting_user=personas.prescriber,
        )
        for n in range(6):
            add_fill(personas, drug, today(personas) - timedelta(days=30 * n))
    with CaptureQueriesContext(connection) as many:
        response = client.get(url(personas, "medications:adherence") + "?days=365")
    assert response.status_code == 200 and len(response.context["pdc_rows"]) == 4
    assert len(many) == len(few)
    assert len(many) == ADHERENCE_PAGE_QUERIES, "\n".join(q["sql"][:150] for q in many.captured_queries)


# Session and user (2); the access check: memberships, patient, care team, and the audited read
# (savepoint, chain head, insert, update, release: 5); the page: the period's fills, the active
# regimens, the schedule (regimens, versions) and the dose logs (5); the base template: crisis
# line and unread notifications (2).
ADHERENCE_PAGE_QUERIES = 16  # with the safety-flag badge of the patient header
