"""Who may do what: the three roles of the dashboard and the one check every view uses.

Roles are Django auth groups named `viewer`, `rep` and `manager` (created by migration
0005). A superuser counts as a manager; a signed-in user in none of the groups is a viewer;
a user in several gets the highest. `is_staff` only opens the Django admin: it grants no role.

Every dashboard view is decorated with `role_required(...)` (which implies a login), and
templates read `perms_ui` (see `leads.context_processors`) to hide what a role cannot do.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django_htmx.http import HttpResponseClientRedirect

VIEWER = "viewer"
REP = "rep"
MANAGER = "manager"
ROLES: tuple[str, ...] = (VIEWER, REP, MANAGER)
_RANK = {role: rank for rank, role in enumerate(ROLES)}

# The least role each action needs. Views and templates name actions, never roles, so moving
# an action to another role is a one-line change here.
ACTIONS: dict[str, str] = {
    "read": VIEWER,
    "change_status": REP,
    "bulk": MANAGER,
    "export": MANAGER,
    "import": MANAGER,
    "groups": MANAGER,
    "custom_groups": MANAGER,  # create, rename, delete, remove members (everyone reads)
    "api_keys": MANAGER,
    "wall_links": MANAGER,
    "users": MANAGER,
    "budget": MANAGER,  # the upstream plan's remaining requests
    # Sales work (issue 16): reps take leads and write notes; managers assign anyone.
    "take": REP,
    "notes": REP,
    "follow_up": REP,
    "message": REP,
    "templates": MANAGER,
    "auto_assign": MANAGER,
    "assign": MANAGER,
    "second_look": MANAGER,
}
ROLE_LABELS = {
    VIEWER: "viewer (reads)",
    REP: "rep (changes statuses one at a time)",
    MANAGER: "manager (bulk actions, exports, imports, groups, keys, wall links, users)",
}

# Cached on the user object for the rest of the request: templates ask many times.
_CACHE_ATTR = "_leads_role"


def user_role(user: Any) -> str | None:
    """The user's role, or None for an anonymous or inactive user."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    if user.is_superuser:
        role = MANAGER
    else:
        names = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        role = max(names, key=_RANK.__getitem__) if names else VIEWER
    setattr(user, _CACHE_ATTR, role)
    return role


def role_allows(role: str | None, needed: str) -> bool:
    """True when `role` is at least `needed`."""
    return role is not None and _RANK[role] >= _RANK[needed]


def can(user: Any, action: str) -> bool:
    """True when `user` may do `action` (a key of `ACTIONS`)."""
    return role_allows(user_role(user), ACTIONS[action])


def set_user_role(user: Any, role: str) -> None:
    """Make `role` the user's only role group (superusers stay managers whatever the group)."""
    from django.contrib.auth.models import Group

    if role not in ROLES:
        raise ValueError(f"Unknown role: {role!r}")
    current = list(user.groups.filter(name__in=ROLES))
    user.groups.remove(*current)
    group, _ = Group.objects.get_or_create(name=role)
    user.groups.add(group)
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def forbidden(request: HttpRequest, needed: str) -> HttpResponse:
    """A 403 that says which role is needed, shaped for the kind of request that asked.

    htmx requests get the `#messages` region with the explanation and an `HX-Retarget` to it
    (static/js/live.js lets htmx swap a 4xx that names its own target), so a refused click
    never replaces a table with an error page. JSON callers get `{"detail": …}`.
    """
    role = user_role(request.user) or VIEWER
    text = (
        f"You are signed in as a {role}; this needs the {needed} role. "
        "Ask a manager if you need it."
    )
    if getattr(request, "htmx", False):
        messages.error(request, text)
        # Rendered without `request`, so the region comes without its out-of-band marker:
        # it is the main content here, retargeted, not an extra beside another region.
        body = render_to_string("base.html#messages", {"messages": messages.get_messages(request)})
        response = HttpResponse(body, status=403)
        response["HX-Retarget"] = "#messages"
        response["HX-Reswap"] = "outerHTML"
        return response
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"detail": text}, status=403)
    context = {"needed": needed, "role": role, "text": text}
    return render(request, "leads/forbidden.html", context, status=403)


def not_signed_in(request: HttpRequest) -> HttpResponse:
    """The answer for a request without a session: the login page, however it was asked."""
    htmx = getattr(request, "htmx", None)
    if htmx:
        # A redirect would be followed inside the XHR and the login form swapped into a
        # region; send the whole tab to the login page instead, back here afterwards.
        current = htmx.current_url_abs_path or request.get_full_path()
        return HttpResponseClientRedirect(redirect_to_login(current).url)
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"detail": "Not signed in."}, status=401)
    return redirect_to_login(request.get_full_path())


def role_required(
    role: str,
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """A view decorator: sign-in required, then at least `role`, else a clear 403."""
    if role not in ROLES:
        raise ValueError(f"Unknown role: {role!r}")

    def decorator(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return not_signed_in(request)
            # Every active user is at least a viewer: the polls skip the groups query.
            allowed = (
                request.user.is_active
                if role == VIEWER
                else role_allows(user_role(request.user), role)
            )
            if not allowed:
                return forbidden(request, role)
            return view(request, *args, **kwargs)

        wrapped.required_role = role  # type: ignore[attr-defined]  # for tests and audits
        return wrapped

    return decorator
