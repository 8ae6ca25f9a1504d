"""codes_for_month at every threshold, one minute under and at it (clinical-facts.md §H)."""

from __future__ import annotations

import pytest

from tandem.caretime.rules import (
    DESCRIPTOR,
    MIDPOINT,
    CodeLine,
    ThresholdError,
    addon_units,
    codes_for_month,
    thresholds_from,
)


def codes(lines: list[CodeLine]) -> dict[str, int]:
    return {line.code: line.units for line in lines}


# Descriptor preset (the default, §H ✔): 99492 70, 99493 60, 99494 per full 30 beyond, G2214 30, 99484 20.
@pytest.mark.parametrize(
    ("minutes", "first", "expected"),
    [
        (0, True, {}),
        (19, True, {}),
        (20, True, {"99484": 1}),
        (29, True, {"99484": 1}),
        (30, True, {"G2214": 1, "99484": 1}),
        (69, True, {"G2214": 1, "99484": 1}),
        (70, True, {"99492": 1, "G2214": 1, "99484": 1}),
        (99, True, {"99492": 1, "G2214": 1, "99484": 1}),
        (100, True, {"99492": 1, "99494": 1, "G2214": 1, "99484": 1}),
        (129, True, {"99492": 1, "99494": 1, "G2214": 1, "99484": 1}),
        (130, True, {"99492": 1, "99494": 2, "G2214": 1, "99484": 1}),
        (59, False, {"G2214": 1, "99484": 1}),
        (60, False, {"99493": 1, "G2214": 1, "99484": 1}),
        (89, False, {"99493": 1, "G2214": 1, "99484": 1}),
        (90, False, {"99493": 1, "99494": 1, "G2214": 1, "99484": 1}),
        (119, False, {"99493": 1, "99494": 1, "G2214": 1, "99484": 1}),
        (120, False, {"99493": 1, "99494": 2, "G2214": 1, "99484": 1}),
    ],
)
def test_descriptor_thresholds_at_each_boundary(minutes, first, expected):
    assert codes(codes_for_month(minutes, first, DESCRIPTOR)) == expected


def test_the_first_month_code_is_never_the_subsequent_one():
    assert "99493" not in codes(codes_for_month(200, True, DESCRIPTOR))
    assert "99492" not in codes(codes_for_month(200, False, DESCRIPTOR))


def test_sixty_minutes_is_enough_for_a_later_month_but_not_the_first():
    assert "99493" in codes(codes_for_month(60, False, DESCRIPTOR))
    assert "99492" not in codes(codes_for_month(60, True, DESCRIPTOR))


# Midpoint preset (§H, unverified): 99492 36, 99493 31, 99494 16 beyond the base, G2214 16.
@pytest.mark.parametrize(
    ("minutes", "first", "expected"),
    [
        (15, True, {}),
        (16, True, {"G2214": 1}),
        (19, True, {"G2214": 1}),
        (20, True, {"G2214": 1, "99484": 1}),
        (35, True, {"G2214": 1, "99484": 1}),
        (36, True, {"99492": 1, "G2214": 1, "99484": 1}),
        (85, True, {"99492": 1, "G2214": 1, "99484": 1}),
        (86, True, {"99492": 1, "99494": 1, "G2214": 1, "99484": 1}),
        (115, True, {"99492": 1, "99494": 1, "G2214": 1, "99484": 1}),
        (116, True, {"99492": 1, "99494": 2, "G2214": 1, "99484": 1}),
        (30, False, {"G2214": 1, "99484": 1}),
        (31, False, {"99493": 1, "G2214": 1, "99484": 1}),
        (75, False, {"99493": 1, "G2214": 1, "99484": 1}),
        (76, False, {"99493": 1, "99494": 1, "G2214": 1, "99484": 1}),
        (105, False, {"99493": 1, "99494": 1, "G2214": 1, "99484": 1}),
        (106, False, {"99493": 1, "99494": 2, "G2214": 1, "99484": 1}),
    ],
)
def test_midpoint_thresholds_at_each_boundary(minutes, first, expected):
    assert codes(codes_for_month(minutes, first, MIDPOINT)) == expected


def test_midpoint_codes_are_marked_unverified():
    lines = codes_for_month(86, True, MIDPOINT)
    assert all(line.unverified for line in lines if line.code != "99484")


def test_the_add_on_needs_a_primary_code_even_when_minutes_are_far_beyond_its_base():
    # A threshold for 99493 set above its base: 95 minutes are 35 beyond 60 but 99493 is not met.
    raised = thresholds_from({"subsequent_min": 100})
    assert codes(codes_for_month(95, False, raised)) == {"G2214": 1, "99484": 1}
    assert codes(codes_for_month(100, False, raised))["99494"] == 1


def test_add_on_units_count_full_blocks_and_a_last_part_from_its_minimum():
    assert addon_units(70, 70, DESCRIPTOR) == 0
    assert addon_units(69, 70, DESCRIPTOR) == 0
    assert addon_units(160, 70, DESCRIPTOR) == 3
    assert addon_units(159, 70, DESCRIPTOR) == 2
    assert addon_units(85, 70, MIDPOINT) == 0
    assert addon_units(86, 70, MIDPOINT) == 1


def test_99484_counts_all_clinical_staff_and_cocm_only_the_care_manager():
    lines = codes(codes_for_month(10, True, DESCRIPTOR, bhi_minutes=20))
    assert lines == {"99484": 1}
    lines = codes(codes_for_month(10, True, DESCRIPTOR, bhi_minutes=19))
    assert lines == {}


def test_g2214_and_99484_beside_a_cocm_code_are_flagged_as_an_unverified_combination():
    by_code = {line.code: line for line in codes_for_month(70, True, DESCRIPTOR)}
    assert by_code["G2214"].unverified and by_code["99484"].unverified
    assert not by_code["99492"].unverified
    alone = {line.code: line for line in codes_for_month(30, True, DESCRIPTOR)}
    assert not alone["G2214"].unverified and not alone["99484"].unverified


def test_thresholds_from_settings():
    assert thresholds_from(None) is DESCRIPTOR
    assert thresholds_from("midpoint") is MIDPOINT
    changed = thresholds_from({"preset": "midpoint", "bhi_min": 25})
    assert changed.bhi_min == 25 and changed.initial_min == 36
    assert "TANDEM_CARETIME_THRESHOLDS" in changed.source
    for bad in ("quarter", {"bhi_min": 0}, {"bhi_min": "20"}, {"nonsense": 3}, {"addon_min": 40}, 5):
        with pytest.raises(ThresholdError):
            thresholds_from(bad)
