"""The crisis word list: case-insensitive, whole words, any spacing between words."""

from __future__ import annotations

import pytest

from tandem.handoffs.crisis import CRISIS_PHRASES, has_crisis_words


@pytest.mark.parametrize("phrase", CRISIS_PHRASES)
def test_every_phrase_on_the_list_is_caught_in_a_sentence_in_any_case(phrase):
    assert has_crisis_words(f"Lately I think about {phrase.upper()}, honestly.")
    assert has_crisis_words(phrase.capitalize())


@pytest.mark.parametrize(
    "text",
    [
        "I want to KILL MYSELF",
        "thinking about suicide.",
        "I might end   my life",
        "I took an overdose last night",
        "self-harm again",
        "self harm again",
        "I cut myself",
        "Sometimes I feel I'd be better off dead",
        "I\nwant to die",
    ],
)
def test_crisis_messages_are_caught(text):
    assert has_crisis_words(text)


@pytest.mark.parametrize(
    "text",
    [
        "The new dose makes me sleepy",
        "I skilled myself up at work",  # "kill myself" only as whole words
        "My suicidesque playlist",  # not the whole word
        "The overdoses of caffeine",  # "overdoses" is not on the list
        "I selfharmonised the chords",
        "The tie-break kills my mood",
        "",
    ],
)
def test_ordinary_messages_are_not_flagged(text):
    assert not has_crisis_words(text)
