"""The telephony panel at the top of the fleet console (issue #10): LiveKit server and SIP.

Wide terminals (>= 120 columns, >= 36 rows) get a title line with the
per-node rooms and participants and two rows of cells, each with its value
(threshold glyph and colour when breaching) and a sparkline over the window.
Smaller terminals get a one-line summary (two lines between 80 and 120
columns).  A cell whose stats are absent (no SIP service, no quality
histograms) is hidden; the whole panel hides when the frame has no telephony.
Node ids are untrusted label values: rendered as plain Text, never markup.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Static

from voicetop.domain.model import Frame, Severity
from voicetop.domain.telephony import STATS, TelephonyStats, fmt_value
from voicetop.domain.text import safe_text
from voicetop.domain.thresholds import ThresholdSet
from voicetop.ui.format import Palette
from voicetop.ui.widgets.quiet import text_signature, update_static
from voicetop.ui.widgets.spark_cell import SPARK_GAP, Columns, sparkline

#: Cells: id -> (label, panel that must have data, stat for the sparkline and severity).
CELLS: dict[str, tuple[str, str, str]] = {
    "rooms": ("Rooms", "rooms", "rooms"),
    "participants": ("Participants", "rooms", "participants"),
    "joins": ("Join success", "joins", "join_success_rate"),
    "sip": ("SIP calls", "sip", "sip_calls_active"),
    "sip_errors": ("SIP errors", "sip", "sip_invite_error_rate"),
    "loss": ("Loss in/out", "loss", "packet_loss"),
    "jitter": ("Jitter p95", "jitter", "jitter_p95"),
    "rtt": ("RTT p95", "rtt", "rtt_p95"),
    "quality": ("P/G/E/L", "quality", "poor_quality_share"),
    "score": ("Quality p50", "quality", "quality_score_p50"),
}
ROWS: tuple[tuple[str, ...], ...] = (
    ("rooms", "participants", "joins", "sip", "sip_errors"),
    ("loss", "jitter", "rtt", "quality", "score"),
)


def severity_of(tel: TelephonyStats, key: str, thresholds: ThresholdSet) -> Severity:
    rule = thresholds.telephony.get(key)
    return Severity.OK if rule is None else rule.severity_of(tel.value(key))


def cell_value(tel: TelephonyStats, cell: str) -> str:
    """The text of one cell's value (``0.6/0.2%``, ``27ms``, ``1/14/84/0%``)."""
    if cell == "loss":
        loss_in, loss_out = tel.value("packet_loss_in"), tel.value("packet_loss_out")
        return f"{fmt_value(loss_in, 'ratio')[:-1]}/{fmt_value(loss_out, 'ratio')}"
    if cell == "quality":
        parts = [tel.value(k) for k in ("quality_poor", "quality_good", "quality_excellent", "quality_lost")]
        return "/".join("–" if v is None else f"{v * 100:.0f}" for v in parts) + "%"
    key = CELLS[cell][2]
    return fmt_value(tel.value(key), STATS[key][1])


def _styled(text: str, severity: Severity, palette: Palette) -> Text:
    if severity is Severity.OK:
        return Text(text)
    return Text(f"{palette.glyph(severity)}{text}", style=palette.style(severity))


def node_line(tel: TelephonyStats) -> Text:
    """``Telephony · 3 nodes: lk-a 149 rooms/298 ppl · …`` (media nodes only)."""
    media = [n for n in tel.nodes if n.value("rooms") is not None]
    line = Text("Telephony", style="bold")
    line.append(f" · {len(media)} media node{'s' if len(media) != 1 else ''}", style="dim")
    for node in media:
        rooms, people = node.value("rooms"), node.value("participants")
        line.append(" · ")
        line.append(safe_text(node.node_id, 32))
        line.append(f" {fmt_value(rooms, 'count')} rooms/{fmt_value(people, 'count')} ppl", style="dim")
    return line


Item = tuple[str, str, Severity]


def summary_items(tel: TelephonyStats, thresholds: ThresholdSet) -> tuple[list[Item], list[Item]]:
    """Summary items: (rooms, joins, SIP) and (media quality), each ``(label, value, severity)``."""
    have = set(tel.panels())
    people, media = [], []
    if "rooms" in have:
        people.append(("☎", f"{cell_value(tel, 'rooms')} rooms {cell_value(tel, 'participants')} ppl", Severity.OK))
    if "joins" in have:
        people.append(("join", cell_value(tel, "joins"), severity_of(tel, "join_success_rate", thresholds)))
    if "sip" in have:
        people.append(("SIP", f"{cell_value(tel, 'sip')} calls", Severity.OK))
        people.append(("err", cell_value(tel, "sip_errors"), severity_of(tel, "sip_invite_error_rate", thresholds)))
    if "loss" in have:
        media.append(("loss", cell_value(tel, "loss"), severity_of(tel, "packet_loss", thresholds)))
    if "jitter" in have:
        media.append(("jitter", cell_value(tel, "jitter"), severity_of(tel, "jitter_p95", thresholds)))
    if "rtt" in have:
        media.append(("RTT", cell_value(tel, "rtt"), severity_of(tel, "rtt_p95", thresholds)))
    if "quality" in have:
        share = fmt_value(tel.value("poor_quality_share"), "ratio")
        media.append(("poor/lost", share, severity_of(tel, "poor_quality_share", thresholds)))
        media.append(("MOS", cell_value(tel, "score"), Severity.OK))
    return people, media


