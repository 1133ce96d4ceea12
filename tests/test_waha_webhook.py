"""`POST /webhooks/waha`: signed, idempotent ingest of WAHA events (CONTRACT §2)."""

import hashlib
import hmac
import json
import threading

import pytest
from django.db import connection
from django.test import Client

from leads.models import GroupMessage, InboundMessage, Lead, SeenGroup, Session
from leads.waha import sign, signature_is_valid
from tests.factories import make_group, make_session
from tests.webhooks import body_of, waha_headers

URL = "/webhooks/waha"
SECRET = "waha-test-secret"
# A fixed body and the HMAC-SHA512 of it under SECRET, computed once with Python's hmac module.
KNOWN_BODY = b'{"event":"session.status","session":"default","payload":{"status":"WORKING"}}'
KNOWN_SHA512 = (
    "d6556e28f1ce79a11bb3545f1a478bf53c002c7487fb191539e7448d6de63608"
    "a88f8051b379ef678bdc64e9ce5627d099ebfebe327b43dd4c05df407ddf8d2b"
)
KNOWN_SHA256 = "c0a59a6865df44eee10a5a355eeaae86df4ac8a2f6db87065a707074ef1c65e5"


def envelope(event: str, payload: dict, session: str = "default", **extra: object) -> dict:
    return {
        "id": "evt_01HZY8",
        "timestamp": 1717000000000,
        "event": event,
        "session": session,
        "me": {"id": "15550009999@c.us", "pushName": "Sales"},
        "payload": payload,
        "engine": "WEBJS",
        "environment": {"version": "2024.6.1"},
        **extra,
    }


def group_message(
    group_jid: str,
    body: str | None,
    *,
    message_id: str = "false_120363@g.us_3EB0A1_972521234567@c.us",
    participant: str = "972521234567@c.us",
    from_me: bool = False,
    name: str | None = "Dana Levi",
) -> dict:
    data = {"notifyName": name} if name else {}
    return {
        "id": message_id,
        "timestamp": 1717000000,
        "from": group_jid,
        "fromMe": from_me,
        "to": "15550009999@c.us",
        "participant": participant,
        "body": body,
        "hasMedia": body is None,
        "_data": data,
    }


def post(client: Client, data: object, *, signed: bool = True, **headers: str):
    """POST `data`, signed with the configured secret unless headers are given or not `signed`."""
    body = body_of(data)
    if signed and not headers:
        headers = waha_headers(body)
    return client.post(URL, body, content_type="application/json", headers=headers)


@pytest.fixture
def client() -> Client:
    return Client()


@pytest.fixture
def stopped(db) -> Session:
    """The session "default", configured and not yet running."""
    return Session.objects.create(name="default", status="STOPPED")


@pytest.fixture
def group(db):
    group = make_group(make_session("default"), keywords=["price", "מחיר"])
    return group


# --- Signatures ----------------------------------------------------------------------------


def test_the_signature_is_the_hex_hmac_of_the_raw_body():
    expected = hmac.new(SECRET.encode(), KNOWN_BODY, hashlib.sha512).hexdigest()

    assert sign(SECRET, KNOWN_BODY) == expected == KNOWN_SHA512
    assert sign(SECRET, KNOWN_BODY, "sha256") == KNOWN_SHA256
    assert signature_is_valid(SECRET, KNOWN_BODY, KNOWN_SHA512, "sha512")
    assert signature_is_valid(SECRET, KNOWN_BODY, KNOWN_SHA512.upper(), None)
    assert not signature_is_valid(SECRET, KNOWN_BODY + b" ", KNOWN_SHA512, "sha512")
    assert not signature_is_valid("other-secret", KNOWN_BODY, KNOWN_SHA512, "sha512")
    assert not signature_is_valid(SECRET, KNOWN_BODY, "é" * 128, "sha512")


@pytest.mark.django_db
def test_it_accepts_a_correctly_signed_event(client, stopped, settings):
    settings.WAHA_WEBHOOK_SECRET = SECRET

    response = post(
        client, KNOWN_BODY, X_Webhook_Hmac=KNOWN_SHA512, X_Webhook_Hmac_Algorithm="sha512"
    )

    assert response.status_code == 200
    assert Session.objects.get(name="default").status == "WORKING"


