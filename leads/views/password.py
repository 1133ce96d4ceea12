"""`/account/password/`: people change their own password; `/settings/users/<id>/password/`:
a manager sets a temporary one (the rules are in `leads.passwords`).

Both use Django's forms, so `AUTH_PASSWORD_VALIDATORS` judge every new password. Changing
one's own asks for the current password, and wrong guesses count against the same throttle
as signing in: a session left open is not a way to guess it. Someone sent here to replace a
temporary password is not asked for it again (they typed it to sign in a moment ago) but
may not keep it.
"""

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from leads.passwords import must_change_password, password_changed, set_temporary_password
from leads.people import PersonChangeRefused
from leads.roles import MANAGER, VIEWER, role_required
from leads.throttle import Lockout, client_address, count_attempt, refund
from leads.views.shared import next_url


class NewPasswordForm(SetPasswordForm):
    """Replacing a temporary password: any new one the validators accept, but not it."""

    def clean_new_password1(self) -> str:
        password: str = self.cleaned_data["new_password1"]
        if self.user.check_password(password):
            raise forms.ValidationError(
                "Choose a password of your own, not the temporary one.", code="unchanged"
            )
        return password


class OwnPasswordForm(PasswordChangeForm):
    """Changing one's own password: the current one first, throttled like signing in."""

    def __init__(self, user: Any, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().__init__(user, *args, **kwargs)
        self.request = request

    def clean_old_password(self) -> str:
        attempt = count_attempt(self.user.get_username(), client_address(self.request))
        if isinstance(attempt, Lockout):
            raise forms.ValidationError(attempt.message(), code="locked")
        password: str = super().clean_old_password()  # raises when it is wrong
        refund(attempt)
        return password


@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@require_http_methods(["GET", "POST"])
@role_required(VIEWER)
def password_page(request: HttpRequest) -> HttpResponse:
    """GET: the form. POST: change the password; this session stays, the others end."""
    user: Any = request.user  # signed in: `role_required`
    forced = must_change_password(user)
    data = request.POST if request.method == "POST" else None
    form = NewPasswordForm(user, data) if forced else OwnPasswordForm(user, request, data)
    if request.method == "POST" and form.is_valid():
        password_changed(request, form.save())
        messages.success(request, "Your password is changed; other devices are signed out.")
        return HttpResponseRedirect(next_url(request))
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "forced": forced, "next": next_url(request)}
    return render(request, "registration/password_change.html", context, status=status)


@sensitive_post_parameters("new_password1", "new_password2")
@require_http_methods(["GET", "POST"])
@role_required(MANAGER)
def user_password(request: HttpRequest, user_id: int) -> HttpResponse:
    """GET: the form. POST: set a temporary password, to be changed at the next sign-in."""
    person = get_object_or_404(get_user_model(), pk=user_id)
    form = SetPasswordForm(person, request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                set_temporary_password(request.user, person, form.cleaned_data["new_password1"])
            except PersonChangeRefused as refused:
                messages.error(request, str(refused))
                status = 403
            else:
                messages.success(
                    request,
                    f"{person.get_username()} has a temporary password now and chooses their "
                    "own at the next sign-in; they are signed out everywhere.",
                )
                return redirect("leads:users")
        else:
            status = 400
    return render(
        request, "leads/user_password.html", {"form": form, "person": person}, status=status
    )
