"""`atom shell`: chat with ATOM in a terminal through the sandbox Slack.

Typed text is a DM to the bot, `/atom …` is a slash command, a number presses that button
of the last message that had buttons, and modals are filled in field by field. Like
Hubot's shell adapter or `errbot -T`, but everything goes over real HTTP through the
Slack emulator, exactly as in a workspace.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from cli.sandbox_session import SandboxSession
from sandbox.blocktext import buttons, render, text_of
from sandbox.harness import BotMessage
from sandbox.slack import Posted

ReadLine = Callable[[str], Awaitable[str | None]]
Write = Callable[[str], None]

SHELL_HELP = """\
You are chatting with ATOM as Alice in a sandbox Slack workspace.
  <text>          send a direct message to ATOM (try: help)
  /atom <text>    run the slash command (try: /atom help)
  > <text>        reply in the thread of ATOM's last message
  <number>        press that button of the last message with buttons
  :home           open ATOM's App Home
  :help           this help        :quit  leave (or Ctrl-D)"""


async def read_stdin(prompt: str) -> str | None:
    try:
        return await asyncio.to_thread(input, prompt)
    except EOFError:
        return None


class Shell:
    def __init__(
        self,
        session: SandboxSession,
        read_line: ReadLine = read_stdin,
        write: Write = print,
        quiet_seconds: float = 0.4,
        first_reply_seconds: float = 10.0,
    ) -> None:
        self.session = session
        self.slack = session.slack
        self.harness = session.harness
        self.read_line = read_line
        self.write = write
        self.quiet_seconds = quiet_seconds
        self.first_reply_seconds = first_reply_seconds
        self.seen = len(self.slack.posted)
        self.last_with_buttons: BotMessage | dict[str, Any] | None = None
        self.last_message: BotMessage | None = None

    async def run(self) -> None:
        self.write(SHELL_HELP)
        while True:
            line = await self.read_line("you> ")
            if line is None or line.strip() in {":quit", ":q", ":exit"}:
                return
            line = line.strip()
            if line:
                await self.handle(line)

    async def handle(self, line: str) -> None:
        if line == ":help":
            self.write(SHELL_HELP)
            return
        if line.isdigit():
            if not await self.press(int(line)):
                return
        elif line == ":home":
            await self.harness.open_home()
        elif line.startswith("/"):
            command, _, text = line.partition(" ")
            await self.harness.command(text, command=command)
        elif line.startswith(">"):
            thread = (
                self.last_message.thread_ts or self.last_message.ts if self.last_message else None
            )
            await self.harness.dm(line[1:].strip(), thread_ts=thread)
        else:
            await self.harness.dm(line)
        await self.show_replies()

    async def press(self, number: int) -> bool:
        target = self.last_with_buttons
        choices = buttons(_blocks_of(target)) if target is not None else []
        if not 1 <= number <= len(choices):
            self.write(f"(there is no button [{number}] — the last message has {len(choices)})")
            return False
        await self.harness.click(target, choices[number - 1]["action_id"])  # type: ignore[arg-type]
        return True

    async def show_replies(self) -> None:
        """Print what the bot does until it has been quiet for a moment."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.first_reply_seconds
        printed = False
        while True:
            if self.seen < len(self.slack.posted):
                item = self.slack.posted[self.seen]
                self.seen += 1
                await self.show(item)
                printed = True
                deadline = loop.time() + self.quiet_seconds
            elif loop.time() > deadline:
                if not printed:
                    self.write("(ATOM did not answer)")
                return
            else:
                await asyncio.sleep(0.02)

    async def show(self, item: Posted) -> None:
        data = item.data
        if item.kind in {"message", "update", "ephemeral"}:
            message = BotMessage(
                item.kind,
                data["channel"],
                data["ts"],
                data.get("text", ""),
                data.get("blocks") or [],
                data.get("user"),
                data,
            )
            label = {"message": "atom", "update": "atom (updated)", "ephemeral": "atom (only you)"}[
                item.kind
            ]
            self.write(f"{label}> {render(message.text, message.blocks)}")
            self.last_message = message
            if buttons(message.blocks):
                self.last_with_buttons = message
        elif item.kind == "home":
            self.write(f"[App Home]\n{render('', data.get('blocks'))}")
            if buttons(data.get("blocks", [])):
                self.last_with_buttons = data
        elif item.kind in {"view_open", "view_update"}:
            await self.fill_modal(data)

    async def fill_modal(self, view: dict[str, Any]) -> None:
        self.write(f"[{text_of(view.get('title'))}] (empty answer keeps the current value)")
        values: dict[str, dict[str, Any]] = {}
        for block in view.get("blocks", []):
            if block.get("type") != "input":
                continue
            element = block.get("element", {})
            current = element.get("initial_value", "")
            answer = await self.read_line(f"  {text_of(block.get('label'))} [{current}]: ")
            if answer is None:
                return
            values[block["block_id"]] = {element["action_id"]: answer.strip() or current}
        delivery = await self.harness.submit(view, values)
        errors = (delivery.json() or {}).get("errors") if delivery.body else None
        if errors:
            self.write(
                "The form has problems:\n"
                + "\n".join(f"  {field}: {problem}" for field, problem in errors.items())
            )
            await self.fill_modal(view)


def _blocks_of(target: BotMessage | dict[str, Any] | None) -> list[dict[str, Any]]:
    if isinstance(target, BotMessage):
        return target.blocks
    return (target or {}).get("blocks", [])
