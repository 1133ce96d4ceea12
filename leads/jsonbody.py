"""A webhook's JSON body, decoded only when every string in it can be stored."""

import json
from typing import Any


class BadJson(ValueError):
    """A body that is not JSON a webhook can use; the message is a sentence for the sender."""


def parse_json_body(body: bytes) -> Any:
    """Decode `body`, or raise `BadJson`.

    Besides broken JSON and absurd nesting, refuses text with an unpaired surrogate
    (`"\\ud83d"`): JSON allows the escape, but it is not Unicode, no database column can
    hold it, and storing it would fail the request again on every retry.
    """
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise BadJson("The body is not valid JSON.") from None
    try:
        json.dumps(data, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise BadJson("The body contains an unpaired UTF-16 surrogate (not valid text).") from None
    except RecursionError:
        raise BadJson("The body is not valid JSON.") from None
    return data