@pytest.mark.django_db
def test_it_takes_sha512_when_the_algorithm_header_is_missing(client, stopped, settings):
    settings.WAHA_WEBHOOK_SECRET = SECRET

    response = post(client, KNOWN_BODY, X_Webhook_Hmac=KNOWN_SHA512)

    assert response.status_code == 200


@pytest.mark.django_db
def test_it_accepts_sha256_when_the_header_names_it(client, stopped, settings):
    settings.WAHA_WEBHOOK_SECRET = SECRET

    response = post(
        client, KNOWN_BODY, X_Webhook_Hmac=KNOWN_SHA256, X_Webhook_Hmac_Algorithm="sha256"
    )

    assert response.status_code == 200


@pytest.mark.django_db
def test_it_rejects_a_wrong_signature_and_changes_nothing(client, settings):
    settings.WAHA_WEBHOOK_SECRET = SECRET

    response = post(client, KNOWN_BODY, X_Webhook_Hmac="0" * 128)

    assert response.status_code == 401
    assert "signature" in response.json()["detail"]
    assert not Session.objects.exists()


@pytest.mark.django_db
def test_it_rejects_a_missing_signature(client, settings):
    settings.WAHA_WEBHOOK_SECRET = SECRET

    response = post(client, KNOWN_BODY, signed=False)

    assert response.status_code == 401
    assert not Session.objects.exists()


@pytest.mark.django_db
def test_it_rejects_a_signature_of_the_body_reformatted(client, settings):
    settings.WAHA_WEBHOOK_SECRET = SECRET
    reformatted = json.dumps(json.loads(KNOWN_BODY), indent=2).encode()

    response = post(client, reformatted, X_Webhook_Hmac=KNOWN_SHA512)

    assert response.status_code == 401


@pytest.mark.django_db
def test_it_rejects_an_algorithm_it_does_not_know(client, settings):
    settings.WAHA_WEBHOOK_SECRET = SECRET
    md5 = hmac.new(SECRET.encode(), KNOWN_BODY, hashlib.md5).hexdigest()

    response = post(client, KNOWN_BODY, X_Webhook_Hmac=md5, X_Webhook_Hmac_Algorithm="md5")

    assert response.status_code == 401


@pytest.mark.django_db
def test_a_signed_message_event_makes_a_lead(client, settings, group):
    settings.WAHA_WEBHOOK_SECRET = SECRET
    body = json.dumps(envelope("message", group_message(group.wa_group_id, "price?"))).encode()

    response = post(client, body, X_Webhook_Hmac=sign(SECRET, body))

    assert response.status_code == 200
    assert Lead.objects.filter(source_group=group).count() == 1


@pytest.mark.django_db
def test_without_a_secret_it_refuses_every_event_and_says_why(client, settings, stopped):
    settings.WAHA_WEBHOOK_SECRET = ""

    unsigned = post(client, KNOWN_BODY, signed=False)
    signed_with_nothing = post(client, KNOWN_BODY, X_Webhook_Hmac=sign("", KNOWN_BODY))

    for response in (unsigned, signed_with_nothing):
        assert response.status_code == 403
        assert "WAHA_WEBHOOK_SECRET is not set" in response.json()["detail"]
    assert Session.objects.get().status == "STOPPED"


# --- Bad input -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_answers_malformed_json_with_400(client):
    for body in [b"{not json", b"", b"\xff\xfe", b"[" * 100_000]:
        response = post(client, body)

        assert response.status_code == 400
        assert response.json() == {"detail": "The body is not valid JSON."}


@pytest.mark.django_db
def test_it_answers_json_that_is_not_an_event_with_400(client):
    for data in [[], "message", {"event": "message"}, envelope("message", "not an object")]:
        response = post(client, data)

        assert response.status_code == 400
        assert response.json()["detail"]
    assert not Session.objects.exists()


