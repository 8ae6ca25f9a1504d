from __future__ import annotations

import pytest

from tandem.accounts.scopes import allows, parse


@pytest.mark.parametrize(
    "scopes",
    [
        "user/*.read",
        "user/CarePlan.read",
        "user/CarePlan.rs",
        "user/CarePlan.r",
        "user/*.*",
        "user/CarePlan.*",
        "user/CarePlan.cruds",
        "system/CarePlan.read",
        "user/Observation.read user/CarePlan.sr",
    ],
)
def test_these_scopes_let_a_token_read_a_care_plan(scopes):
    assert allows(scopes, "CarePlan", "read")


@pytest.mark.parametrize(
    "scopes",
    [
        "",
        "user/Observation.read",
        "user/CarePlan.write",
        "user/CarePlan.c",
        "user/CarePlan.s",
        "patient/CarePlan.read",
        "patient/*.*",
        "user/careplan.read",
        "user/CarePlan.rr",
        "user/CarePlan.x",
        "CarePlan.read",
        "user/CarePlan",
        "everything",
    ],
)
def test_these_scopes_do_not_let_a_token_read_a_care_plan(scopes):
    assert not allows(scopes, "CarePlan", "read")


def test_v1_write_covers_create_update_and_delete_but_not_reading():
    for interaction in ("create", "update", "delete"):
        assert allows("user/CarePlan.write", "CarePlan", interaction)
    assert not allows("user/CarePlan.write", "CarePlan", "read")
    assert not allows("user/CarePlan.write", "CarePlan", "search")


def test_v1_read_covers_search():
    assert allows("user/CarePlan.read", "CarePlan", "search")
    assert not allows("user/CarePlan.read", "CarePlan", "update")


def test_v2_letters_grant_exactly_their_interactions():
    assert allows("user/CarePlan.cu", "CarePlan", "create")
    assert allows("user/CarePlan.cu", "CarePlan", "update")
    assert not allows("user/CarePlan.cu", "CarePlan", "read")
    assert not allows("user/CarePlan.r", "CarePlan", "search")
    assert allows("user/CarePlan.s", "CarePlan", "search")


def test_a_scope_for_another_resource_grants_nothing_for_this_one():
    assert not allows("user/Goal.cruds", "CarePlan", "update")
    assert allows("user/*.cruds", "CarePlan", "update")


def test_a_list_of_scopes_works_like_a_space_separated_string():
    assert allows(["user/Goal.read", "user/CarePlan.u"], "CarePlan", "update")


def test_an_unknown_interaction_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown interaction"):
        allows("user/*.*", "CarePlan", "write")


def test_parse_tells_context_resource_and_interactions():
    scope = parse("user/CarePlan.rs")
    assert scope is not None
    assert (scope.context, scope.resource, scope.interactions) == ("user", "CarePlan", {"read", "search"})
    assert parse("user/CarePlan.read ") is not None
    assert parse("user/CarePlan.rsr") is None
