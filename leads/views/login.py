"""`/login/` and `/logout/`: signing in (throttled, see `leads.throttle`) and out."""

from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from leads.throttle import SignInForm
from leads.views.shared import next_url


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_page(request: HttpRequest) -> HttpResponse:
    """GET: the form. POST: sign in and go to `next`, or say why not (429 when throttled)."""
    target = next_url(request)
    if request.method == "GET" and request.user.is_authenticated:
        return redirect(target)
    form = SignInForm(request, data=request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            auth_login(request, form.get_user())
            return HttpResponseRedirect(target)
        if getattr(request, "login_lockout", None) is not None:
            status = 429  # the form says it is locked and for how long
    response = render(
        request, "registration/login.html", {"form": form, "next": target}, status=status
    )
    if status == 429:
        response["Retry-After"] = str(request.login_lockout.seconds)  # type: ignore[attr-defined]
    return response


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    """Sign out (POST only, so a link or image elsewhere cannot sign anyone out)."""
    auth_logout(request)
    messages.info(request, "You are signed out.")
    return redirect("leads:login")
