"""Psychotherapy notes stay inside tandem/notes/: no other module may name the model, so an
export, a FHIR mapper, a report or a search added later cannot reach it without failing here.
The model's foreign keys have no reverse accessors, so it is not reachable from a patient, a
user or a session either."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from django.apps import apps
from django.conf import settings

from tandem.notes.models import PsychotherapyNote

ROOT = Path(__file__).resolve().parents[3]
NOTES = ROOT / "tandem" / "notes"
# The class name, the model's lower-case name (apps.get_model, content types) and a snake-case
# spelling; any of them outside tandem/notes/ means code reaching for the model.
MENTION = re.compile(r"psychotherapy_?note", re.IGNORECASE)


def python_files() -> list[Path]:
    files = []
    for top in ("tandem", "tests", "benchmarks"):
        base = ROOT / top
        if base.exists():
            files += [p for p in base.rglob("*.py") if NOTES not in p.parents and "migrations" not in p.parts]
    return files


def test_the_source_tree_was_found():
    files = python_files()
    assert any(p.name == "api.py" and p.parent.name == "tandem" for p in files)
    assert len(files) > 100


def test_no_module_outside_notes_names_the_psychotherapy_note_model():
    offenders = [str(p.relative_to(ROOT)) for p in python_files() if MENTION.search(p.read_text("utf-8"))]
    assert not offenders, f"only tandem/notes/ may use PsychotherapyNote: {offenders}"


def test_no_module_outside_notes_imports_the_notes_models_module_wholesale():
    """`from tandem.notes import models` (or `import tandem.notes.models`) would let a module reach
    the model by attribute without naming it; other apps import the names they need."""
    offenders = []
    for path in python_files():
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "tandem.notes":
                if any(alias.name in ("models", "*") for alias in node.names):
                    offenders.append(str(path.relative_to(ROOT)))
            elif isinstance(node, ast.ImportFrom) and node.module == "tandem.notes.models":
                if any(alias.name == "*" for alias in node.names):
                    offenders.append(str(path.relative_to(ROOT)))
            elif isinstance(node, ast.Import) and any(a.name == "tandem.notes.models" for a in node.names):
                offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, offenders


def test_the_scan_would_catch_an_import():
    assert MENTION.search("from tandem.notes.models import PsychotherapyNote")
    assert MENTION.search('apps.get_model("notes", "psychotherapynote")')


def test_nothing_reaches_the_model_through_a_reverse_relation():
    reverse = [
        f"{rel.related_model.__name__}.{rel.get_accessor_name()}"
        for model in apps.get_models()
        for rel in model._meta.related_objects
        if rel.related_model is PsychotherapyNote and not rel.hidden
    ]
    assert reverse == []


def test_the_model_is_in_its_own_table_and_not_in_any_admin():
    assert PsychotherapyNote._meta.db_table == "notes_psychotherapynote"
    if "django.contrib.admin" in settings.INSTALLED_APPS:
        from django.contrib import admin

        assert not admin.site.is_registered(PsychotherapyNote)


def test_its_string_forms_never_hold_the_text():
    note = PsychotherapyNote(pk=7, text="very private words")
    assert "private words" not in str(note) and "private words" not in repr(note)
