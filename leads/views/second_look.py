"""`/leads/second-look/`: on-topic messages intent mode set aside, for a manager to judge.

Each row is a message that matched one of its group's keywords but did not read as a buyer's.
One click makes it a lead, another agrees with the detector; both decisions stay, labelled.
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from leads.models import SecondLookDecision, SetAsideMessage
from leads.roles import MANAGER, role_required
from leads.services import AlreadyDecided, set_aside_decide

PAGE_SIZE = 50


@role_required(MANAGER)
@require_GET
def second_look_page(request: HttpRequest) -> HttpResponse:
    """The undecided set-aside messages, newest first."""
    pending = (
        SetAsideMessage.objects.filter(decision=SecondLookDecision.PENDING)
        .select_related("message__group")
        .order_by("-id")
    )
    page = Paginator(pending, PAGE_SIZE).get_page(request.GET.get("page"))
    decided = SetAsideMessage.objects.exclude(decision=SecondLookDecision.PENDING).count()
    return render(request, "leads/second_look.html", {"page": page, "decided": decided})


@role_required(MANAGER)
@require_POST
def second_look_decide(request: HttpRequest, item_id: int) -> HttpResponse:
    """Make the set-aside message a lead (`decision=lead`) or agree it is not (`not_lead`)."""
    decision = request.POST.get("decision", "")
    if decision not in (SecondLookDecision.LEAD, SecondLookDecision.NOT_LEAD):
        messages.error(request, "Choose “Make it a lead” or “Not a lead”.")
        return redirect("leads:second-look")
    try:
        lead = set_aside_decide(item_id, decision, request.user)
    except SetAsideMessage.DoesNotExist:
        messages.error(request, "That message is no longer there.")
    except AlreadyDecided as error:
        label = SecondLookDecision(error.decision).label.lower()
        messages.warning(request, f"Someone already decided that message: {label}.")
    else:
        if lead is None:
            messages.success(request, "Kept out of the leads.")
        else:
            name = lead.contact_name or lead.contact_phone or "The contact"
            messages.success(request, f"{name} is now a lead.")
    return redirect("leads:second-look")
