"""Lazy command loading for the root ``agenticmail`` group (click's "LazyGroup" pattern).

The root app does not import its command groups up front: it holds a table of ``Mount``s,
each one ``app.add_typer(<module>.<attribute>, name=..., help=..., rich_help_panel=...)``
written down with the top-level command names it serves. ``LazyCommands`` is the group's
``commands`` mapping: its keys (the names, in table order) cost nothing, and looking one up
imports that mount's module and builds its click commands exactly as ``add_typer`` would.
So ``agenticmail send ...`` imports the mail commands only, while ``--help`` (which reads
every command) loads them all and looks as if every sub-app had been added eagerly.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

import typer

# a click ``Command`` (Typer vendors click in newer releases, so the class is not named here)
Command = Any


@dataclass(frozen=True)
class Mount:
    """One sub-app of the root group and the top-level names it serves.

    With ``name`` the sub-app is one command group under that name; without it its commands
    are merged into the root and ``merged`` lists them (in the sub-app's order)."""

    module: str  # under agenticmail.cli
    attribute: str = "app"
    name: str | None = None
    merged: tuple[str, ...] = ()
    help: str | None = None
    rich_help_panel: str | None = None

    def __post_init__(self) -> None:
        if (self.name is None) == (not self.merged):
            raise ValueError(f"mount {self.module}.{self.attribute}: give a name or the "
                             "merged command names, not both")

    @property
    def commands(self) -> tuple[str, ...]:
        """The top-level command names this mount serves."""
        return (self.name,) if self.name else self.merged

    def typer_app(self) -> typer.Typer:
        """Import the module and return its sub-app."""
        module = importlib.import_module(f"{__package__}.{self.module}")
        sub_app: typer.Typer = getattr(module, self.attribute)
        return sub_app

    def add_to(self, parent: typer.Typer) -> None:
        """``parent.add_typer(...)`` with this mount's options (unset ones keep the sub-app's)."""
        options: dict[str, Any] = {"name": self.name, "help": self.help,
                                   "rich_help_panel": self.rich_help_panel}
        parent.add_typer(self.typer_app(),
                         **{key: value for key, value in options.items() if value is not None})

    def load(self, root: typer.Typer) -> dict[str, Command]:
        """This mount's click commands by name, built as ``root.add_typer`` would build them."""
        holder = typer.Typer(rich_markup_mode=root.rich_markup_mode,
                             pretty_exceptions_short=root.pretty_exceptions_short,
                             suggest_commands=root.suggest_commands)
        self.add_to(holder)
        return dict(typer.main.get_group(holder).commands)


class LazyCommands(MutableMapping[str, Command]):
    """A group's ``commands``: names known up front, each mount loaded on first lookup.

    Iterating, ``len`` and ``in`` load nothing; ``[name]`` / ``get(name)`` load the mount
    serving ``name`` (a name its sub-app turns out not to have is then missing, as an unknown
    command is); ``items()``/``values()`` load every mount (``--help`` does)."""

    def __init__(self, mounts: Sequence[Mount], load: Callable[[Mount], dict[str, Command]],
                 loaded: Mapping[str, Command] | None = None) -> None:
        self._load = load
        self._loaded: dict[str, Command] = dict(loaded or {})
        self._pending: dict[str, Mount] = {}
        self._order: dict[str, None] = dict.fromkeys(self._loaded)
        for mount in mounts:
            for name in mount.commands:
                if name in self._order:
                    raise ValueError(f"command {name!r} is served twice ({mount.module})")
                self._pending[name] = mount
                self._order[name] = None

    def __getitem__(self, name: str) -> Command:
        if name not in self._loaded:
            mount = self._pending[name]  # KeyError: no such command
            loaded = self._load(mount)
            for served in mount.commands:
                if self._pending.pop(served, None) is not None and served in loaded:
                    self._loaded[served] = loaded[served]
        return self._loaded[name]

    def __setitem__(self, name: str, command: Command) -> None:
        self._pending.pop(name, None)
        self._loaded[name] = command
        self._order[name] = None

    def __delitem__(self, name: str) -> None:
        if name not in self._order:
            raise KeyError(name)
        self._pending.pop(name, None)
        self._loaded.pop(name, None)
        del self._order[name]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._order))

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, name: object) -> bool:
        return name in self._order
