"""Chat-export imports as background jobs: queued by the upload page, run by the app itself.

The uploaded file is kept in the database in pieces of `UPLOAD_PIECE_BYTES` — the one store
every app process shares, so whichever process picks the job up can read it — and read back
one piece at a time. No extra service runs the jobs: a worker thread starts in whichever
process queues a job or shows one (`start_worker`), or `manage.py run_imports` runs them.

A worker claims a job atomically (`SELECT … FOR UPDATE SKIP LOCKED` where the database has
it, and always a conditional UPDATE that only one claimer can win), and holds it by a lease it
renews as it reads the file and with every chunk it commits. A lease that lapses means the
worker died: the next worker resumes after the messages already committed (their counts are
committed with them), so the report is that of one clean run. A job interrupted
`MAX_ATTEMPTS` times, or stopped by an unexpected error that often, ends "failed".
"""

import dataclasses
import io
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import connections, reset_queries, transaction
from django.db.models import F, Q
from django.utils import timezone

from leads.chat_export import ChatExportError, UnparseableLine
from leads.chat_import import ImportProgress, ImportReport, import_chat_export
from leads.models import ImportJob, ImportState, ImportUploadChunk, MonitoredGroup

logger = logging.getLogger(__name__)

UPLOAD_PIECE_BYTES = 1024 * 1024
LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 3
# Reading the file without committing chunks (the first pass, or skipping what a resumed
# job had committed), the lease is renewed every this many bytes.
_RENEW_EVERY_BYTES = 1024 * 1024

Clock = Callable[[], datetime]


class LeaseLost(Exception):
    """Another worker took the job over (this one was presumed dead): stop, write nothing."""


def queue_import(group: MonitoredGroup, upload: UploadedFile, user: Any | None) -> ImportJob:
    """Store the upload piece by piece and queue its import; a worker starts once committed."""
    with transaction.atomic():
        job = ImportJob.objects.create(
            group=group,
            file_name=(upload.name or "chat.txt")[:255],
            file_size=upload.size or 0,
            started_by=user if user is not None and user.is_authenticated else None,
        )
        for seq, piece in enumerate(_pieces(upload.chunks(UPLOAD_PIECE_BYTES))):
            ImportUploadChunk.objects.create(job=job, seq=seq, data=piece)
        transaction.on_commit(start_worker)
    return job


def _pieces(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Cut into pieces of exactly `UPLOAD_PIECE_BYTES` (the last shorter), so an offset in the
    file says which piece holds it."""
    pending = bytearray()
    for chunk in chunks:
        pending += chunk
        while len(pending) >= UPLOAD_PIECE_BYTES:
            yield bytes(pending[:UPLOAD_PIECE_BYTES])
            del pending[:UPLOAD_PIECE_BYTES]
    if pending:
        yield bytes(pending)


class StoredUpload(io.RawIOBase):
    """A job's uploaded file, read from the database one piece at a time (seekable: a zip's
    directory is at its end)."""

    def __init__(self, job: ImportJob) -> None:
        self._job_id = job.pk
        self._size = job.file_size
        self._position = 0
        self._piece: tuple[int, bytes] = (-1, b"")

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        start = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, start + offset)
        return self._position

    def readinto(self, buffer: Any) -> int:
        if self._position >= self._size:
            return 0
        seq, within = divmod(self._position, UPLOAD_PIECE_BYTES)
        if self._piece[0] != seq:
            data = ImportUploadChunk.objects.values_list("data", flat=True).get(
                job_id=self._job_id, seq=seq
            )
            self._piece = (seq, bytes(data))
        piece = self._piece[1][within : within + len(buffer)]
        buffer[: len(piece)] = piece
        self._position += len(piece)
        return len(piece)


def claim_job(owner: str, now: datetime) -> ImportJob | None:
    """The oldest job waiting, or whose worker's lease has lapsed, now leased to `owner`."""
    claimable = Q(state=ImportState.QUEUED) | Q(state=ImportState.RUNNING, lease_expires_at__lt=now)
    while True:
        with transaction.atomic():
            candidate = (
                ImportJob.objects.select_for_update(skip_locked=True)
                .filter(claimable)
                .order_by("created_at", "id")
                .values_list("pk", flat=True)
                .first()
            )
            if candidate is None:
                return None
            claimed = ImportJob.objects.filter(claimable, pk=candidate).update(
                state=ImportState.RUNNING,
                lease_owner=owner,
                lease_expires_at=now + LEASE,
                attempts=F("attempts") + 1,
            )
        if claimed:
            return ImportJob.objects.select_related("group__session").get(pk=candidate)


