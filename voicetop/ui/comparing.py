"""The ``g`` (group by) and ``b`` (baseline) keys: drive the poller and the compare screen.

``g`` cycles the group-by label through the source's labels (model, provider,
prompt version, …) and back to per-agent rows; ``b`` toggles the baseline
comparison.  The scope is the agent whose detail screen is open, else the
fleet (its highlighted agent for the baseline table).  Baseline offsets come
from the effective config (``--baseline 1d,7d`` over ``VOICETOP_BASELINE_OFFSETS``
over the context's and the file's ``baseline_offsets``), else the environment
variable (configs not built by ``load_config``), else the source's own default
(the demo keeps two hours: 20 m), else 1 d and 7 d.
"""

from __future__ import annotations

import os
from dataclasses import replace

from voicetop.compare_view import CompareView, group_labels
from voicetop.domain.compare import DEFAULT_OFFSETS, parse_offsets

OFFSETS_ENV = "VOICETOP_BASELINE_OFFSETS"


def baseline_offsets(source: object, env: dict | None = None, config: object = None) -> tuple[float, ...]:
    """Offsets from the config, the environment, the source's default, or 1 d and 7 d."""
    context = getattr(config, "context", None)
    configured = getattr(context, "baseline_offsets", None)
    if configured:
        return tuple(configured)
    text = (env if env is not None else os.environ).get(OFFSETS_ENV, "").strip()
    if text:
        try:
            return parse_offsets(text)
        except ValueError:
            pass
    own = getattr(source, "baseline_offsets", None)
    return tuple(own()) if callable(own) else DEFAULT_OFFSETS


def next_label(labels: tuple[str, ...], current: str | None) -> str | None:
    """The label after ``current``; None (per-agent rows) after the last one."""
    if not labels:
        return None
    if current not in labels:
        return labels[0]
    index = labels.index(current) + 1
    return labels[index] if index < len(labels) else None


def _scope(app) -> str | None:
    from voicetop.ui.screens.agent import AgentScreen
    from voicetop.ui.screens.compare import CompareScreen

    for screen in reversed(app.screen_stack):
        if isinstance(screen, CompareScreen):
            return screen.agent_id
        if isinstance(screen, AgentScreen):
            return screen.agent_id
    return None


def _subject(app) -> str | None:
    """The agent the baseline table describes: the scope, or the fleet's highlighted row."""
    scope = _scope(app)
    if scope is not None:
        return scope
    selected = getattr(app.screen, "selected_agent", None)
    return selected() if callable(selected) else None


def _apply(app, view: CompareView) -> None:
    from voicetop.ui.screens.compare import CompareScreen

    app.poller.set_compare(view)
    app.compare_view = view
    screen = app.screen
    if isinstance(screen, CompareScreen):
        if view.group_by is None and not view.baseline:
            app.pop_screen()
        else:
            screen.show_frame(app.frame) if app.frame is not None else None
        return
    if view.group_by is not None or view.baseline:
        app.push_screen(CompareScreen(_scope(app), _subject(app)))
    if app.paused:  # the poller sleeps while paused: fetch once now
        app.run_worker(app._poll_once_forced, thread=True, exclusive=True, group="oneshot")  # noqa: SLF001


def current_view(app) -> CompareView:
    return getattr(app, "compare_view", None) or replace(
        CompareView(), offsets=baseline_offsets(app.metrics, config=getattr(app, "config", None))
    )


def cycle_group(app) -> None:
    """``g``: next group-by label (the last one goes back to per-agent rows)."""
    labels = group_labels(app.metrics)
    if not labels:
        app.notify("this source cannot regroup agents", severity="warning", timeout=3)
        return
    view = current_view(app)
    label = next_label(labels, view.group_by)
    _apply(app, replace(view, group_by=label))
    app.notify(f"group by {label}" if label else "per agent", timeout=2)


def toggle_baseline(app) -> None:
    """``b``: compare each stat with the same window one day and one week earlier."""
    if not hasattr(app.metrics, "fetch_offset"):
        app.notify("this source has no history to compare with", severity="warning", timeout=3)
        return
    view = current_view(app)
    _apply(app, replace(view, baseline=not view.baseline))
