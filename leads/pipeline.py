"""The lead status pipeline: the one transition table everything obeys.

This module is the only place a transition is spelled out. Models, services, the API,
bulk actions, the board's drop targets and the tests all read `TRANSITIONS`. It imports
nothing from the project.
"""

from enum import StrEnum


class Status(StrEnum):
    NEW = "new"
    CONTACTED = "contacted"
    QUALIFIED = "qualified"
    CONVERTED = "converted"
    LOST = "lost"


# Pipeline order, for columns, filters and menus.
STATUSES: tuple[Status, ...] = tuple(Status)

TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.CONTACTED, Status.QUALIFIED, Status.CONVERTED, Status.LOST}),
    Status.CONTACTED: frozenset({Status.QUALIFIED, Status.CONVERTED, Status.LOST}),
    Status.QUALIFIED: frozenset({Status.CONVERTED, Status.LOST}),
    Status.CONVERTED: frozenset(),
    Status.LOST: frozenset({Status.NEW}),
}


class InvalidTransition(Exception):
    """A move the table does not allow, from the status the lead really has."""

    def __init__(self, current: str, target: str) -> None:
        self.current = current
        self.target = target
        super().__init__(f"Invalid status transition: {current} -> {target}")


def is_status(value: str) -> bool:
    """True when `value` names a pipeline status."""
    return value in Status._value2member_map_


def can_transition(current: str, target: str) -> bool:
    """True when the table allows moving a lead from `current` to `target`."""
    if not (is_status(current) and is_status(target)):
        return False
    return Status(target) in TRANSITIONS[Status(current)]


def check_transition(current: str, target: str) -> None:
    """Raise `InvalidTransition` unless `current -> target` is allowed."""
    if not can_transition(current, target):
        raise InvalidTransition(current, target)


def allowed_targets(current: str) -> list[Status]:
    """The statuses a lead in `current` may move to, in pipeline order."""
    targets = TRANSITIONS.get(Status(current), frozenset()) if is_status(current) else frozenset()
    return [status for status in STATUSES if status in targets]


def sources_of(target: str) -> list[Status]:
    """The statuses from which a lead may move to `target` (the bulk-move filter)."""
    return [status for status in STATUSES if can_transition(status, target)]


def is_terminal(status: str) -> bool:
    """True for a status with no way out (`converted`)."""
    return is_status(status) and not TRANSITIONS[Status(status)]


def refusal_reason(current: str, target: str) -> str:
    """A short sentence for a person on why `current -> target` is refused."""
    if current == target:
        return f"already {current}"
    if is_terminal(current):
        return f"{current} is final"
    return f"{current} cannot move to {target}"