@pytest.mark.django_db
def test_it_answers_a_message_without_an_id_or_sender_with_400(client, group):
    no_id = group_message(group.wa_group_id, "price?")
    del no_id["id"]
    no_participant = group_message(group.wa_group_id, "price?")
    del no_participant["participant"]

    for payload in [no_id, no_participant, {**no_id, "id": 12}]:
        assert post(client, envelope("message", payload)).status_code == 400
    assert not Lead.objects.exists()


@pytest.mark.django_db
def test_it_refuses_a_body_over_one_mebibyte_with_413(client, settings):
    settings.WAHA_WEBHOOK_SECRET = SECRET
    big = json.dumps(envelope("message", {"body": "x" * (1024 * 1024)})).encode()

    response = post(client, big, X_Webhook_Hmac=sign(SECRET, big))

    assert response.status_code == 413
    assert "detail" in response.json()


@pytest.mark.django_db
def test_it_ignores_events_it_does_not_use(client):
    response = post(client, envelope("presence.update", {"id": "x"}))

    assert response.status_code == 200
    assert response.json() == {"status": "ignored"}
    assert not Session.objects.exists()


def test_it_refuses_get(client):
    assert client.get(URL).status_code == 405


@pytest.mark.django_db
def test_a_status_a_newer_waha_invented_is_kept_as_sent(client, stopped):
    response = post(client, envelope("session.status", {"status": "PAIRING_CODE"}))

    assert response.status_code == 200
    assert Session.objects.get(name="default").status == "PAIRING_CODE"


@pytest.mark.django_db
def test_a_session_status_that_is_not_one_is_a_400(client):
    response = post(client, envelope("session.status", {"status": "<b>working</b>"}))

    assert response.status_code == 400


# --- Sessions ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_event_for_an_unknown_session_is_refused_and_creates_nothing(client):
    for event in [
        envelope("session.status", {"status": "SCAN_QR_CODE"}, "sales-2"),
        envelope("message", group_message("120363000000000001@g.us", "price?"), "sales-2"),
    ]:
        response = post(client, event)

        assert response.status_code == 404
        assert "No session named 'sales-2'" in response.json()["detail"]
    assert not Session.objects.exists()
    assert not SeenGroup.objects.exists()


@pytest.mark.django_db
def test_the_sessions_number_is_learnt_once_and_not_replaced(client, stopped):
    post(client, envelope("session.status", {"status": "WORKING"}))
    other = {**envelope("session.status", {"status": "WORKING"}), "me": {"id": "15551112222@c.us"}}

    post(client, other)

    stopped.refresh_from_db()
    assert (stopped.me_jid, stopped.phone_number) == ("15550009999@c.us", "+15550009999")


@pytest.mark.django_db
def test_session_status_events_update_the_session(client):
    make_session("default")

    for status in ["STARTING", "WORKING", "FAILED"]:
        post(client, envelope("session.status", {"status": status}))

        assert Session.objects.get(name="default").status == status
    assert Session.objects.count() == 1


# --- Group messages ------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_keyword_message_in_a_monitored_group_becomes_a_lead(client, group):
    response = post(client, envelope("message", group_message(group.wa_group_id, "What price?")))

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "result": "lead_created"}
    lead = Lead.objects.get()
    assert (lead.contact_phone, lead.contact_jid, lead.contact_name, lead.matched_keyword) == (
        "+972521234567",
        "972521234567@c.us",
        "Dana Levi",
        "price",
    )
    stored = GroupMessage.objects.get()
    assert (stored.sender_phone, stored.body) == ("+972521234567", "What price?")


@pytest.mark.django_db
def test_the_sender_name_falls_back_to_push_name(client, group):
    payload = group_message(group.wa_group_id, "price?", name=None)
    payload["_data"] = {"pushName": "Ron"}

    post(client, envelope("message", payload))

    assert Lead.objects.get().contact_name == "Ron"


@pytest.mark.django_db
def test_a_replayed_delivery_creates_nothing_new_and_counts_once(client, group):
    first = group_message(group.wa_group_id, "price?", message_id="m1")
    second = group_message(group.wa_group_id, "price again", message_id="m2")
    post(client, envelope("message", first))
    post(client, envelope("message", second))

    replay = post(client, envelope("message", second))

    assert replay.status_code == 200
    assert replay.json()["result"] == "duplicate"
    assert GroupMessage.objects.count() == 2
    assert Lead.objects.get().message_count == 2


