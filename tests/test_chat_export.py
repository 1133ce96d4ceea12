"""WhatsApp chat exports (CONTRACT §3): parsing every format, importing, the command and page."""

import hashlib
import io
import zipfile
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client

from leads.chat_export import (
    MAX_MESSAGE_CHARS,
    ChatExportError,
    parse_chat_text,
    read_chat_export,
)
from leads.chat_import import import_chat_export
from leads.detection import GroupMessageIn, ingest_group_message
from leads.models import GroupMessage, Lead
from leads.roles import MANAGER, set_user_role
from tests.factories import make_group, make_session

UTC = ZoneInfo("UTC")
LRM = "\u200e"

IOS_24H = f"""\
{LRM}[25/12/2023, 14:03:51] Real Estate IL: {LRM}Messages and calls are end-to-end encrypted. \
No one outside of this chat, not even WhatsApp, can read or listen to them.
{LRM}[25/12/2023, 14:03:51] Real Estate IL: {LRM}Dana Levi created this group
[25/12/2023, 14:05:10] Dana Levi: Looking for a 3-bedroom
in Haifa, what's the price?
[25/12/2023, 14:06:00] \u202a+972 52\u2011123\u20114567\u202c: מחיר?
{LRM}[25/12/2023, 14:07:00] Ron: {LRM}image omitted
[26/12/2023, 09:00:00] Ron: Good morning
"""

IOS_12H = """\
[1/9/24, 2:04:31 PM] Dana Levi: price?
[1/9/24, 12:15:00 AM] Ron: after midnight
[1/10/24, 12:30:00 PM] Ron: noon
"""

ANDROID_24H = """\
25/12/2023, 14:03 - Messages and calls are end-to-end encrypted. No one outside of this chat, \
not even WhatsApp, can read or listen to them. Tap to learn more.
25/12/2023, 14:04 - Dana Levi created group "Real Estate: IL"
25/12/2023, 14:05 - Dana Levi: what's the price?
25/12/2023, 14:06 - Dana Levi: <Media omitted>
25/12/2023, 14:07 - Ron joined using this group's invite link
25/12/2023, 14:08 - Ron: hi all
"""

ANDROID_12H = """\
12/25/23, 2:03\u202fPM - +972 52-123-4567: price?
12/25/23, 11:59\u202fPM - Dana Levi: late
"""


def parse(text: str):
    return parse_chat_text(text, UTC)


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# --- Formats -------------------------------------------------------------------------------


def test_it_reads_an_ios_export_with_direction_marks_and_continuation_lines():
    export = parse(IOS_24H)

    assert [(m.sender, m.sender_phone, m.text) for m in export.messages] == [
        ("Dana Levi", None, "Looking for a 3-bedroom\nin Haifa, what's the price?"),
        ("+972 52\u2011123\u20114567", "+972521234567", "מחיר?"),
        ("Ron", None, "Good morning"),
    ]
    assert export.messages[0].sent_at == at(2023, 12, 25, 14, 5, 10)
    assert export.messages[0].line_number == 3
    assert export.system_lines == 3  # encryption notice, group created, image omitted
    assert export.unparseable == ()


def test_it_reads_an_ios_export_on_a_12_hour_clock():
    export = parse(IOS_12H)

    assert [m.sent_at for m in export.messages] == [
        at(2024, 1, 9, 14, 4, 31),
        at(2024, 1, 9, 0, 15),
        at(2024, 1, 10, 12, 30),
    ]
    assert export.date_order == "month/day"


def test_it_reads_an_android_export_and_skips_its_system_lines():
    export = parse(ANDROID_24H)

    assert [(m.sender, m.text, m.sent_at) for m in export.messages] == [
        ("Dana Levi", "what's the price?", at(2023, 12, 25, 14, 5)),
        ("Ron", "hi all", at(2023, 12, 25, 14, 8)),
    ]
    assert export.system_lines == 4
    assert export.date_order == "day/month"


def test_it_reads_an_android_export_with_a_narrow_space_before_pm_and_phone_senders():
    export = parse(ANDROID_12H)

    assert [(m.sender_phone, m.sent_at) for m in export.messages] == [
        ("+972521234567", at(2023, 12, 25, 14, 3)),
        (None, at(2023, 12, 25, 23, 59)),
    ]
    assert export.date_order == "month/day"


