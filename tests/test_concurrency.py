"""Races on one lead, through the HTTP API, on a real database server (PostgreSQL)."""

import threading

import pytest
from django.db import connection
from django.test import Client

from leads.models import Lead, LeadStatusChange
from tests.factories import make_api_key, make_group, make_lead

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs PostgreSQL's concurrent writers"
    ),
]

RACERS = 20


def race(calls: list) -> list:
    """Run the calls at the same moment, one thread each; their results in call order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = calls[index]()
        except Exception as error:  # reported by the assertions below
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_twenty_clients_racing_to_move_a_new_lead_leave_exactly_one_winner():
    _, raw_key = make_api_key()
    lead = make_lead(make_group(), status="new")
    targets = ["converted", "lost"] * (RACERS // 2)

    def move(target: str):
        def call():
            client = Client(headers={"X-API-Key": raw_key})
            response = client.patch(
                f"/api/v2/leads/{lead.id}/status", {"status": target}, "application/json"
            )
            return response.status_code, response.json()

        return call

    results = race([move(target) for target in targets])

    assert not [r for r in results if not isinstance(r, tuple)], results
    winners = [target for target, (code, _) in zip(targets, results, strict=True) if code == 200]
    assert len(winners) == 1, results
    [winner] = winners
    for target, (code, body) in zip(targets, results, strict=True):
        if code != 200:
            assert code == 400
            # Each loser learns the status the lead really has now, not the "new" it saw.
            assert body == {"detail": f"Invalid status transition: {winner} -> {target}"}
    assert Lead.objects.get(pk=lead.pk).lead_status == winner
    [change] = LeadStatusChange.objects.filter(lead=lead)
    assert (change.from_status, change.to_status) == ("new", winner)


def test_a_bulk_move_and_single_moves_racing_never_record_a_step_the_table_refuses():
    _, raw_key = make_api_key()
    group = make_group()
    leads = [make_lead(group, status="new") for _ in range(30)]
    ids = [str(lead.id) for lead in leads]

    def bulk(target: str):
        def call():
            client = Client(headers={"X-API-Key": raw_key})
            response = client.post(
                "/api/v2/leads/bulk/status", {"lead_ids": ids, "status": target}, "application/json"
            )
            return response.status_code, response.json()

        return call

    def single(lead_id: str, target: str):
        def call():
            client = Client(headers={"X-API-Key": raw_key})
            response = client.patch(
                f"/api/v2/leads/{lead_id}/status", {"status": target}, "application/json"
            )
            return response.status_code, response.json()

        return call

    calls = [bulk("converted"), bulk("lost")]
    calls += [single(lead_id, "contacted") for lead_id in ids[:10]]
    results = race(calls)

    assert not [r for r in results if not isinstance(r, tuple)], results
    assert {code for code, _ in results} <= {200, 400}
    for lead in leads:
        steps = list(
            LeadStatusChange.objects.filter(lead=lead)
            .order_by("changed_at", "id")
            .values_list("from_status", "to_status")
        )
        status = "new"
        for from_status, to_status in steps:
            assert from_status == status
            status = to_status
        assert Lead.objects.get(pk=lead.pk).lead_status == status
        # From new, at most: contacted, then converted or lost (never both, never after).
        assert len(steps) <= 2
