"""The status state machine (CONTRACT §1), checked against a table written out here by hand.

The expectations are deliberately not read from `leads.pipeline.TRANSITIONS`: a test that
derives its answer from the code under test cannot fail.
"""

import itertools

import pytest

from leads.pipeline import (
    STATUSES,
    TRANSITIONS,
    InvalidTransition,
    allowed_targets,
    can_transition,
    check_transition,
    is_terminal,
    refusal_reason,
    sources_of,
)
from tests.contract import ALL_STATUSES, ALLOWED_MOVES

EVERY_PAIR = list(itertools.product(ALL_STATUSES, ALL_STATUSES))
ALLOWED_PAIRS = [pair for pair in EVERY_PAIR if pair in ALLOWED_MOVES]
REFUSED_PAIRS = [pair for pair in EVERY_PAIR if pair not in ALLOWED_MOVES]


def test_the_code_allows_exactly_the_ten_moves_the_contract_lists():
    allowed_by_code = {pair for pair in EVERY_PAIR if can_transition(*pair)}
    written_in_table = {
        (str(old), str(new)) for old, targets in TRANSITIONS.items() for new in targets
    }

    assert len(EVERY_PAIR) == 25 and len(ALLOWED_MOVES) == 10
    assert allowed_by_code == set(ALLOWED_MOVES)
    assert written_in_table == set(ALLOWED_MOVES)


def test_the_pipeline_lists_the_five_statuses_in_pipeline_order():
    assert [status.value for status in STATUSES] == ALL_STATUSES


@pytest.mark.parametrize(("current", "target"), ALLOWED_PAIRS)
def test_it_allows_the_moves_the_contract_allows(current, target):
    assert can_transition(current, target) is True
    check_transition(current, target)  # does not raise


@pytest.mark.parametrize(("current", "target"), REFUSED_PAIRS)
def test_it_refuses_every_other_move(current, target):
    assert can_transition(current, target) is False
    with pytest.raises(InvalidTransition) as refused:
        check_transition(current, target)
    assert str(refused.value) == f"Invalid status transition: {current} -> {target}"
    assert (refused.value.current, refused.value.target) == (current, target)


@pytest.mark.parametrize("status", ALL_STATUSES)
def test_it_refuses_a_move_to_the_same_status(status):
    assert can_transition(status, status) is False


def test_it_refuses_moves_from_or_to_an_unknown_status():
    assert can_transition("new", "archived") is False
    assert can_transition("archived", "new") is False
    with pytest.raises(InvalidTransition, match="Invalid status transition: new -> archived"):
        check_transition("new", "archived")


@pytest.mark.parametrize(
    ("current", "targets"),
    [
        ("new", ["contacted", "qualified", "converted", "lost"]),
        ("contacted", ["qualified", "converted", "lost"]),
        ("qualified", ["converted", "lost"]),
        ("converted", []),
        ("lost", ["new"]),
        ("archived", []),
    ],
)
def test_allowed_targets_lists_where_a_lead_can_go_in_pipeline_order(current, targets):
    assert allowed_targets(current) == targets


@pytest.mark.parametrize(
    ("target", "sources"),
    [
        ("new", ["lost"]),
        ("contacted", ["new"]),
        ("qualified", ["new", "contacted"]),
        ("converted", ["new", "contacted", "qualified"]),
        ("lost", ["new", "contacted", "qualified"]),
        ("archived", []),
    ],
)
def test_sources_of_lists_where_a_lead_can_come_from(target, sources):
    assert sources_of(target) == sources


def test_only_converted_is_terminal():
    assert [status for status in ALL_STATUSES if is_terminal(status)] == ["converted"]
    assert is_terminal("archived") is False


@pytest.mark.parametrize(
    ("current", "target", "reason"),
    [
        ("new", "new", "already new"),
        ("lost", "lost", "already lost"),
        ("converted", "converted", "already converted"),
        ("converted", "lost", "converted is final"),
        ("converted", "new", "converted is final"),
        ("qualified", "new", "qualified cannot move to new"),
        ("contacted", "new", "contacted cannot move to new"),
        ("lost", "contacted", "lost cannot move to contacted"),
    ],
)
def test_refusal_reason_says_why_in_a_few_words(current, target, reason):
    assert refusal_reason(current, target) == reason