class _Lease:
    """The running job's tracker: renews the lease and records progress, or raises
    `LeaseLost` when the job is no longer this worker's."""

    def __init__(self, job: ImportJob, owner: str, clock: Clock) -> None:
        self._job_id = job.pk
        self._owner = owner
        self._clock = clock
        self._renewed_at_byte = 0

    def checking(self, bytes_read: int, total: int) -> None:
        if bytes_read - self._renewed_at_byte < _RENEW_EVERY_BYTES and bytes_read < total:
            return
        # The second pass reads from the start again.
        self._renewed_at_byte = 0 if bytes_read >= total else bytes_read
        self._renew(bytes_checked=bytes_read, text_bytes=total)

    def reading(self, bytes_read: int) -> None:
        # Resuming skips what is committed, reading it without committing: keep the lease.
        if bytes_read - self._renewed_at_byte >= _RENEW_EVERY_BYTES:
            self._renewed_at_byte = bytes_read
            self._renew()

    def chunk_done(self, progress: ImportProgress) -> None:
        reset_queries()  # with DEBUG on, a worker's query log would grow for the whole import
        self._renew(
            messages_done=progress.messages,
            leads_created=progress.leads_created,
            already_imported=progress.already_imported,
            bytes_imported=progress.bytes_read,
        )

    def _renew(self, **fields: int) -> None:
        renewed = ImportJob.objects.filter(
            pk=self._job_id, state=ImportState.RUNNING, lease_owner=self._owner
        ).update(lease_expires_at=self._clock() + LEASE, **fields)
        if not renewed:
            raise LeaseLost


def run_job(job: ImportJob, owner: str, clock: Clock = timezone.now) -> None:
    """Import a claimed job's file, resuming after what earlier attempts committed."""
    if job.attempts > MAX_ATTEMPTS:
        _end(job, owner, ImportState.FAILED, error=_interrupted(job))
        return
    done = ImportProgress(
        job.messages_done, job.leads_created, job.already_imported, job.bytes_imported
    )
    upload = io.BufferedReader(StoredUpload(job), buffer_size=64 * 1024)
    try:
        report = import_chat_export(job.group, upload, tracker=_Lease(job, owner, clock), done=done)
    except LeaseLost:
        logger.warning("Import %s was taken over by another worker; %s stops.", job.pk, owner)
    except ChatExportError as error:
        _end(job, owner, ImportState.FAILED, error=str(error))
    except Exception as error:
        logger.exception("Import %s stopped by an unexpected error", job.pk)
        if job.attempts >= MAX_ATTEMPTS:
            _end(job, owner, ImportState.FAILED, error=_crashed(job, error))
        else:  # perhaps passing (the database restarting): let the next claim retry it
            ImportJob.objects.filter(pk=job.pk, lease_owner=owner).update(
                state=ImportState.QUEUED, lease_owner="", lease_expires_at=None
            )
    else:
        _end(job, owner, ImportState.DONE, report=report_json(report))


def _interrupted(job: ImportJob) -> str:
    return (
        f"The import stopped {MAX_ATTEMPTS} times before finishing (its worker was stopped or "
        f"ran out of memory). The {job.messages_done:,} messages read before that are kept; "
        "importing the file again adds only the rest."
    )


def _crashed(job: ImportJob, error: Exception) -> str:
    return (
        f"The import failed {MAX_ATTEMPTS} times with an unexpected error "
        f"({type(error).__name__}; the server log has the details). The "
        f"{job.messages_done:,} messages read before that are kept."
    )


def _end(
    job: ImportJob, owner: str, state: str, *, report: dict[str, Any] | None = None, error: str = ""
) -> None:
    with transaction.atomic():
        ended = ImportJob.objects.filter(pk=job.pk, lease_owner=owner).update(
            state=state,
            report=report,
            error=error,
            lease_expires_at=None,
            finished_at=timezone.now(),
        )
        if ended:  # the file is read for good: free its space
            ImportUploadChunk.objects.filter(job_id=job.pk).delete()


def report_json(report: ImportReport) -> dict[str, Any]:
    return dataclasses.asdict(report)


def job_report(job: ImportJob) -> ImportReport | None:
    """A finished job's report as the importer wrote it, or None before it is done."""
    if not job.report:
        return None
    fields = dict(job.report)
    fields["unparseable"] = tuple(UnparseableLine(**line) for line in fields["unparseable"])
    return ImportReport(**fields)


def run_queued_jobs(clock: Clock = timezone.now) -> list[int]:
    """Run jobs until none is waiting (or left by a dead worker); the ids of those run."""
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    ran = []
    while (job := claim_job(owner, clock())) is not None:
        run_job(job, owner, clock)
        ran.append(job.pk)
    return ran


_worker: threading.Thread | None = None
_worker_lock = threading.Lock()


def start_worker() -> None:
    """Start this process's import worker thread, unless it runs already or deployments run
    `manage.py run_imports` instead (`IMPORT_WORKER=off`)."""
    global _worker
    if not settings.IMPORT_WORKER:
        return
    with _worker_lock:
        if _worker is not None and _worker.is_alive():
            return
        _worker = threading.Thread(target=_work, name="chat-import-worker", daemon=True)
        _worker.start()


def _work() -> None:
    try:
        run_queued_jobs()
    except Exception:
        logger.exception("The import worker stopped")
    finally:
        connections.close_all()
