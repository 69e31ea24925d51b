"""Baseline: the smallest Textual app that updates 150 table cells a second.

    .venv/bin/python bench/minimal_table_app.py

15 rows × 10 columns of numbers, every cell rewritten once a second with
``DataTable.update_cell`` — what any Textual dashboard pays at least.
"""

from __future__ import annotations

import random

from textual.app import App, ComposeResult
from textual.widgets import DataTable

ROWS, COLUMNS = 15, 10


class MinimalTableApp(App):
    def compose(self) -> ComposeResult:
        yield DataTable()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        self.columns = [table.add_column(f"col{c}", width=8) for c in range(COLUMNS)]
        self.rows = [table.add_row(*self._values()) for _ in range(ROWS)]
        self.set_interval(1.0, self.tick)

    def _values(self) -> list[str]:
        return [f"{random.uniform(0, 2000):8.1f}" for _ in range(COLUMNS)]

    def tick(self) -> None:
        table = self.query_one(DataTable)
        for row in self.rows:
            for column, value in zip(self.columns, self._values()):
                table.update_cell(row, column, value)


if __name__ == "__main__":
    MinimalTableApp().run()