def test_it_reads_windows_line_endings_and_a_byte_order_mark():
    data = ("\ufeff" + ANDROID_24H.replace("\n", "\r\n")).encode()

    export = read_chat_export(data, UTC)

    assert [m.text for m in export.messages] == ["what's the price?", "hi all"]


def test_it_reads_dotted_dates_and_four_digit_years_first():
    dotted = parse("25.12.23, 14:05 - Dana: price?\n")
    iso = parse("2023-12-25, 14:05 - Dana: price?\n")

    assert dotted.messages[0].sent_at == iso.messages[0].sent_at == at(2023, 12, 25, 14, 5)


def test_a_phone_without_country_code_stays_a_name():
    export = parse("25/12/2023, 14:05 - 052-123-4567: price?\n")

    [message] = export.messages
    assert (message.sender, message.sender_phone) == ("052-123-4567", None)


def test_the_edited_marker_is_not_part_of_the_text():
    export = parse("25/12/2023, 14:05 - Dana: price? <This message was edited>\n")

    assert export.messages[0].text == "price?"


# --- Day/month order -----------------------------------------------------------------------


def test_a_day_above_12_anywhere_in_the_file_settles_day_first():
    text = "03/04/2024, 10:00 - Dana: a\n05/04/2024, 10:00 - Dana: b\n13/04/2024, 10:00 - Dana: c\n"

    export = parse(text)

    assert export.date_order == "day/month"
    assert export.messages[0].sent_at == at(2024, 4, 3, 10, 0)


def test_a_second_number_above_12_settles_month_first():
    text = "03/04/2024, 10:00 - Dana: a\n04/13/2024, 10:00 - Dana: b\n"

    export = parse(text)

    assert export.date_order == "month/day"
    assert export.messages[0].sent_at == at(2024, 3, 4, 10, 0)


def test_without_a_day_above_12_the_order_that_runs_forward_in_time_wins():
    # Read day-first these run 1 Feb, 1 Mar, 2 Mar; month-first they would jump back and forth.
    text = "01/02/2024, 10:00 - Dana: a\n01/03/2024, 10:00 - Dana: b\n02/03/2024, 10:00 - Dana: c\n"

    assert parse(text).date_order == "day/month"


def test_a_fully_ambiguous_24_hour_file_reads_day_first():
    assert parse("01/02/2024, 10:00 - Dana: a\n").date_order == "day/month"


# --- Lines that cannot be read -------------------------------------------------------------


def test_it_reports_unparseable_lines_with_their_numbers():
    text = (
        "exported by a script\n"
        "\n"
        "25/12/2023, 14:05 - Dana: price?\n"
        "32/13/2023, 14:05 - Dana: no such day\n"
        "25/12/2023, 14:06 - Ron: ok\n"
    )

    export = parse(text)

    assert [(line.line_number, line.text) for line in export.unparseable] == [
        (1, "exported by a script"),
        (4, "32/13/2023, 14:05 - Dana: no such day"),
    ]
    assert [m.text for m in export.messages] == ["price?", "ok"]


def test_reading_block_by_block_gives_what_the_whole_text_gives():
    # Over 64 KB of two- and four-byte characters: blocks end inside characters and lines.
    text = "".join(f"25/12/2023, 14:{n % 60:02d} - דנה: מחיר {n} 🙂\n" for n in range(3000))

    for encoding in ("utf-8", "utf-16"):
        assert read_chat_export(text.encode(encoding), UTC) == parse(text)


def test_a_message_longer_than_whatsapp_allows_is_cut():
    text = "25/12/2023, 14:05 - Dana: hi\n" + ("x" * 1000 + "\n") * 100

    (message,) = parse(text).messages

    assert MAX_MESSAGE_CHARS <= len(message.text) < MAX_MESSAGE_CHARS + 1002


def test_a_line_longer_than_a_megabyte_is_not_an_export():
    data = b"25/12/2023, 14:05 - Dana: " + b"x" * (1024 * 1024 + 10)

    with pytest.raises(ChatExportError, match="a line is longer than 1 MB"):
        read_chat_export(data, UTC)


def test_a_file_that_is_not_a_chat_export_is_refused():
    for data in [b"name,phone\nDana,+972521234567\n", b"", b"\x89PNG\r\n\x1a\n\x00\x00\x00"]:
        with pytest.raises(ChatExportError, match="not a WhatsApp chat export"):
            read_chat_export(data, UTC)


# --- Zip files -----------------------------------------------------------------------------


