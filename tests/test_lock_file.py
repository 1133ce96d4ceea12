"""requirements.lock pins exactly what pyproject.toml asks for (`bash dev.sh lock` re-pins)."""

import re
import tomllib
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;#]+)")


def _name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_pin_in_pyproject_is_locked_at_the_same_version_with_hashes() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    asked = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    lock = (ROOT / "requirements.lock").read_text()
    locked = {
        _name(match.group(1)): match.group(2)
        for match in map(PIN.match, lock.splitlines())
        if match
    }

    for requirement in asked:
        match = PIN.match(requirement)
        assert match, f"{requirement!r} is not pinned with =="
        assert locked.get(_name(match.group(1))) == match.group(2), (
            f"{requirement} is not what requirements.lock holds; run `bash dev.sh lock`"
        )
    # Every locked package carries a hash, so `pip --require-hashes` can install the tree.
    blocks = re.split(r"\n(?=\S)", lock.split("\n", 2)[2])
    assert all("--hash=sha256:" in block for block in blocks if PIN.match(block))
