"""Breach panel: active and recently resolved breaches, with the selected hint."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static

from voicetop.domain.compare import marker_text
from voicetop.domain.model import Alert, Breach, Frame
from voicetop.domain.text import safe_text
from voicetop.domain.thresholds import ThresholdSet
from voicetop.ui.format import SEVERITY_WORDS, Palette, fmt_number, since_text
from voicetop.ui.widgets.alert_rows import alert_cells, alert_hint, alert_id, alert_severity, count_note, shown_alerts
from voicetop.ui.widgets.keyed_table import Column, KeyedTable, LazyRow, SortCell
from voicetop.ui.widgets.quiet import update_static

BREACH_COLUMNS = (
    Column("severity", "Severity", numeric=False),
    Column("key", "Breach", numeric=False),
    Column("agent", "Agent", numeric=False),
    Column("value", "Value vs limit", numeric=False),
    Column("since", "Since", numeric=False),
)


def breach_id(breach: Breach, window_start: float | None = None) -> str:
    """The breach's row key.  A run that began at or before the window's first step
    reports that step as its ``since``, which moves with the window: such rows are
    keyed ``start`` so they stay the same row (and keep the cursor) as the window moves."""
    since = "start" if window_start is not None and breach.since <= window_start else f"{breach.since:.0f}"
    return f"{breach.key}|{breach.agent_id or ''}|{int(breach.severity)}|{since}|{breach.node}"


def value_vs_threshold(breach: Breach, thresholds: ThresholdSet) -> str:
    """``1340ms > 1200ms`` in the rule's unit (ms, %, MOS…)."""
    rule = thresholds.rule(breach.key, breach.agent_id)
    unit = "ms" if rule is None else ("count" if rule.unit == "x" else rule.unit)
    sign = ">" if rule is None or rule.direction == "above" else "<"
    return f"{fmt_number(breach.value, unit)} {sign} {fmt_number(breach.threshold, unit)}"


SHORT_WORDS = {"WARNING": "WARN", "CRITICAL": "CRIT"}


def breach_label(breach: Breach, thresholds: ThresholdSet) -> str:
    rule = thresholds.rule(breach.key, breach.agent_id)
    label = rule.label if rule is not None and rule.label else breach.key
    if breach.change is not None:  # the deploy that preceded it (issue #9)
        label = f"{label} ← {breach.change.new}"
    return label


def breach_cells(
    breach: Breach, thresholds: ThresholdSet, palette: Palette, now: float, order: int,
    compact: bool = False,
) -> list[SortCell]:
    """Resolved breaches are dimmed, lower-case and show their ``since–until`` range."""
    dim = "" if breach.active else "dim"
    colour = palette.style(breach.severity) if breach.active else "dim"
    word = SEVERITY_WORDS[breach.severity]
    if compact:
        word = SHORT_WORDS.get(word, word)
    if not breach.active:
        word = word.lower()
    value = value_vs_threshold(breach, thresholds)
    return [
        SortCell(f"{palette.glyph(breach.severity)} {word}", colour, order),
        SortCell(safe_text(breach_label(breach, thresholds), 24), dim),
        SortCell(safe_text(breach.scope, 14 if compact else 24), dim),  # agent, "fleet" or "node <id>"
        SortCell(value.replace(" ", "") if compact else value, colour),
        SortCell(since_text(breach.since, breach.until, now), dim),
    ]


def panel_rows(breaches: list[Breach], alerts: tuple[Alert, ...]) -> list[Breach | Alert]:
    """Display order: active breaches and firing alerts (worst first), then
    pending/silenced alerts, then breaches resolved in the window."""
    ranked = []
    for seq, breach in enumerate(breaches):
        rank = (0, -int(breach.severity)) if breach.active else (2, 0)
        ranked.append((rank, seq, breach))
    for seq, alert in enumerate(alerts, start=len(breaches)):
        rank = (0, -int(alert_severity(alert))) if alert.state == "firing" else (1, 0)
        ranked.append((rank, seq, alert))
    ranked.sort(key=lambda item: (item[0], item[1]))
    return [item[2] for item in ranked]


class PanelRow(LazyRow):
    """A breach or alert row, built only when on screen; it sorts by ``order`` in the
    severity column.  ``now`` is the time its age is shown against (None: no age).

    The order is where the row sorts, not what it shows: a row whose item and
    setting are the same is kept when rows before it come or go, with its order
    moved (the table's sync is told to check its order), instead of being built again
    with every row after it.
    """

    __slots__ = ("item", "order", "setting", "now")

    def __init__(self, item: Breach | Alert, order: int, setting: tuple, now: float | None) -> None:
        self.item, self.order, self.setting, self.now = item, order, setting, now

    def cells(self, columns) -> list[SortCell]:
        compact, palette, thresholds, now = *self.setting, self.now
        if isinstance(self.item, Alert):
            return alert_cells(self.item, palette, now, self.order, compact)
        return breach_cells(self.item, thresholds, palette, now, self.order, compact)

    def sort_key(self, column: str) -> int | None:
        return self.order if column == "severity" else None

    def shows(self, item: Breach | Alert, setting: tuple, now: float | None) -> bool:
        return self.now == now and self.setting == setting and (self.item is item or self.item == item)


