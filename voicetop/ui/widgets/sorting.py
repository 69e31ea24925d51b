"""htop-style sort keys shared by the tables: ``s`` next column, ``S`` reverse."""

from __future__ import annotations

from typing import Any, Callable, Hashable, Sequence, TypeVar

K = TypeVar("K", bound=Hashable)


def ordered(keys: Sequence[K], value_of: Callable[[K], Any], reverse: bool) -> list[K]:
    """``keys`` (given in tie order) sorted by value; keys without a value
    (None) last in either direction, ties kept in the given order."""
    values = {key: value_of(key) for key in keys}
    present = [key for key in keys if values[key] is not None]
    present.sort(key=values.__getitem__, reverse=reverse)  # stable, also reversed
    return present + [key for key in keys if values[key] is None]


class SortCycling:
    """Mixin for a table with ``columns_spec`` (objects with ``key``), ``sort_column``,
    ``sort_reverse`` and a ``set_sort(column, reverse)`` that re-sorts."""

    columns_spec: Sequence[Any]
    sort_column: str | None
    sort_reverse: bool

    def set_sort(self, column: str | None, reverse: bool) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def cycle_sort(self) -> str:
        """Move the sort to the next visible column; returns its key."""
        keys = [c.key for c in self.columns_spec]
        index = keys.index(self.sort_column) if self.sort_column in keys else -1
        column = keys[(index + 1) % len(keys)]
        self.set_sort(column, self.sort_reverse)
        return column

    def reverse_sort(self) -> None:
        self.set_sort(self.sort_column, not self.sort_reverse)
