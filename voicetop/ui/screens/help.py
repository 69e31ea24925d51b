"""Help: every key the console understands."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS: tuple[tuple[str, str], ...] = (
    ("?", "this help"),
    ("q", "quit"),
    ("space", "pause / resume polling (PAUSED badge)"),
    ("/", "filter agents by id (Enter applies, Esc clears)"),
    ("s / S", "sort by the next column / reverse the order (or click a header)"),
    ("↑ ↓ PgUp PgDn", "move the cursor (or click a row)"),
    ("Enter", "open the agent under the cursor"),
    ("Esc", "back / close / clear filter"),
    ("f", "sparklines: toggle selected agent / whole fleet"),
    ("[ / ]", "step the window back / forward by its length"),
    ("0", "back to live"),
    ("t", "cycle colour theme"),
    ("g", "group by model → provider → prompt version → per agent (fleet, or the open agent)"),
    ("b", "baseline: each stat now vs the same window 1d/7d earlier (--baseline, baseline_offsets); "
          "Esc keeps it on the stage sparklines, b again turns it off"),
    ("v", "agent screen: sessions full-screen (needs a trace backend)"),
    ("Enter (drill)", "agent → its sessions → a session's turns → a turn's span waterfall"),
    ("j / k", "waterfall: move down / up (arrows, PgUp/PgDn too); g / G top / bottom"),
    ("space h l", "waterfall: toggle / fold / unfold the subtree under the cursor"),
    ("e", "export what is on screen: snapshot .json, .md report and .svg in the current directory"),
    ("m", "silence the alert under the breach panel's cursor in Alertmanager (needs --write)"),
    ("Tab", "move focus between the agent table and the breach panel"),
)

LEGEND = (
    "Severity: ● ok  ▲ warning  ✖ critical (ASCII: o ! X). Values past a threshold carry the glyph.\n"
    "Status ◌ pending (ASCII ~): a value is past its threshold now, but not yet for the rule's `for`.\n"
    "Alerts from Prometheus/Alertmanager: ⚑ FIRING  … PENDING  ∅ SILENCED (ASCII: * ~ -), with their source.\n"
    "ᵗ (ASCII ~) after a latency: computed from recent turns' spans, because the metrics lack that stage.\n"
    "Waterfall: ◆ on the critical path; the title names the stage that dominates the turn."
)


def help_text() -> Text:
    text = Text("voicetop keys\n\n", style="bold")
    for key, meaning in KEYS:
        text.append(f"  {key:<16}", style="bold")
        text.append(f"{meaning}\n")
    text.append(f"\n{LEGEND}\n", style="dim")
    text.append("Press Esc or ? to close, q to quit.", style="dim")
    return text


class HelpScreen(ModalScreen):
    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("question_mark", "close", "Close", show=False),
        Binding("q", "app.quit", "Quit", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(help_text(), id="help-text")

    def action_close(self) -> None:
        self.dismiss()
