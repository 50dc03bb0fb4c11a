"""`atom shell`: chat with ATOM in a terminal through the sandbox Slack.

Typed text is a DM to the bot, `/atom …` is a slash command, `2.1` presses the first button
of message 2 (a bare number presses a button of the newest message with buttons), and
modals are filled in field by field. Messages from runs and schedules appear as they happen,
above the prompt, each saying where it was posted, with Slack's markup drawn for a terminal.
Like Hubot's shell adapter or `errbot -T`, but everything goes over real HTTP through the
Slack emulator, exactly as in a workspace.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from cli.sandbox_session import SandboxSession
from cli.terminal_text import Directory, to_terminal
from sandbox.blocktext import buttons, render, text_of
from sandbox.harness import BotMessage
from sandbox.slack import Posted

ReadLine = Callable[[str], Awaitable[str | None]]
Write = Callable[[str], None]
Pressable = BotMessage | dict[str, Any]

BUTTON_ADDRESS = re.compile(r"^(?:(\d+)\.)?(\d+)$")
MESSAGE_KINDS = {"message": "atom", "update": "atom (updated)", "ephemeral": "atom (only you)"}

SHELL_HELP = """\
You are chatting with ATOM as Alice in a sandbox Slack workspace.
  <text>          send a direct message to ATOM (try: help)
  /atom <text>    run the slash command (try: /atom help)
  > <text>        reply in the thread of ATOM's last message
  <m>.<n>         press button [m.n]: button n of message m
  <n>             press button n of the newest message with buttons
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
        styled: bool = False,
        follow_seconds: float = 0.1,
    ) -> None:
        self.session = session
        self.slack = session.slack
        self.harness = session.harness
        self.read_line = read_line
        self.write = write
        self.quiet_seconds = quiet_seconds
        self.first_reply_seconds = first_reply_seconds
        self.styled = styled
        self.follow_seconds = follow_seconds
        self.seen = len(self.slack.posted)
        self.numbered: list[Pressable] = []  # messages with buttons; message m is [m - 1]
        self.number_of: dict[tuple[str, str], int] = {}
        self.last_message: BotMessage | None = None
        self.busy = False

    async def run(self) -> None:
        self.write(SHELL_HELP)
        follower = asyncio.create_task(self.follow())
        try:
            while True:
                line = await self.read_line("you> ")
                if line is None or line.strip() in {":quit", ":q", ":exit"}:
                    return
                line = line.strip()
                if line:
                    await self.handle(line)
        finally:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower

    async def follow(self) -> None:
        """While the person is idle, print what runs and schedules post as it happens."""
        while True:
            await asyncio.sleep(self.follow_seconds)
            while not self.busy and self.seen < len(self.slack.posted):
                item = self.slack.posted[self.seen]
                if item.kind in {"view_open", "view_update"}:
                    break  # a modal waits for the next command, which reads its fields
                self.seen += 1
                await self.show(item)

    async def handle(self, line: str) -> None:
        self.busy = True
        try:
            await self._handle(line)
        finally:
            self.busy = False

    async def _handle(self, line: str) -> None:
        if line == ":help":
            self.write(SHELL_HELP)
            return
        address = BUTTON_ADDRESS.match(line)
        if address:
            message, button = address.groups()
            if not await self.press(int(message) if message else None, int(button)):
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

    async def press(self, message_number: int | None, button: int) -> bool:
        number = message_number or self._newest_with_buttons()
        if number is None or not 1 <= number <= len(self.numbered):
            self.write(
                f"(there is no message {message_number} with buttons)"
                if message_number
                else "(no message has buttons yet)"
            )
            return False
        target = self.numbered[number - 1]
        choices = buttons(_blocks_of(target))
        if not 1 <= button <= len(choices):
            self.write(
                f"(there is no button [{number}.{button}] — message {number} has "
                f"{len(choices)} button{'s' if len(choices) != 1 else ''})"
            )
            return False
        await self.harness.click(target, choices[button - 1]["action_id"])  # type: ignore[arg-type]
        return True

    def _newest_with_buttons(self) -> int | None:
        for number in range(len(self.numbered), 0, -1):
            if buttons(_blocks_of(self.numbered[number - 1])):
                return number
        return None

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
        if item.kind in MESSAGE_KINDS:
            message = BotMessage(
                item.kind,
                data["channel"],
                data["ts"],
                data.get("text", ""),
                data.get("blocks") or [],
                data.get("user"),
                data,
            )
            address = self._address(("message", f"{message.channel}:{message.ts}"), message)
            label = f"{MESSAGE_KINDS[item.kind]} in {self._place(message)}"
            self.write(f"{label}> {self._draw(message.text, message.blocks, address)}")
            self.last_message = message
        elif item.kind == "home":
            blocks = data.get("blocks") or []
            address = self._address(("home", data.get("user", "")), data)
            self.write(f"[App Home]\n{self._draw('', blocks, address)}")
        elif item.kind in {"view_open", "view_update"}:
            await self.fill_modal(data)

    def _address(self, key: tuple[str, str], target: Pressable) -> str:
        """`"m."` for a message with buttons (its number stays when it is updated)."""
        number = self.number_of.get(key)
        if number is None:
            if not buttons(_blocks_of(target)):
                return ""
            self.numbered.append(target)
            number = self.number_of[key] = len(self.numbered)
        self.numbered[number - 1] = target
        return f"{number}."

    def _place(self, message: BotMessage) -> str:
        channel = self.slack.channels.get(message.channel)
        if channel is None:
            place = message.channel
        elif channel.is_im:
            place = "DM"
        else:
            place = f"#{channel.name}"
        return f"{place} (thread)" if message.thread_ts else place

    def _draw(self, text: str, blocks: list[dict[str, Any]], address: str) -> str:
        directory = Directory(
            people={user.id: user.name for user in self.slack.users.values()},
            channels={c.id: c.name for c in self.slack.channels.values() if not c.is_im},
        )
        return to_terminal(render(text, blocks, address), directory, styled=self.styled)

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


async def run_in_terminal(session: SandboxSession) -> None:
    """The shell on a real terminal reads lines with prompt_toolkit, so output printed while
    the person types appears above the prompt instead of through their half-typed line;
    piped input (scripts, tests) is read line by line."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        await Shell(session).run()
        return
    from prompt_toolkit import PromptSession
    from prompt_toolkit.patch_stdout import patch_stdout

    prompt: PromptSession[str] = PromptSession()

    async def read_line(text: str) -> str | None:
        try:
            return await prompt.prompt_async(text)
        except (EOFError, KeyboardInterrupt):
            return None

    with patch_stdout(raw=True):
        await Shell(session, read_line, styled=True).run()


def _blocks_of(target: Pressable | None) -> list[dict[str, Any]]:
    if isinstance(target, BotMessage):
        return target.blocks
    return (target or {}).get("blocks", [])