def summary_line(items: list[Item], palette: Palette) -> Text:
    """Items joined by dots, breaching values with glyph and colour; cut with an ellipsis."""
    line = Text(no_wrap=True, overflow="ellipsis")
    for label, value, severity in items:
        if line.plain:
            line.append(" · ", style="dim")
        line.append(f"{label} ", style="bold")
        line.append_text(_styled(value, severity, palette))
    return line


class TelCell(Widget):
    """A label, a value and a sparkline of one telephony figure, drawn as one widget."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"tel-cell--label", "sparkline--max-color", "sparkline--min-color"}
    DEFAULT_CSS = """
    TelCell > .tel-cell--label { color: $foreground 70%; }
    TelCell > .sparkline--max-color { color: $primary; }
    TelCell > .sparkline--min-color { color: $primary 30%; }
    """
    LABEL_WIDTH = 13
    VALUE_WIDTH = 12

    def __init__(self, cell: str) -> None:
        super().__init__(classes="tel-cell", id=f"tel-{cell}")
        self.cell = cell
        self.data: tuple[float, ...] = ()
        self.value = Text("")
        self._signature: tuple = ((), text_signature(self.value))

    def show(self, tel: TelephonyStats, thresholds: ThresholdSet, palette: Palette) -> None:
        _, panel, key = CELLS[self.cell]
        self.display = tel.has(panel)
        if not self.display:
            return
        severity = severity_of(tel, key, thresholds)
        self.set_class(severity is Severity.WARNING, "-warning")
        self.set_class(severity is Severity.CRITICAL, "-critical")
        series = tel.series(key)
        data = tuple(series.finite_values()) if series is not None else ()
        value = _styled(cell_value(tel, self.cell), severity, palette)
        signature = (data, text_signature(value))
        if signature != self._signature:
            self._signature = signature
            self.data, self.value = data, value
            self.refresh()

    def render(self) -> Columns:
        label = Text(CELLS[self.cell][0], style=self.get_component_rich_style("tel-cell--label"))
        spark = max(0, self.size.width - self.LABEL_WIDTH - self.VALUE_WIDTH - SPARK_GAP)
        return Columns(((label, self.LABEL_WIDTH), (self.value, self.VALUE_WIDTH),
                        (sparkline(self, self.data, spark) if spark else None, spark), (None, SPARK_GAP)))


class TelephonyPanel(Vertical):
    """Rooms, participants, joins, media quality and SIP of the LiveKit server; hidden without data."""

    DEFAULT_CSS = """
    TelephonyPanel { height: auto; display: none; }
    TelephonyPanel > .tel-line { height: 1; }
    TelephonyPanel > #tel-title { background: $panel; }
    TelephonyPanel .tel-row { height: 1; }
    TelephonyPanel .tel-cell { width: 1fr; height: 1; }
    TelephonyPanel.-compact .tel-row { display: none; }
    TelephonyPanel.-one-line #tel-second { display: none; }
    TelephonyPanel.-wide #tel-second { display: none; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.mode = "wide"
        self._title = Static("", classes="tel-line", id="tel-title")
        self._second = Static("", classes="tel-line", id="tel-second")
        self._cells = [[TelCell(cell) for cell in row] for row in ROWS]
        self._shown: tuple | None = None  # what the last show() rendered

    def compose(self) -> ComposeResult:
        yield self._title
        yield self._second
        for row in self._cells:
            with Horizontal(classes="tel-row"):
                yield from row

    def set_size(self, width: int, height: int) -> None:
        """``wide`` (cells and sparklines), ``two-line`` or ``one-line`` summary."""
        if width >= 120 and height >= 36:
            self.mode = "wide"
        elif width >= 80 and height >= 30:
            self.mode = "two-line"
        else:
            self.mode = "one-line"
        self.set_class(self.mode == "wide", "-wide")
        self.set_class(self.mode != "wide", "-compact")
        self.set_class(self.mode == "one-line", "-one-line")

    def show(self, frame: Frame | None, thresholds: ThresholdSet, palette: Palette) -> None:
        """Render the frame's telephony; nothing to do when it, the size mode and the
        theme are those of the last call (the frame builder keeps unchanged stats)."""
        tel = frame.telephony if frame is not None else None
        shown = (tel, self.mode, palette, thresholds)
        if shown == self._shown:
            return
        self._shown = shown
        visible = tel is not None and bool(tel.panels())
        self.display = visible
        if not visible:
            return
        people, media = summary_items(tel, thresholds)
        title = self._title
        if self.mode == "wide":
            update_static(title, node_line(tel))
        elif self.mode == "two-line":
            update_static(title, summary_line(people, palette))
            update_static(self._second, summary_line(media, palette))
        else:  # rooms first, then the media figures (what explains poor transcription), then the rest
            update_static(title, summary_line(people[:1] + media + people[1:], palette))
        if self.mode == "wide":
            for row in self._cells:
                for cell in row:
                    cell.show(tel, thresholds, palette)
