"""Every emulator the sandbox can start, by connector name, and a `Sandbox` that starts
them all and says how to point ATOM at them."""

from __future__ import annotations

import importlib
from typing import Any

from sandbox.emulator import Emulator

# connector name -> "module:Class" of its emulator
EMULATORS: dict[str, str] = {
    "slack": "sandbox.slack:SlackEmulator",
    "github": "sandbox.github:GitHubEmulator",
    "http": "sandbox.http_echo:HttpEchoEmulator",
    "google_calendar": "sandbox.google:GoogleCalendarEmulator",
    "gmail": "sandbox.google:GmailEmulator",
    "google_drive": "sandbox.google:GoogleDriveEmulator",
    "trello": "sandbox.trello:TrelloEmulator",
    "asana": "sandbox.asana:AsanaEmulator",
    "dropbox": "sandbox.dropbox:DropboxEmulator",
}


def emulator_class(name: str) -> type[Emulator]:
    module_name, class_name = EMULATORS[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)


class Sandbox:
    """The emulators of `names` (all by default), started together."""

    def __init__(self, names: list[str] | None = None) -> None:
        self.emulators: dict[str, Emulator] = {
            name: emulator_class(name)() for name in (names or list(EMULATORS))
        }

    def start(self) -> Sandbox:
        for emulator in self.emulators.values():
            emulator.start()
        return self

    def stop(self) -> None:
        for emulator in self.emulators.values():
            emulator.server.request_stop()  # all shut down in parallel
        for emulator in self.emulators.values():
            emulator.stop()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def settings_overrides(self) -> dict[str, str]:
        overrides: dict[str, str] = {}
        for emulator in self.emulators.values():
            overrides.update(emulator.settings_overrides())
        return overrides

    def credentials(self, user: str = "sandbox-user") -> dict[str, dict[str, Any]]:
        """A token per service for `user`: {connector: {"access_token", "extra"}}."""
        return {name: emulator.issue_token(user) for name, emulator in self.emulators.items()}
