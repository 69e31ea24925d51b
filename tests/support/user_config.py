"""An autouse fixture keeping the developer's own voicetop config and environment out of a test.

Import it into a test module (``from tests.support.user_config import no_user_config``)
and pytest applies it to every test there: the config folder is a fresh temp
dir and no ``VOICETOP_*`` setting leaks in from the environment.
"""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def no_user_config(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for name in [name for name in os.environ if name.startswith("VOICETOP_")]:
        monkeypatch.delenv(name, raising=False)
