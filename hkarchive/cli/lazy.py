"""Commands imported when they are run: `hkarchive search` need not import what `crawl` does.

Every command module is named here rather than imported by the group, so a command that reads
the archive pays for its own imports only, not for Scrapy, Twisted and the extraction stack
(about 0.3 s a command). The group's ``commands`` stays a mapping of every command by name,
as click's own is; a command's module is imported the first time its command is looked up
(`hkarchive --help` looks them all up, for their one-line help).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, MutableMapping

import click


class LazyCommands(MutableMapping[str, click.Command]):
    """Commands by name; those given as ``"module:attribute"`` are imported when first got."""

    def __init__(self, lazy: Mapping[str, str]) -> None:
        self._commands: dict[str, click.Command] = {}
        self._lazy = dict(lazy)

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._commands:
            module, attribute = self._lazy[name].split(":")
            command = getattr(importlib.import_module(module), attribute)
            if not isinstance(command, click.Command) or command.name != name:
                raise TypeError(f"{self._lazy[name]} is not the command {name!r}")
            self._commands[name] = command
        return self._commands[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._commands[name] = command

    def __delitem__(self, name: str) -> None:
        if name not in self:
            raise KeyError(name)
        self._commands.pop(name, None)
        self._lazy.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._commands or name in self._lazy  # without importing anything

    def __iter__(self) -> Iterator[str]:
        return iter({**dict.fromkeys(self._lazy), **dict.fromkeys(self._commands)})

    def __len__(self) -> int:
        return len(self._lazy.keys() | self._commands.keys())


class LazyGroup(click.Group):
    """A click group whose commands are named by module (`LazyCommands`)."""

    def __init__(self, *args: object, lazy: Mapping[str, str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        eager = self.commands
        self.commands = LazyCommands(lazy)
        self.commands.update(eager)
