"""Changing a person's role or sign-in: the rules that keep the team manageable.

Nobody changes their own account here; only a superuser changes a superuser; and no change
may leave the team without an active manager. The last rule is judged with every active
account locked, so two managers demoting each other at once cannot both succeed.
"""

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q

from leads.roles import MANAGER, ROLES, set_user_role


class PersonChangeRefused(Exception):
    """A change these rules forbid; the message is a sentence for the person who asked."""


def active_managers() -> Any:
    """Accounts that can sign in and act as managers (superusers always are)."""
    return (
        get_user_model()
        .objects.filter(Q(is_superuser=True) | Q(groups__name=MANAGER), is_active=True)
        .distinct()
    )


def check_may_change(by: Any, person: Any, *, own: str) -> None:
    """Refuse `by` changing their own account here (`own` says why) and a superuser unless
    `by` is one (`PersonChangeRefused`)."""
    if person.pk == by.pk:
        raise PersonChangeRefused(own)
    if person.is_superuser and not by.is_superuser:
        raise PersonChangeRefused(
            f"{person.get_username()} is a superuser: only a superuser can change them."
        )


def change_person(by: Any, person: Any, *, role: str, is_active: bool) -> None:
    """Give `person` `role` and set whether they can sign in, as `by` asks.

    Raises `PersonChangeRefused` for one's own account, for a superuser unless `by` is one,
    and for a change after which no active manager would be left.
    """
    if role not in ROLES:
        raise ValueError(f"Unknown role: {role!r}")
    check_may_change(by, person, own="You cannot change your own role or switch yourself off.")
    with transaction.atomic():
        # Lock every active account: concurrent changes are judged one after the other.
        list(
            get_user_model()
            .objects.select_for_update()
            .filter(is_active=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        stays_manager = is_active and (person.is_superuser or role == MANAGER)
        if not stays_manager and not active_managers().exclude(pk=person.pk).exists():
            raise PersonChangeRefused(
                f"{person.get_username()} is the last manager; make someone else a manager first."
            )
        set_user_role(person, role)
        if person.is_active != is_active:
            person.is_active = is_active
            person.save(update_fields=["is_active"])