class BreachTable(KeyedTable):
    DEFAULT_CSS = "BreachTable { height: 1fr; scrollbar-size-vertical: 1; }"

    def on_mount(self) -> None:
        self.set_columns(BREACH_COLUMNS)
        self.sort_column = "severity"


class BreachPanel(Vertical):
    """Breaches of a frame (optionally of one agent), the alerts Prometheus and
    Alertmanager report beside them, and the selected row's hint."""

    BINDINGS = [Binding("m", "app.silence", "Silence")]

    def __init__(self, agent_id: str | None = None, all_agents: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.agent_id = agent_id
        self.all_agents = all_agents
        self.breaches: dict[str, Breach] = {}
        self.alerts: dict[str, Alert] = {}
        self.compact = False
        self._title = Static("", classes="panel-title", id="breach-title")
        self._table = BreachTable(id="breach-table")
        self._hint = Static("", classes="hint", id="breach-hint")
        self._shown: tuple | None = None  # what the last show() rendered
        self._rows: dict[str, PanelRow] = {}  # row key → its row in the last show

    def compose(self) -> ComposeResult:
        yield self._title
        yield self._table
        yield self._hint

    def show(self, frame: Frame, thresholds: ThresholdSet, palette: Palette) -> None:
        chosen = [
            b for b in frame.breaches if self.all_agents or b.agent_id == self.agent_id
        ]
        alerts = shown_alerts(frame.alerts, self.agent_id, self.all_agents)
        start, now = frame.window.start, frame.window.end
        # Rows show ages against the window's end and key runs that began before the
        # window's start as "start" (breach_id): when neither matters to any row, a
        # moved window brings the same rows, and then there is nothing to do.
        ages = any(b.active for b in chosen) or any(a.active_at is not None for a in alerts)
        shown = (self.compact, palette, thresholds, now if ages else None,
                 tuple(b.since <= start for b in chosen), alerts, tuple(chosen))
        ready = bool(self._table.columns_spec)  # a show before the table mounted is redone
        if ready and shown == self._shown:
            return
        self._shown = shown if ready else None
        setting = (self.compact, palette, thresholds)
        known = self._rows
        moved = False  # a kept row whose order changed: the table checks its order
        self.breaches, self.alerts, self._rows = {}, {}, {}
        for order, item in enumerate(panel_rows(chosen, alerts)):
            if isinstance(item, Alert):
                key = alert_id(item)
                self.alerts[key] = item
                aged = now if item.active_at is not None else None
            else:
                key = breach_id(item, start)
                self.breaches[key] = item
                aged = now if item.active else None  # a resolved run shows since–until
            row = known.get(key)  # the same inputs: the same row object, which sync skips
            if row is not None and row.shows(item, setting, aged):
                if row.order != order:
                    row.order, moved = order, True
                self._rows[key] = row
            else:
                self._rows[key] = PanelRow(item, order, setting, aged)
        self._table.sync(self._rows, resort=moved)
        active = sum(1 for b in chosen if b.active)
        title = Text(f"Breaches · {active} active", style="bold")
        title.append(f", {len(chosen) - active} resolved in the window", style="dim")
        if alerts:
            title.append(" · ", style="dim")
            title.append(f"alerts {count_note(alerts)}", style="bold")
        update_static(self._title, title)
        self.show_hint()

    def selected(self) -> Breach | None:
        key = self._table.cursor_key()
        return None if key is None else self.breaches.get(key)

    def selected_alert(self) -> Alert | None:
        """The alert under the cursor (None on a breach row or an empty panel)."""
        key = self._table.cursor_key()
        return None if key is None else self.alerts.get(key)

    def show_hint(self) -> None:
        hint = self._hint
        alert = self.selected_alert()
        if alert is not None:
            update_static(hint, alert_hint(alert))
            return
        breach = self.selected()
        if breach is None:
            update_static(hint, Text("No breaches in this window.", style="dim"))
            return
        text = Text("Hint: ", style="bold")
        if breach.change is not None:
            text.append(f"after {safe_text(marker_text(breach.change), 120)} · ", style="bold")
        text.append(safe_text(breach.hint or "no hint for this key", 300))
        update_static(hint, text)

    def on_data_table_row_highlighted(self, event: KeyedTable.RowHighlighted) -> None:
        event.stop()
        self.show_hint()
