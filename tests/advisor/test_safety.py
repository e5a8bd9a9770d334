"""The rule-based safety steps and the keyword commands, on cases from a data file."""

import logging
from pathlib import Path

import pytest
import yaml

from advisor.keywords import Keywords
from advisor.safety import AbuseWords, BlockedTerms, EmergencyRules, PiiFilter, looks_like_nonsense, mask_pii
from knowledge.errors import BadInputError

CASES = yaml.safe_load((Path(__file__).parent / "data" / "safety_cases.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def rules():
    return EmergencyRules()


@pytest.mark.parametrize("text", CASES["emergency"])
def test_emergency_rules_catch_danger_signs_in_every_language(rules, text):
    assert rules.match(text)


@pytest.mark.parametrize("text", CASES["not_emergency"])
def test_emergency_rules_leave_routine_questions_alone(rules, text):
    assert rules.match(text) is None


def test_operators_extend_the_rules_and_bad_patterns_are_named(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text("en:\n  - '\\bcobra\\b'\n")
    assert EmergencyRules(path).match("A COBRA in the house")
    path.write_text("en:\n  - '(unclosed'\n")
    with pytest.raises(BadInputError, match=r"rules.yaml: rule '\(unclosed' \(en\) is not a valid pattern"):
        EmergencyRules(path)


@pytest.mark.parametrize("text, list_name", CASES["blocked"])
def test_blocked_terms_are_found_whatever_the_case_or_hyphens(text, list_name):
    found = BlockedTerms().find(text)
    assert found is not None and found.list_name == list_name


@pytest.mark.parametrize("text", CASES["not_blocked"])
def test_whole_words_only(text):
    assert BlockedTerms().find(text) is None


def test_a_list_without_a_referral_is_refused(tmp_path):
    path = tmp_path / "blocked.yaml"
    path.write_text("lists:\n  mine:\n    terms: [x]\n")
    with pytest.raises(BadInputError, match="list 'mine' needs 'referral'"):
        BlockedTerms(path)


@pytest.mark.parametrize("text", CASES["abusive"])
def test_insults_are_recognised(text):
    assert AbuseWords().found(text)


@pytest.mark.parametrize("text", CASES["not_abusive"])
def test_ordinary_words_are_not_insults(text):
    assert not AbuseWords().found(text)


@pytest.mark.parametrize("text", CASES["nonsense"])
def test_nonsense(text):
    assert looks_like_nonsense(text)


@pytest.mark.parametrize("text", CASES["not_nonsense"])
def test_not_nonsense(text):
    assert not looks_like_nonsense(text)


def test_personal_data_is_masked():
    text = "I am Amina, call +254 712 345 678 or 0712345678, mail amina.k@example.co.ke, ID 23456789. 3 cows, 2024."
    masked = mask_pii(text)
    for secret in ("712 345 678", "0712345678", "amina.k@example.co.ke", "23456789"):
        assert secret not in masked
    assert masked == "I am Amina, call [phone] or [phone], mail [email], ID [id]. 3 cows, 2024."


def test_the_log_filter_masks_arguments_too(caplog):
    logger = logging.getLogger("advisor.test_pii")
    logger.addFilter(PiiFilter())
    with caplog.at_level(logging.INFO, logger="advisor.test_pii"):
        logger.info("message from %s: %s", "+255 754 123 456", "write to me at x@y.org")
    assert caplog.messages == ["message from [phone]: write to me at [email]"]


@pytest.fixture(scope="module")
def keywords():
    return Keywords(["en", "sw", "fr"])


@pytest.mark.parametrize("text, language", [
    ("LANG SW", "sw"), ("lugha en", "en"), ("Langue FR", "fr"), ("Kiswahili", "sw"), ("english please", "en"),
    ("LUGHA", None), ("language", None),
])
def test_language_switches(keywords, text, language):
    switch = keywords.language_switch(text)
    assert switch is not None and switch.language == language


@pytest.mark.parametrize("text", ["my language teacher has malaria", "LANG XX", "english maize variety seeds"])
def test_not_language_switches(keywords, text):
    assert keywords.language_switch(text) is None


def test_more_menu_numbers_social_and_followups(keywords):
    assert keywords.is_more("MORE") and keywords.is_more("zaidi") and keywords.is_more("Suite")
    assert not keywords.is_more("more beans please")
    assert [keywords.menu_choice(t) for t in ("1", " 2. ", "#3", "1 cow", "one")] == [1, 2, 3, None, None]
    assert keywords.social_intent("Habari yako daktari") == "greeting"
    assert keywords.social_intent("asante sana!") == "thanks"
    assert keywords.social_intent("hello, my maize has worms") is None
    assert keywords.is_followup("and for beans?") and keywords.is_followup("na maharagwe je?")
    assert not keywords.is_followup("and") and not keywords.is_followup("how do I plant beans in a dry season here")
