"""The team the sales-work tests share: people with a role, and a client signed in as one."""

from django.contrib.auth.models import User
from django.test import Client

from leads.roles import set_user_role


def person(username: str, role: str, first_name: str = "") -> User:
    user = User.objects.create_user(username, password="pw", first_name=first_name)
    set_user_role(user, role)
    return user


def signed_in(user: User, **options: bool) -> Client:
    client = Client(**options)
    client.force_login(user)
    return client
