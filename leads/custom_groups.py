"""Custom groups' naming rule, stated once for both sources and the mirror API.

A name is user text: NUL characters dropped, blanks trimmed, at most `NAME_MAX` characters.
Two groups may not share a name, compared casefolded and Unicode-normalised ("Hot buyers"
and "HOT BUYERS" are the same list to a person picking one from a menu).
"""

import unicodedata
import uuid
from collections.abc import Iterable

from leads.detection import clean_text

NAME_MAX = 200


def clean_group_name(text: str) -> str:
    """The name as stored: without NUL characters or surrounding blanks, cut to `NAME_MAX`."""
    return clean_text(text).strip()[:NAME_MAX].strip()


def _key(name: str) -> str:
    return unicodedata.normalize("NFKC", name).casefold()


def taken_by(
    name: str, groups: Iterable[tuple[uuid.UUID, str]], *, except_id: uuid.UUID | None = None
) -> str | None:
    """The existing group's name when `name` is already used by another group, else None."""
    key = _key(name)
    return next(
        (
            existing
            for group_id, existing in groups
            if group_id != except_id and _key(existing) == key
        ),
        None,
    )


def name_taken_message(existing: str) -> str:
    return f"A custom group named “{existing}” already exists; choose another name."
