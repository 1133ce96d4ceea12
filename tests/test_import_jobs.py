"""Chat-export imports as background jobs (issue 12): the upload answers at once, a worker
(a thread of the app, or `manage.py run_imports`) imports in chunks, records progress with
each chunk, survives its own death, and reports."""

import io
import threading
import tracemalloc
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from leads.bench import write_sample_chat_export
from leads.chat_export import ExportFile, ExportTally, iter_messages, read_date_order
from leads.chat_import import CHUNK_SIZE
from leads.import_jobs import (
    LEASE,
    MAX_ATTEMPTS,
    UPLOAD_PIECE_BYTES,
    StoredUpload,
    claim_job,
    job_report,
    queue_import,
    run_job,
    run_queued_jobs,
)
from leads.models import GroupMessage, ImportJob, ImportState, ImportUploadChunk, Lead
from leads.roles import MANAGER, VIEWER
from tests.factories import make_group, make_import_job
from tests.people import person, signed_in

HTMX = {"HX-Request": "true", "HX-Target": "import-job"}
MESSAGES = 5 * CHUNK_SIZE + 123


def sample_export(messages: int = MESSAGES) -> bytes:
    out = io.StringIO()
    write_sample_chat_export(out, messages)
    return out.getvalue().encode()


class WorkerDied(BaseException):
    """What a killed process looks like from inside: nothing after it runs, no handler."""


def dying_clock(calls: int):
    """The worker's clock, which dies on its `calls`-th reading (mid-import, in a chunk)."""
    readings = iter(range(calls))

    def now():
        if next(readings, None) is None:
            raise WorkerDied
        return timezone.now()

    return now


@pytest.fixture
def manager_client():
    return signed_in(person("mona", MANAGER))


def upload(client, group, data: bytes, name: str = "chat.txt"):
    return client.post(
        "/settings/import/", {"group": str(group.pk), "file": SimpleUploadedFile(name, data)}
    )


# --- The upload answers at once ---------------------------------------------------------------


@pytest.mark.django_db
def test_an_upload_answers_with_the_job_page_before_anything_is_imported(manager_client):
    group = make_group(keywords=["price"])

    response = upload(manager_client, group, sample_export(200))

    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response.url == f"/settings/import/{job.pk}/"
    assert job.state == ImportState.QUEUED
    assert not GroupMessage.objects.exists()
    page = manager_client.get(response.url).text
    assert "Waiting to start" in page
    assert 'hx-trigger="every 1s"' in page  # polls itself while it runs
    assert '<noscript><meta http-equiv="refresh"' in page  # and refreshes without JavaScript
    assert f'<a href="/settings/import/{job.pk}/">Refresh</a>' in page


@pytest.mark.django_db
def test_the_queued_job_runs_and_its_page_shows_the_report_and_stops_polling(manager_client):
    group = make_group(keywords=["price"])
    response = upload(manager_client, group, sample_export(200))

    out = io.StringIO()
    call_command("run_imports", stdout=out)

    job = ImportJob.objects.get()
    assert job.state == ImportState.DONE
    assert "done. 200 messages, 4 leads created" in out.getvalue()
    page = manager_client.get(response.url).text
    assert "<dt>Messages read</dt><dd>200</dd>" in page
    assert "<dt>Leads created</dt><dd>4</dd>" in page
    assert "hx-trigger" not in page
    assert "noscript" not in page
    assert not ImportUploadChunk.objects.filter(job=job).exists()  # the file's space is freed


@pytest.mark.django_db(transaction=True)
def test_the_app_runs_an_uploaded_import_in_a_background_thread(manager_client, settings):
    settings.IMPORT_WORKER = True
    group = make_group(keywords=["price"])

    response = upload(manager_client, group, sample_export(300))

    assert response.status_code == 302
    worker = next(t for t in threading.enumerate() if t.name == "chat-import-worker")
    worker.join(timeout=50)
    job = ImportJob.objects.get()
    assert (job.state, job.messages_done, job.leads_created) == (ImportState.DONE, 300, 6)
    assert Lead.objects.filter(source_group=group).count() == 6


# --- Progress, crash and resume ----------------------------------------------------------------


@pytest.mark.django_db
def test_a_worker_that_dies_leaves_its_committed_progress_and_the_next_one_resumes():
    clean_group, crash_group = make_group(keywords=["price"]), make_group(keywords=["price"])
    data = sample_export()
    make_import_job(clean_group, data)
    run_queued_jobs()
    clean = ImportJob.objects.get(group=clean_group)
    job = make_import_job(crash_group, data)
    claimed = claim_job("worker-1", timezone.now())

    with pytest.raises(WorkerDied):
        run_job(claimed, "worker-1", clock=dying_clock(5))

    job.refresh_from_db()
    assert job.state == ImportState.RUNNING
    assert 0 < job.messages_done < MESSAGES  # progress moved, and stopped mid-file
    assert job.messages_done % CHUNK_SIZE == 0
    assert GroupMessage.objects.filter(group=crash_group).count() == job.messages_done
    assert job.bytes_checked == job.text_bytes == len(data)
    assert 0 < job.bytes_imported < len(data)
    # While its lease runs, nobody takes the job; once it lapses, the next worker resumes it.
    assert run_queued_jobs(clock=timezone.now) == []
    later = timezone.now() + LEASE + timedelta(seconds=1)
    assert run_queued_jobs(clock=lambda: later) == [job.pk]

    job.refresh_from_db()
    assert (job.state, job.attempts) == (ImportState.DONE, 2)
    assert job.report == clean.report
    assert job.report["messages_read"] == MESSAGES
    assert job.report["already_imported"] == 0
    assert GroupMessage.objects.filter(group=crash_group).count() == MESSAGES
    assert (
        Lead.objects.filter(source_group=crash_group).count()
        == Lead.objects.filter(source_group=clean_group).count()
        == clean.leads_created
    )