@pytest.mark.django_db
def test_message_and_message_any_for_the_same_message_count_once(client, group):
    payload = group_message(group.wa_group_id, "price?")

    post(client, envelope("message", payload))
    post(client, envelope("message.any", payload))

    assert GroupMessage.objects.count() == 1
    assert Lead.objects.get().message_count == 1


@pytest.mark.django_db
def test_a_sender_with_a_hidden_number_becomes_a_lead_without_a_phone(client, group):
    payload = group_message(group.wa_group_id, "price?", participant="218723987482734@lid")

    post(client, envelope("message", payload))

    lead = Lead.objects.get()
    assert (lead.contact_jid, lead.contact_phone) == ("218723987482734@lid", None)


@pytest.mark.django_db
def test_the_accounts_own_messages_are_never_leads(client, group):
    own = group_message(
        group.wa_group_id, "price list attached", from_me=True, participant="15550009999@c.us"
    )
    unflagged = group_message(
        group.wa_group_id, "price?", message_id="m2", participant="15550009999@c.us"
    )

    post(client, envelope("message.any", own))
    post(client, envelope("message", unflagged))

    assert not Lead.objects.exists()
    assert GroupMessage.objects.filter(from_me=True).count() == 2


@pytest.mark.django_db
def test_what_the_account_sends_from_its_phone_is_not_a_lead_though_waha_says_not_from_me(
    client, group
):
    # WAHA issue 1005: sent from the phone, the account's own group message arrives as
    # `fromMe: false` from its hidden `@lid` id, which `me.lid` names (a device suffix too).
    me = {"id": "15550009999@c.us", "lid": "153219082764294@lid", "pushName": "Sales"}
    own = group_message(group.wa_group_id, "price list attached", participant="153219082764294@lid")
    from_a_device = group_message(
        group.wa_group_id, "price?", message_id="m2", participant="153219082764294:31@lid"
    )

    post(client, envelope("message.any", own, me=me))
    post(client, envelope("message", from_a_device, me=me))

    assert not Lead.objects.exists()
    assert GroupMessage.objects.filter(from_me=True).count() == 2


@pytest.mark.django_db
def test_a_member_with_a_hidden_number_is_still_a_lead_when_me_names_another_lid(client, group):
    me = {"id": "15550009999@c.us", "lid": "153219082764294@lid", "pushName": "Sales"}
    payload = group_message(group.wa_group_id, "price?", participant="218723987482734@lid")

    post(client, envelope("message", payload, me=me))

    assert Lead.objects.get().contact_jid == "218723987482734@lid"


@pytest.mark.django_db
def test_a_group_message_naming_its_sender_only_in_author_makes_a_lead(client, group):
    payload = group_message(group.wa_group_id, "price?")
    del payload["participant"]
    payload["author"] = "972521234567@c.us"

    response = post(client, envelope("message", payload))

    assert response.status_code == 200
    assert Lead.objects.get().contact_phone == "+972521234567"


@pytest.mark.django_db
def test_media_emoji_and_right_to_left_messages_do_not_break_ingest(client, group):
    messages = [
        group_message(group.wa_group_id, None, message_id="media"),
        group_message(group.wa_group_id, "", message_id="empty"),
        group_message(group.wa_group_id, "👍🙏😂", message_id="emoji"),
        group_message(group.wa_group_id, "\u200fמה ה\u0000מחיר? מחיר טוב", message_id="rtl"),
    ]

    responses = [post(client, envelope("message", payload)) for payload in messages]

    assert [r.status_code for r in responses] == [200, 200, 200, 200]
    assert GroupMessage.objects.count() == 4
    lead = Lead.objects.get()
    assert lead.matched_keyword == "מחיר"
    assert "\x00" not in lead.message_preview


