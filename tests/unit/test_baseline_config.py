"""Baseline offsets for ``b`` (issue #9): config file (top level and per context),
``VOICETOP_BASELINE_OFFSETS`` and ``--baseline``, with their precedence."""

from __future__ import annotations

import pytest

from voicetop.cli import UsageError, build_parser
from voicetop.commands.common import effective_config
from voicetop.config import Config, ConfigError, Context, load_config, parse_config
from voicetop.ui.comparing import baseline_offsets

DAY = 86400.0
FILE = """
baseline_offsets = ["1d", "7d"]
current_context = "prod"

[contexts.prod]
prometheus = "http://prom:9090"

[contexts.canary]
prometheus = "http://canary:9090"
baseline_offsets = ["30m", "6h"]
"""


class DemoLike:
    def baseline_offsets(self):
        return (1200.0,)


def write(tmp_path, text=FILE):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_top_level_offsets_apply_to_contexts_without_their_own(tmp_path):
    config = parse_config(FILE, tmp_path / "c.toml")
    assert config.context.name == "prod" and config.context.baseline_offsets == (DAY, 7 * DAY)
    canary = parse_config(FILE, tmp_path / "c.toml", "canary")
    assert canary.context.baseline_offsets == (1800.0, 6 * 3600.0)
    no_contexts = parse_config('baseline_offsets = ["2h"]\n', tmp_path / "c.toml")
    assert no_contexts.context.baseline_offsets == (7200.0,)
    assert parse_config("", tmp_path / "c.toml").context.baseline_offsets is None


@pytest.mark.parametrize(
    "text, line, key, problem",
    [
        ('refresh = "2s"\nbaseline_offsets = ["1d", "soon"]\n', 2, "baseline_offsets", "not a duration"),
        ('baseline_offsets = 3\n', 1, "baseline_offsets", "expected a list of durations"),
        ('baseline_offsets = ["0s"]\n', 1, "baseline_offsets", "must be positive"),
        ('baseline_offsets = []\n', 1, "baseline_offsets", "no baseline offset"),
        ('[contexts.a]\nprometheus = "http://p"\nbaseline_offsets = ["x"]\n', 3, "contexts.a.baseline_offsets",
         "not a duration"),
    ],
)
def test_bad_offsets_name_file_line_and_key(tmp_path, text, line, key, problem):
    path = tmp_path / "c.toml"
    with pytest.raises(ConfigError) as info:
        parse_config(text, path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: key '{key}'")
    assert problem in message


def test_env_overrides_the_file_and_the_flag_overrides_both(tmp_path):
    path = write(tmp_path)
    env = {"VOICETOP_BASELINE_OFFSETS": "2d,14d"}
    assert load_config(path, environ={}).context.baseline_offsets == (DAY, 7 * DAY)
    assert load_config(path, environ=env).context.baseline_offsets == (2 * DAY, 14 * DAY)
    with pytest.raises(ConfigError, match="VOICETOP_BASELINE_OFFSETS"):
        load_config(path, environ={"VOICETOP_BASELINE_OFFSETS": "later"})


def test_cli_flag_is_parsed_and_wins(tmp_path, monkeypatch):
    path = write(tmp_path)
    monkeypatch.setenv("VOICETOP_BASELINE_OFFSETS", "2d")
    args = build_parser().parse_args(["--config", str(path), "--baseline", "1h, 3h"])
    assert effective_config(args).context.baseline_offsets == (3600.0, 3 * 3600.0)
    args = build_parser().parse_args(["--config", str(path)])
    assert effective_config(args).context.baseline_offsets == (2 * DAY,)
    monkeypatch.delenv("VOICETOP_BASELINE_OFFSETS")
    assert effective_config(args).context.baseline_offsets == (DAY, 7 * DAY)
    with pytest.raises(UsageError, match="--baseline"):
        effective_config(build_parser().parse_args(["--config", str(path), "--baseline", "1d,-2d"]))
    sub = build_parser().parse_args(["check", "--config", str(path), "--baseline", "6h"])
    assert effective_config(sub).context.baseline_offsets == (6 * 3600.0,)


def test_console_offsets_precedence():
    source = DemoLike()
    configured = Config(context=Context("x", baseline_offsets=(600.0,)))
    assert baseline_offsets(source, env={"VOICETOP_BASELINE_OFFSETS": "1d"}, config=configured) == (600.0,)
    assert baseline_offsets(source, env={"VOICETOP_BASELINE_OFFSETS": "1d"}, config=Config()) == (DAY,)
    assert baseline_offsets(source, env={}, config=Config()) == (1200.0,)  # the source's own default
    assert baseline_offsets(object(), env={}, config=None) == (DAY, 7 * DAY)