@pytest.mark.django_db
def test_a_running_job_page_shows_how_far_it_has_come(manager_client):
    job = make_import_job(make_group(keywords=["price"]), sample_export())
    with pytest.raises(WorkerDied):
        run_job(claim_job("worker-1", timezone.now()), "worker-1", clock=dying_clock(5))
    job.refresh_from_db()

    page = manager_client.get(f"/settings/import/{job.pk}/", headers=HTMX).text

    assert page.strip().startswith('<section id="import-job" data-state="running"')
    assert f'<progress id="import-progress" max="100" value="{job.imported_percent}">' in page
    assert 0 < job.imported_percent < 100
    assert f"<dt>Messages read</dt><dd>{job.messages_done}</dd>" in page


@pytest.mark.django_db
def test_a_job_interrupted_again_and_again_ends_failed_with_what_it_kept():
    job = make_import_job(make_group(), sample_export(50))
    ImportJob.objects.filter(pk=job.pk).update(
        state=ImportState.RUNNING,
        attempts=MAX_ATTEMPTS,
        messages_done=40,
        lease_owner="dead",
        lease_expires_at=timezone.now() - timedelta(seconds=1),
    )

    run_queued_jobs()

    job.refresh_from_db()
    assert job.state == ImportState.FAILED
    assert f"stopped {MAX_ATTEMPTS} times" in job.error
    assert "The 40 messages read before that are kept" in job.error
    assert not ImportUploadChunk.objects.filter(job=job).exists()


@pytest.mark.django_db
def test_a_file_that_is_not_an_export_ends_failed_with_why(manager_client):
    job = make_import_job(make_group(), b"just some notes about the price\n")

    run_queued_jobs()

    job.refresh_from_db()
    assert job.state == ImportState.FAILED
    assert job.error == (
        "This file is not a WhatsApp chat export: no line starts with a date and time."
    )
    assert job_report(job) is None
    assert not GroupMessage.objects.exists()
    page = manager_client.get(f"/settings/import/{job.pk}/").text
    assert "The import failed: This file is not a WhatsApp chat export" in page


@pytest.mark.django_db
def test_a_report_lists_the_first_unreadable_lines_and_counts_them_all():
    lines = "".join(f"note {n}\n" for n in range(250))
    job = make_import_job(make_group(), (lines + "01/01/2023, 08:00 - Ron: hi\n").encode())

    run_queued_jobs()

    report = job_report(ImportJob.objects.get(pk=job.pk))
    assert report.unparseable_count == 250
    assert len(report.unparseable) == 200
    assert report.unparseable[-1].text == "note 199"


# --- Memory ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_reading_a_20_mb_upload_holds_a_small_part_of_it_in_memory(tmp_path):
    path = tmp_path / "chat.txt"
    with path.open("w", encoding="utf-8") as out:
        # Long messages: 20 MB in few of them, so the test takes seconds under tracemalloc.
        write_sample_chat_export(out, 10_000, filler="listing details " * 128)
    size = path.stat().st_size
    assert size > 20_000_000
    with path.open("rb") as file:
        job = queue_import(make_group(), UploadedFile(file, "chat.txt", size=size), None)

    tracemalloc.start()
    try:
        export = ExportFile(io.BufferedReader(StoredUpload(job)))
        order = read_date_order(export.lines())
        read = sum(1 for _ in iter_messages(export.lines(), order, ExportTally()))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert read == 10_000
    # A piece of the upload or two (1 MB each) and a block being decoded: not the file.
    assert peak < 4 * UPLOAD_PIECE_BYTES < size / 5


@pytest.mark.django_db
def test_a_worker_keeps_no_query_log_of_a_whole_import_in_debug_mode(settings):
    settings.DEBUG = True  # Django logs every query then; a request's log ends with it
    make_import_job(make_group(keywords=["price"]), sample_export())

    run_queued_jobs()

    assert ImportJob.objects.get().state == ImportState.DONE
    assert len(connection.queries) < 20


@pytest.mark.django_db
def test_the_import_benchmark_runs_its_export_through_the_job():
    out = io.StringIO()

    call_command("bench_import", messages=60, stdout=out)

    assert out.getvalue().startswith("done: 60 messages (0.0 MB), 2 leads, in ")
    assert "peak RSS" in out.getvalue()


# --- Who may ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_only_managers_see_imports():
    job = make_import_job()
    viewer = signed_in(person("vera", VIEWER))

    assert viewer.get(f"/settings/import/{job.pk}/").status_code == 403
    assert viewer.get("/settings/import/").status_code == 403


@pytest.mark.django_db
def test_the_import_page_lists_recent_imports_escaping_their_names(manager_client):
    name = "<img src=x onerror=alert(1)>.txt"
    job = make_import_job(make_group(name="<b>Flats</b>"), name=name)

    page = manager_client.get("/settings/import/").text

    assert f'href="/settings/import/{job.pk}/">&lt;img src=x onerror=alert(1)&gt;.txt</a>' in page
    assert "<img" not in page
    assert "&lt;b&gt;Flats&lt;/b&gt;" in page
    assert "<b>Flats</b>" not in page
