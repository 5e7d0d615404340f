"""A name -> plug-in registry, one per kind of plug-in (readers, detectors, sinks ...).

Built-ins are declared as entry points in pyproject.toml exactly like an outside plug-in
would be, so ``insiderwatch plugins`` shows both the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from insiderwatch.errors import InsiderwatchError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.group = f"insiderwatch.{kind}"
        self._items: dict[str, T] = {}
        self._origin: dict[str, str] = {}
        self._loaded = False

    def register(self, name: str, item: T, origin: str = "code") -> T:
        if name in self._items and self._items[name] is not item:
            raise InsiderwatchError(f"{self.kind} {name!r} is registered twice")
        self._items[name] = item
        self._origin[name] = origin
        return item

    def _load_entry_points(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for ep in entry_points(group=self.group):
            if ep.name not in self._items:
                self.register(ep.name, ep.load(), origin=ep.value)

    def get(self, name: str) -> T:
        self._load_entry_points()
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            raise InsiderwatchError(f"unknown {self.kind} {name!r} (known: {known})") from None

    def find(self, name: str) -> T | None:
        """The item registered as ``name``, None when there is none: a lookup, where
        iterating sorts every item."""
        self._load_entry_points()
        return self._items.get(name)

    def names(self) -> list[str]:
        self._load_entry_points()
        return sorted(self._items)

    def origin(self, name: str) -> str:
        self._load_entry_points()
        return self._origin[name]

    def __iter__(self) -> Iterator[tuple[str, T]]:
        self._load_entry_points()
        return iter(sorted(self._items.items()))