@pytest.mark.django_db
def test_a_group_that_is_not_monitored_is_recorded_as_seen_and_its_messages_are_not_kept(
    client, group
):
    other = "120363999999999999@g.us"

    post(client, envelope("message", group_message(other, "price?", message_id="a")))
    post(client, envelope("message", group_message(other, "hello", message_id="b")))

    assert not GroupMessage.objects.exists()
    assert not Lead.objects.exists()
    seen = SeenGroup.objects.get()
    assert (seen.session, seen.wa_group_id, seen.message_count) == (group.session, other, 2)


@pytest.mark.django_db
def test_a_paused_group_is_treated_as_not_monitored(client, group):
    group.is_active = False
    group.save()

    post(client, envelope("message", group_message(group.wa_group_id, "price?")))

    assert not Lead.objects.exists()
    assert SeenGroup.objects.get().wa_group_id == group.wa_group_id


@pytest.mark.django_db
def test_a_monitored_group_on_another_session_does_not_catch_this_sessions_messages(client, group):
    make_session("other")
    post(client, envelope("message", group_message(group.wa_group_id, "price?"), "other"))

    assert not Lead.objects.exists()
    assert SeenGroup.objects.get().session.name == "other"


@pytest.mark.django_db
def test_the_groups_seen_on_a_session_are_bounded(client, group, monkeypatch):
    monkeypatch.setattr("leads.monitoring.MAX_SEEN_GROUPS_PER_SESSION", 3)
    jids = [f"12036300000000{n:04d}@g.us" for n in range(5)]

    for n, jid in enumerate(jids):
        message = group_message(jid, "hello", message_id=f"m{n}")
        assert post(client, envelope("message", message)).status_code == 200
    post(client, envelope("message", group_message(jids[0], "again", message_id="m9")))

    seen = dict(SeenGroup.objects.values_list("wa_group_id", "message_count"))
    assert seen == {jids[0]: 2, jids[1]: 1, jids[2]: 1}


# --- Direct messages -----------------------------------------------------------------------


def direct_message(message_id: str = "false_972521234567@c.us_3EB0FF", from_me: bool = False):
    return {
        "id": message_id,
        "timestamp": 1717000100,
        "from": "972521234567@c.us",
        "fromMe": from_me,
        "to": "15550009999@c.us",
        "body": "Hi, saw your post",
        "hasMedia": False,
        "_data": {"notifyName": "Dana Levi"},
    }


@pytest.mark.django_db
def test_a_direct_message_is_kept_once_for_reciprocity(client, api, group):
    post(client, envelope("message", group_message(group.wa_group_id, "price?")))

    post(client, envelope("message", direct_message()))
    post(client, envelope("message.any", direct_message()))

    inbound = InboundMessage.objects.get()
    assert (inbound.session, inbound.contact_phone, inbound.contact_jid) == (
        group.session,
        "+972521234567",
        "972521234567@c.us",
    )
    lead = Lead.objects.get()
    reciprocity = api.get(f"/api/v2/leads/{lead.id}/reciprocity?session_id={group.session_id}")
    assert reciprocity.json()["has_messaged_first"] is True


@pytest.mark.django_db
def test_the_accounts_own_direct_messages_do_not_count_as_inbound(client, stopped):
    own = direct_message(from_me=True)
    own["from"], own["to"] = "15550009999@c.us", "972521234567@c.us"

    assert post(client, envelope("message.any", own)).status_code == 200

    assert not InboundMessage.objects.exists()


# --- Races (PostgreSQL) --------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers")
def test_racing_deliveries_from_one_contact_make_one_lead_counting_each_message_once():
    group = make_group(make_session("default"), keywords=["price"])
    # Ten distinct messages, each delivered twice (message and message.any), all at once.
    bodies = [
        json.dumps(
            envelope(event, group_message(group.wa_group_id, f"price {n}?", message_id=f"m{n}"))
        ).encode()
        for n in range(10)
        for event in ("message", "message.any")
    ]
    barrier = threading.Barrier(len(bodies))
    codes: list[int] = []

    def deliver(body: bytes) -> None:
        try:
            barrier.wait(timeout=30)
            codes.append(post(Client(), body).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert codes == [200] * len(bodies)
    assert GroupMessage.objects.count() == 10
    assert Lead.objects.get().message_count == 10
