"""Load colour themes from TOML files into Textual's theme system.

Search path (first file of a name wins): ``$VOICETOP_THEMES`` (os.pathsep
separated), the user config folder's ``themes/``, the checkout's top-level
``themes/`` and ``<sys.prefix>/share/voicetop/themes``.
"""

from __future__ import annotations

import os
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from textual.theme import Theme

import voicetop
from voicetop.ui.format import Palette

DEFAULT_THEME = "dark"
THEME_COLOURS = (
    "primary", "secondary", "accent", "foreground", "background", "surface", "panel",
    "success", "warning", "error", "boost",
)
SEVERITY_VARIABLES = {"ok": "sev-ok", "warning": "sev-warning", "critical": "sev-critical"}


class ThemeError(Exception):
    """A theme file is unreadable or invalid; the message names the file."""


@dataclass(frozen=True)
class LoadedTheme:
    theme: Theme
    path: Path

    @property
    def name(self) -> str:
        return self.theme.name


def theme_dirs(environ: Mapping[str, str] | None = None) -> list[Path]:
    """Folders searched for ``*.toml`` themes, most specific first."""
    env = os.environ if environ is None else environ
    dirs = [Path(p) for p in env.get("VOICETOP_THEMES", "").split(os.pathsep) if p]
    try:
        from platformdirs import user_config_path

        dirs.append(user_config_path("voicetop") / "themes")
    except Exception:  # platformdirs missing or no home: skip the user folder
        pass
    dirs.append(Path(voicetop.__file__).resolve().parent.parent / "themes")
    dirs.append(Path(sys.prefix) / "share" / "voicetop" / "themes")
    return dirs


def parse_theme(text: str, path: Path) -> Theme:
    """A Textual Theme from TOML text; severity colours become CSS variables."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ThemeError(f"{path}: invalid TOML: {exc}") from None
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not name:
        raise ThemeError(f"{path}: 'name' must be a non-empty string")
    if not isinstance(data.get("primary"), str):
        raise ThemeError(f"{path}: 'primary' colour is required")
    colours = {}
    for key in THEME_COLOURS:
        if key in data:
            if not isinstance(data[key], str):
                raise ThemeError(f"{path}: '{key}' must be a colour string")
            colours[key] = data[key]
    dark = data.get("dark", True)
    if not isinstance(dark, bool):
        raise ThemeError(f"{path}: 'dark' must be true or false")
    severity = data.get("severity", {})
    if not isinstance(severity, dict):
        raise ThemeError(f"{path}: [severity] must be a table")
    fallback = {"ok": colours.get("success"), "warning": colours.get("warning"), "critical": colours.get("error")}
    variables = {}
    for level, variable in SEVERITY_VARIABLES.items():
        value = severity.get(level, fallback[level])
        if value is not None:
            variables[variable] = str(value)
    try:
        return Theme(name=name, dark=dark, variables=variables, **colours)
    except Exception as exc:  # Textual validates colours lazily; report the file
        raise ThemeError(f"{path}: {exc}") from None


def load_themes(dirs: list[Path] | None = None) -> tuple[dict[str, LoadedTheme], list[str]]:
    """All themes on the search path, and one-line problems with bad files."""
    found: dict[str, LoadedTheme] = {}
    problems: list[str] = []
    for folder in dirs if dirs is not None else theme_dirs():
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            try:
                theme = parse_theme(path.read_text(encoding="utf-8"), path)
                theme.to_color_system()  # validates every colour now
            except ThemeError as exc:
                problems.append(str(exc))
                continue
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                problems.append(f"{path}: {exc}")
                continue
            found.setdefault(theme.name, LoadedTheme(theme, path))
    return found, problems


def palette_from(variables: Mapping[str, str], ascii_glyphs: bool = False) -> Palette:
    """Severity colours from the active theme's CSS variables."""
    default = Palette()
    return Palette(
        ok=variables.get("sev-ok") or variables.get("success") or default.ok,
        warning=variables.get("sev-warning") or variables.get("warning") or default.warning,
        critical=variables.get("sev-critical") or variables.get("error") or default.critical,
        ascii=ascii_glyphs,
    )