def zipped(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_it_reads_the_chat_inside_a_zip():
    export = read_chat_export(zipped({"_chat.txt": IOS_24H, "notes.txt": "hi"}), UTC)

    assert len(export.messages) == 3


def test_it_reads_a_zip_holding_one_txt_whatever_its_name():
    export = read_chat_export(zipped({"WhatsApp Chat with Real Estate IL.txt": ANDROID_24H}), UTC)

    assert len(export.messages) == 2


def test_it_refuses_a_zip_without_exactly_one_chat():
    for files in [{"photo.jpg": "x"}, {"a.txt": ANDROID_24H, "b.txt": ANDROID_24H}]:
        with pytest.raises(ChatExportError, match="exactly one chat"):
            read_chat_export(zipped(files), UTC)


def test_it_refuses_a_broken_zip():
    with pytest.raises(ChatExportError, match="cannot be read"):
        read_chat_export(b"PK\x03\x04 truncated", UTC)


# --- Importing -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_import_runs_detection_and_reports_what_it_found():
    group = make_group(keywords=["price", "מחיר"])

    report = import_chat_export(group, IOS_24H.encode())

    assert (report.messages_read, report.members_seen, report.leads_created) == (3, 3, 2)
    assert (report.already_imported, report.system_lines, report.unparseable) == (0, 3, ())
    by_name = {lead.contact_name: lead for lead in Lead.objects.filter(source_group=group)}
    assert by_name["Dana Levi"].matched_keyword == "price"
    assert by_name["Dana Levi"].contact_phone is None
    expected_jid = "import:" + hashlib.sha1(b"Dana Levi").hexdigest()  # noqa: S324
    assert by_name["Dana Levi"].contact_jid == expected_jid
    assert by_name[None].contact_phone == "+972521234567"
    assert by_name[None].contact_jid == "972521234567@c.us"
    assert GroupMessage.objects.filter(group=group).count() == 3


@pytest.mark.django_db
def test_importing_the_same_file_twice_creates_nothing_new():
    group = make_group(keywords=["price"])
    import_chat_export(group, ANDROID_24H.encode())

    again = import_chat_export(group, ANDROID_24H.encode())

    assert (again.leads_created, again.already_imported) == (0, 2)
    assert GroupMessage.objects.filter(group=group).count() == 2
    assert Lead.objects.get().message_count == 1


@pytest.mark.django_db
def test_a_later_export_that_overlaps_adds_only_the_new_messages():
    group = make_group(keywords=["price"])
    import_chat_export(group, ANDROID_24H.encode())
    later = ANDROID_24H + "26/12/2023, 09:00 - Dana Levi: price for 2 rooms?\n"

    report = import_chat_export(group, later.encode())

    assert (report.already_imported, report.leads_created) == (2, 0)
    assert Lead.objects.get().message_count == 2


@pytest.mark.django_db
def test_the_same_words_sent_twice_in_one_minute_are_two_messages():
    group = make_group(mode="all", keywords=[])
    text = "25/12/2023, 14:05 - Dana: ok\n25/12/2023, 14:05 - Dana: ok\n"

    import_chat_export(group, text.encode())
    import_chat_export(group, text.encode())

    assert GroupMessage.objects.filter(group=group).count() == 2
    assert Lead.objects.get().message_count == 2


@pytest.mark.django_db
def test_an_imported_phone_meets_the_same_contacts_live_lead():
    group = make_group(keywords=["price"])
    live = GroupMessageIn(
        wa_message_id="live-1",
        sender_jid="972521234567@c.us",
        sender_phone="+972521234567",
        sender_name="Dana",
        body="price?",
        sent_at=at(2024, 1, 1, 10, 0),
    )
    ingest_group_message(group, live)

    import_chat_export(group, ANDROID_12H.encode())

    lead = Lead.objects.get(contact_phone="+972521234567")
    assert (lead.message_count, lead.contact_name) == (2, "Dana")


@pytest.mark.django_db
def test_the_sessions_own_messages_in_an_export_are_not_leads():
    session = make_session()
    session.phone_number = "+972521234567"
    session.save()
    group = make_group(session, keywords=["price"])

    report = import_chat_export(group, ANDROID_12H.encode())

    assert report.leads_created == 0
    assert GroupMessage.objects.filter(group=group, from_me=True).count() == 1


@pytest.mark.django_db
def test_first_message_mode_takes_each_members_earliest_exported_message():
    group = make_group(mode="first_message", keywords=[])

    report = import_chat_export(group, IOS_24H.encode())

    assert report.leads_created == 3
    ron = Lead.objects.get(contact_name="Ron")
    assert ron.message_preview == "Good morning"


@pytest.mark.django_db
def test_a_file_that_is_not_an_export_creates_nothing():
    group = make_group(keywords=["price"])

    with pytest.raises(ChatExportError):
        import_chat_export(group, b"just some notes about the price\n")

    assert not GroupMessage.objects.exists()
    assert not Lead.objects.exists()


# --- The command ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_command_imports_a_file_and_prints_the_report(tmp_path, capsys):
    group = make_group(keywords=["price"])
    path = tmp_path / "chat.txt"
    path.write_text(
        "exported by a script\n" + ANDROID_24H + "99/99/2023, 10:00 - Ron: ?\n", encoding="utf-8"
    )

    call_command("import_chat", str(path), "--group", group.wa_group_id)

    out = capsys.readouterr().out
    assert "Messages read: 2" in out
    assert "Members seen: 2" in out
    assert "Leads created: 1" in out
    assert "Unparseable lines: 2" in out
    assert "line 1: exported by a script" in out
    assert "line 8: 99/99/2023, 10:00 - Ron: ?" in out


@pytest.mark.django_db
def test_the_command_refuses_an_unknown_group_or_a_file_that_is_not_an_export(tmp_path):
    group = make_group(keywords=["price"])
    path = tmp_path / "notes.txt"
    path.write_text("hello\n", encoding="utf-8")

    with pytest.raises(CommandError, match="No monitored group"):
        call_command("import_chat", str(path), "--group", "1@g.us")
    with pytest.raises(CommandError, match="not a WhatsApp chat export"):
        call_command("import_chat", str(path), "--group", group.wa_group_id)
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_chat", str(tmp_path / "missing.txt"), "--group", group.wa_group_id)


# --- The upload page -----------------------------------------------------------------------


@pytest.fixture
def staff(db) -> Client:
    user = get_user_model().objects.create_user("manager", is_staff=True)
    set_user_role(user, MANAGER)
    client = Client()
    client.force_login(user)
    return client


def upload(client: Client, group, name: str, data: bytes):
    """Upload an export, run the import it queued, and open its page."""
    response = client.post(
        "/settings/import/", {"group": str(group.pk), "file": SimpleUploadedFile(name, data)}
    )
    assert response.status_code == 302
    call_command("run_imports", stdout=io.StringIO())
    return client.get(response.url)


@pytest.mark.django_db
def test_the_import_page_is_for_staff_only():
    member = get_user_model().objects.create_user("member")
    client = Client()

    assert client.get("/settings/import/").status_code == 302
    client.force_login(member)
    assert client.get("/settings/import/").status_code == 403


def test_the_import_page_shows_the_form(staff):
    group = make_group(name="Real Estate IL")

    response = staff.get("/settings/import/")

    assert response.status_code == 200
    assert 'enctype="multipart/form-data"' in response.text
    assert "Real Estate IL" in response.text
    assert group.wa_group_id in response.text


def test_uploading_an_export_shows_the_report(staff):
    group = make_group(name="Real Estate IL", keywords=["price"])
    text = "exported by a script\n" + ANDROID_24H

    response = upload(staff, group, "WhatsApp Chat.txt", text.encode())

    assert response.status_code == 200
    assert "<dt>Messages read</dt><dd>2</dd>" in response.text
    assert "<dt>Leads created</dt><dd>1</dd>" in response.text
    assert "exported by a script" in response.text
    assert Lead.objects.filter(source_group=group).count() == 1


def test_uploading_a_zip_works_like_the_txt(staff):
    group = make_group(keywords=["price"])

    response = upload(staff, group, "chat.zip", zipped({"_chat.txt": ANDROID_24H}))

    assert response.status_code == 200
    assert Lead.objects.count() == 1


def test_uploading_a_file_that_is_not_an_export_says_so_and_creates_nothing(staff):
    group = make_group(keywords=["price"])

    response = upload(staff, group, "photo.png", b"\x89PNG\r\n\x1a\n\x00\x00")

    assert 'data-state="failed"' in response.text
    assert "not a WhatsApp chat export" in response.text
    assert not GroupMessage.objects.exists()


def test_the_report_escapes_what_members_wrote(staff):
    group = make_group(keywords=["price"])
    text = "<script>alert(1)</script>\n" + ANDROID_24H

    response = upload(staff, group, "chat.txt", text.encode())

    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
