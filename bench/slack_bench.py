"""Slack front-door benchmark: open-loop load of signed DMs, `/atom` commands and button
clicks, sent over HTTP to ATOM running against the sandbox, beside a bare Bolt app.

.venv/bin/python -m bench.slack_bench                # bare Bolt, ATOM/SQLite, ATOM/Postgres
.venv/bin/python -m bench.slack_bench --quick        # two short steps per backend
.venv/bin/python -m bench.slack_bench --backends bolt,sqlite --rates 50,100 --seconds 2

For each backend the offered rate steps up (`--rates`, `--seconds` each); requests are
sent at fixed intervals whatever the answers (open loop), by a load generator in its own
process, from `--users` simulated people. Printed per backend: ack latency p50/p99 at the
headline rate (`--headline`), DM -> plan preview p50/p95 there, the first rate whose ack
p99 passes the budget (100 ms), and ATOM's p99 as a multiple of the bare Bolt app's (the
same route behind the same FastAPI/uvicorn server, with listeners that only ack).

Postgres runs use a fresh database next to ATOM_BENCH_POSTGRES_ADMIN_URL (default
postgresql://postgres@127.0.0.1:5432/postgres), dropped at the end. bench/README.md says
how to read the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import secrets
import sys
import tempfile
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from random import Random
from typing import Any
from urllib.parse import urlencode

import aiohttp
import asyncpg
from fastapi import FastAPI
from pydantic import SecretStr
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.engine import make_url

from bench.scheduler_bench import ADMIN_URL, fresh_database, percentile
from bot.blocks.kit import actions, button
from bot.blocks.plan import APPROVE, CANCEL
from cli.sandbox_session import sandbox_session
from core.security import generate_key
from core.settings import Settings
from migrations.runner import upgrade
from oauth_app.routes.slack import slack_router
from oauth_app.server import WebServer
from sandbox.blocktext import buttons
from sandbox.harness import BotMessage, SlackHarness
from sandbox.slack import Delivery, SlackEmulator, SlackUser

ACK_TIMEOUT = 3.0  # Slack gives up on an ack after 3 s (and retries)
DM, COMMAND, CLICK = "dm", "command", "click"
MIX = {DM: 2, COMMAND: 1, CLICK: 1}  # half DMs, a quarter commands, a quarter clicks
COMMANDS = ("help", "list")
WARM_UP_RATE = 50  # DMs/s before the first step
BACKENDS = {"bolt": "bare Bolt", "sqlite": "ATOM/SQLite", "postgres": "ATOM/Postgres"}


@dataclass(frozen=True)
class BenchConfig:
    backends: tuple[str, ...] = ("bolt", "sqlite", "postgres")
    rates: tuple[int, ...] = (25, 50, 100, 200, 400)  # requests/s, stepped up in this order
    step_seconds: float = 3.0
    headline_rate: int = 200  # the rate the table's latency columns are taken at
    users: int = 200
    budget: float = 0.100  # the ack p99 (seconds) whose crossing rate is reported
    drain_seconds: float = 10.0  # at most this long after a step for the bot to catch up
    seed: int = 1


BENCH_DEFAULT = BenchConfig()


# --- what the load generator sends and measures (crosses the process boundary) ----------


@dataclass(frozen=True)
class SignedRequest:
    kind: str
    body: str
    headers: dict[str, str]
    dm_ts: str | None = None  # a DM's own ts: the thread its plan preview is posted in


@dataclass(frozen=True)
class Outcome:
    kind: str
    dm_ts: str | None
    due_wall: float  # when it was due to be sent (wall clock: comparable to Slack's ts)
    latency: float  # due -> HTTP 200 in seconds; inf when it failed or timed out
    lag: float  # how late the generator actually sent it


def send_open_loop(url: str, rate: float, requests: list[SignedRequest]) -> list[Outcome]:
    """Runs in the load generator's process: request i is sent at start + i/rate whether
    or not earlier ones were answered; latency counts from that due time."""
    return asyncio.run(_send_all(url, rate, requests))


async def _send_all(url: str, rate: float, requests: list[SignedRequest]) -> list[Outcome]:
    # aiohttp rather than httpx: httpx's pool slows down with many requests in flight,
    # which would make the generator, not the server, the bottleneck under overload.
    connector = aiohttp.TCPConnector(limit=1000)
    timeout = aiohttp.ClientTimeout(total=ACK_TIMEOUT)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.05
        wall_offset = time.time() - loop.time()
        tasks = []
        for index, request in enumerate(requests):
            due = start + index / rate
            await asyncio.sleep(max(0.0, due - loop.time()))
            tasks.append(asyncio.create_task(_send_one(session, url, request, due, wall_offset)))
        return list(await asyncio.gather(*tasks))


async def _send_one(
    session: aiohttp.ClientSession,
    url: str,
    request: SignedRequest,
    due: float,
    wall_offset: float,
) -> Outcome:
    loop = asyncio.get_running_loop()
    lag = loop.time() - due
    try:
        async with session.post(url, data=request.body.encode(), headers=request.headers) as reply:
            await reply.read()
            ok = reply.status == 200
    except (aiohttp.ClientError, TimeoutError):
        ok = False
    latency = loop.time() - due if ok else math.inf
    return Outcome(request.kind, request.dm_ts, due + wall_offset, latency, lag)


class LoadGenerator:
    """The sending side lives in its own process, so its CPU is not taken from the server
    under test (which shares one interpreter with the sandbox's emulators)."""

    def __init__(self) -> None:
        self._pool = ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"))

    async def send(self, url: str, rate: float, requests: list[SignedRequest]) -> list[Outcome]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, send_open_loop, url, rate, requests)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


# --- the workload: what Slack would send for a crowd of people --------------------------


class _PayloadTap:
    """Stands in for the emulator's delivery so that `SlackHarness.click` builds the exact
    `block_actions` payload Slack sends and hands it over instead of delivering it (the
    generator sends it, once, and times it)."""

    def __init__(self, slack: SlackEmulator) -> None:
        self._slack = slack
        self.payload: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._slack, name)

    async def deliver_interaction(self, payload: dict[str, Any]) -> Delivery:
        self.payload = payload
        return Delivery(status=0, body="", ack_seconds=0.0, attempts=0)


class PreviewLog:
    """Plan previews as Slack saw them posted: each is the bot's message, in the DM's
    thread, that carries the Approve button. Its `ts` is the moment Slack stored it."""

    def __init__(self, slack: SlackEmulator) -> None:
        self.slack = slack
        self.cursor = len(slack.posted)
        self.by_thread: dict[str, BotMessage] = {}
        self.fresh: deque[BotMessage] = deque()  # not clicked yet, oldest first

    def collect(self) -> None:
        posted = self.slack.posted
        while self.cursor < len(posted):
            item = posted[self.cursor]
            self.cursor += 1
            data = item.data
            blocks = data.get("blocks") or []
            if item.kind != "message" or not data.get("thread_ts"):
                continue
            if not any(b.get("action_id") == APPROVE for b in buttons(blocks)):
                continue
            message = BotMessage(
                "message", data["channel"], data["ts"], data.get("text", ""), blocks, None, data
            )
            self.by_thread[data["thread_ts"]] = message
            self.fresh.append(message)

    def seconds_after(self, outcome: Outcome) -> float:
        """DM sent -> its preview stored by Slack; inf when no preview came."""
        preview = self.by_thread.get(outcome.dm_ts or "")
        return float(preview.ts) - outcome.due_wall if preview else math.inf


class Workload:
    """Signed requests for `users` people, in a reproducible random order: DMs asking for
    a plan, `/atom help` and `/atom list`, and clicks on Cancel of an earlier preview (of
    a stand-in preview when none is left unclicked, e.g. on the bare Bolt app)."""

    def __init__(self, slack: SlackEmulator, users: list[str], seed: int) -> None:
        self.slack = slack
        self.users = users
        self.previews = PreviewLog(slack)
        self.random = Random(seed)
        self.tap = _PayloadTap(slack)
        self.harness = SlackHarness(self.tap)  # type: ignore[arg-type]  # see _PayloadTap
        self.commands = itertools.cycle(COMMANDS)
        self.count = 0

    async def build(self, total: int, kinds: dict[str, int] = MIX) -> list[SignedRequest]:
        self.previews.collect()
        builders: dict[str, Callable[[str], Awaitable[SignedRequest]]] = {
            DM: self.dm,
            COMMAND: self.command,
            CLICK: self.click,
        }
        requests = []
        for _ in range(total):
            kind = self.random.choices(list(kinds), list(kinds.values()))[0]
            self.count += 1
            requests.append(await builders[kind](self.random.choice(self.users)))
        return requests

    def signed(self, kind: str, body: str, content_type: str, **extra: Any) -> SignedRequest:
        headers = {"Content-Type": content_type, **self.slack.sign(body)}
        return SignedRequest(kind, body, headers, **extra)

    async def dm(self, user: str) -> SignedRequest:
        text = f'post "hello {self.count}" in #dev'
        event = self.slack.user_message(user, text, self.slack.im_with(user))
        body = json.dumps(self.slack.event_envelope(event))
        return self.signed(DM, body, "application/json", dm_ts=event["ts"])

    async def command(self, user: str) -> SignedRequest:
        text = next(self.commands)
        form = self.slack.command_form(user, self.slack.im_with(user), "/atom", text)
        return self.signed(COMMAND, urlencode(form), "application/x-www-form-urlencoded")

    async def click(self, user: str) -> SignedRequest:
        """The preview's owner clicks Cancel (anyone else would only be told off)."""
        preview = self.previews.fresh.popleft() if self.previews.fresh else None
        if preview is None:
            preview = self.stand_in_preview(user)
        owner = self.slack.channels[preview.channel].user or user
        await self.harness.click(preview, CANCEL, user=owner)
        body = urlencode({"payload": json.dumps(self.tap.payload)})
        return self.signed(CLICK, body, "application/x-www-form-urlencoded")

    def stand_in_preview(self, user: str) -> BotMessage:
        """A message with a Cancel button for a plan that does not exist."""
        channel = self.slack.im_with(user).id
        blocks = [actions(button("Cancel", CANCEL, f"plan_none_{self.count}"), block_id="plan")]
        return BotMessage("message", channel, self.slack.next_ts(), "Plan", blocks, None, {})


def add_people(slack: SlackEmulator, count: int) -> list[str]:
    """`count` people in the workspace, with IDs like Slack's (U + 8 uppercase alnum)."""
    people = [
        SlackUser(f"U0B{n:06d}", f"bench{n}", f"Bench Person {n}", f"bench{n}@example.com")
        for n in range(count)
    ]
    return [slack.add_user(person).id for person in people]


# --- backends: the server under test ---------------------------------------------------


@dataclass
class Target:
    name: str
    slack: SlackEmulator
    url: str
    previews: bool  # whether DMs are answered with plan previews


@asynccontextmanager
async def bare_bolt() -> AsyncIterator[Target]:
    """Bolt with listeners that only ack, behind ATOM's route and server: the framework's
    own limit on this machine."""
    slack = SlackEmulator()
    slack.start()
    server = WebServer(empty_bolt_web_app(slack))
    try:
        url = await server.start()
        yield Target(BACKENDS["bolt"], slack, f"{url}/slack/events", previews=False)
    finally:
        await server.stop()
        slack.stop()


def empty_bolt_web_app(slack: SlackEmulator) -> FastAPI:
    app = AsyncApp(
        client=AsyncWebClient(token=slack.bot_token, base_url=f"{slack.url}/api/"),
        signing_secret=slack.signing_secret,
    )

    @app.event("message")
    async def message_event(ack: AsyncAck) -> None:
        await ack()

    @app.command("/atom")
    async def atom_command(ack: AsyncAck) -> None:
        await ack()

    @app.action(CANCEL)
    async def cancel_click(ack: AsyncAck) -> None:
        await ack()

    web = FastAPI()
    web.include_router(slack_router(app))
    return web


@asynccontextmanager
async def atom(database_url: str, name: str) -> AsyncIterator[Target]:
    """ATOM with every emulator (cli/sandbox_session.py) on a migrated database."""
    await asyncio.to_thread(upgrade, database_url)
    with tempfile.TemporaryDirectory(prefix="atom-bench-") as data_dir:
        settings = Settings(
            _env_file=None,
            database_url=database_url,
            data_dir=data_dir,
            encryption_keys=generate_key(),
            secret_key=SecretStr(secrets.token_urlsafe(32)),
            log_json=False,
            log_level="WARNING",
        )
        async with sandbox_session(settings) as session:
            assert session.slack.request_url is not None
            yield Target(name, session.slack, session.slack.request_url, previews=True)


@asynccontextmanager
async def atom_on_sqlite() -> AsyncIterator[Target]:
    with tempfile.TemporaryDirectory(prefix="atom-bench-db-") as folder:
        async with atom(f"sqlite+aiosqlite:///{folder}/atom.db", BACKENDS["sqlite"]) as target:
            yield target


@asynccontextmanager
async def atom_on_postgres() -> AsyncIterator[Target]:
    async with fresh_database() as url, atom(url, BACKENDS["postgres"]) as target:
        yield target


OPENERS: dict[str, Callable[[], AbstractAsyncContextManager[Target]]] = {
    "bolt": bare_bolt,
    "sqlite": atom_on_sqlite,
    "postgres": atom_on_postgres,
}


# --- measuring -------------------------------------------------------------------------


@dataclass
class Step:
    rate: int
    outcomes: list[Outcome]
    previews: list[float]  # DM -> preview seconds, one per DM (inf: none came)
    cpu_seconds: float  # the server process's CPU (ATOM or Bolt, and the emulators)
    wall_seconds: float  # sending plus the bot catching up

    def acks(self, kind: str | None = None) -> list[float]:
        return [o.latency for o in self.outcomes if kind is None or o.kind == kind]

    def ack(self, fraction: float, kind: str | None = None) -> float:
        values = self.acks(kind)
        return percentile(values, fraction) if values else math.nan

    def preview(self, fraction: float) -> float:
        return percentile(self.previews, fraction) if self.previews else math.nan

    @property
    def failed(self) -> int:
        return sum(math.isinf(o.latency) for o in self.outcomes)

    @property
    def missing_previews(self) -> int:
        return sum(math.isinf(p) for p in self.previews)


@dataclass
class BackendResult:
    name: str
    budget: float
    steps: list[Step] = field(default_factory=list)

    def at(self, rate: int) -> Step | None:
        return next((s for s in self.steps if s.rate == rate), None)

    @property
    def knee(self) -> int | None:
        """The first offered rate whose ack p99 passed the budget (None: none did)."""
        return next((s.rate for s in self.steps if s.ack(0.99) > self.budget), None)


@dataclass
class Driver:
    """Sends one backend its load a step at a time, and lets it catch up after each."""

    target: Target
    workload: Workload
    generator: LoadGenerator
    drain_seconds: float = BENCH_DEFAULT.drain_seconds

    async def step(self, rate: int, seconds: float, kinds: dict[str, int] = MIX) -> Step:
        requests = await self.workload.build(max(1, round(rate * seconds)), kinds)
        cpu, wall = time.process_time(), time.monotonic()
        outcomes = await self.generator.send(self.target.url, rate, requests)
        dms = [o for o in outcomes if o.kind == DM]
        await self.settle({o.dm_ts for o in dms if o.dm_ts})
        previews = self.workload.previews
        waits = [previews.seconds_after(o) for o in dms] if self.target.previews else []
        return Step(rate, outcomes, waits, time.process_time() - cpu, time.monotonic() - wall)

    async def settle(self, dm_ts: set[str]) -> None:
        """Wait until every DM has its preview and the bot has been quiet for a moment
        (at most `drain_seconds`), so one step's backlog does not count in the next."""
        posted, previews = self.target.slack.posted, self.workload.previews
        deadline = time.monotonic() + self.drain_seconds
        seen, quiet_since = -1, time.monotonic()
        while time.monotonic() < deadline:
            previews.collect()
            answered = not self.target.previews or dm_ts <= previews.by_thread.keys()
            if len(posted) != seen:
                seen, quiet_since = len(posted), time.monotonic()
            if answered and time.monotonic() - quiet_since > 0.3:
                return
            await asyncio.sleep(0.05)


def warm_up_dms(config: BenchConfig) -> int:
    """Enough DMs that the first step's clicks find previews, and some to spare."""
    first_step = config.rates[0] * config.step_seconds
    return 10 + math.ceil(first_step * MIX[CLICK] / sum(MIX.values()))


async def measure(target: Target, config: BenchConfig, generator: LoadGenerator) -> BackendResult:
    """Warm up (connections, caches, previews to click), then step the offered rate up;
    stop after the first rate past the budget once the headline rate has been measured."""
    workload = Workload(target.slack, add_people(target.slack, config.users), config.seed)
    driver = Driver(target, workload, generator, config.drain_seconds)
    warm_up = warm_up_dms(config)
    await driver.step(WARM_UP_RATE, warm_up / WARM_UP_RATE, {DM: 1})
    result = BackendResult(target.name, config.budget)
    for rate in config.rates:
        step = await driver.step(rate, config.step_seconds)
        result.steps.append(step)
        print(step_line(target.name, step, target.previews), flush=True)
        if step.ack(0.99) > config.budget and rate >= config.headline_rate:
            break
    return result


class BenchError(Exception):
    """Something the person running the benchmark has to fix first."""


async def check_postgres() -> None:
    try:
        connection = await asyncpg.connect(ADMIN_URL, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        where = make_url(ADMIN_URL).render_as_string(hide_password=True)
        raise BenchError(
            f"PostgreSQL is not reachable at {where} ({exc}); start it, point "
            "ATOM_BENCH_POSTGRES_ADMIN_URL at one, or leave it out: --backends bolt,sqlite"
        ) from exc
    await connection.close()


async def run(config: BenchConfig, generator: LoadGenerator | None = None) -> list[BackendResult]:
    """Every backend in turn, each started fresh and stopped after it was measured."""
    if "postgres" in config.backends:
        await check_postgres()
    sender = generator or LoadGenerator()
    try:
        results = []
        for backend in config.backends:
            async with OPENERS[backend]() as target:
                results.append(await measure(target, config, sender))
        return results
    finally:
        if generator is None:
            sender.close()


# --- reporting -------------------------------------------------------------------------


def ms(seconds: float) -> str:
    if math.isnan(seconds):
        return "—"
    if math.isinf(seconds):
        return "timeout"
    return f"{seconds * 1000:.1f} ms"


def step_line(name: str, step: Step, previews: bool) -> str:
    """Two lines: the acks (overall and p99 per kind), then what explains them."""
    by_kind = ", ".join(f"{kind} {ms(step.ack(0.99, kind))}" for kind in MIX)
    lag = percentile([o.lag for o in step.outcomes], 0.99)
    preview = (
        f"DM->preview p50 {ms(step.preview(0.5))}, p95 {ms(step.preview(0.95))} "
        f"({step.missing_previews} of {len(step.previews)} missing); "
        if previews
        else ""
    )
    return (
        f"{name:<14}{step.rate:>5}/s {len(step.outcomes):>5} requests: ack p50 "
        f"{ms(step.ack(0.5))}, p99 {ms(step.ack(0.99))} (p99 {by_kind}); failed {step.failed}\n"
        f"{'':<27}{preview}server CPU {step.cpu_seconds / len(step.outcomes) * 1000:.1f} "
        f"ms/request, {step.cpu_seconds / step.wall_seconds:.0%} busy; "
        f"generator lag p99 {ms(lag)}"
    )


def ratio(step: Step | None, baseline: Step | None) -> str:
    """ATOM's ack p99 over bare Bolt's; a lower bound when ATOM's p99 timed out."""
    if step is None or baseline is None:
        return "—"
    ours, theirs = step.ack(0.99), baseline.ack(0.99)
    if math.isinf(ours):
        return f"> {ACK_TIMEOUT / theirs:.0f}x"
    return f"{ours / theirs:.1f}x"


def table(results: list[BackendResult], config: BenchConfig) -> str:
    rate = config.headline_rate
    bolt = next((r for r in results if r.name == BACKENDS["bolt"]), None)
    baseline = bolt.at(rate) if bolt else None
    header = (
        "backend",
        f"ack p50 @{rate}/s",
        f"ack p99 @{rate}/s",
        "DM->preview p50",
        "DM->preview p95",
        f"p99>{config.budget * 1000:.0f}ms at",
        "p99 / bare Bolt",
    )
    rows = [header, *(table_row(result, rate, baseline) for result in results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def table_row(result: BackendResult, rate: int, baseline: Step | None) -> tuple[str, ...]:
    step = result.at(rate)
    latencies = (
        (step.ack(0.5), step.ack(0.99), step.preview(0.5), step.preview(0.95))
        if step
        else (math.nan,) * 4
    )
    tested = max((s.rate for s in result.steps), default=0)
    knee = f"{result.knee}/s" if result.knee else f"> {tested}/s"
    return (result.name, *map(ms, latencies), knee, ratio(step, baseline))


# --- command line ----------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> BenchConfig:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--backends",
        default=",".join(BENCH_DEFAULT.backends),
        help="comma-separated, from: " + ", ".join(BACKENDS),
    )
    parser.add_argument(
        "--rates",
        default=",".join(map(str, BENCH_DEFAULT.rates)),
        help="offered rates (requests/s), stepped up in order",
    )
    parser.add_argument(
        "--seconds", type=float, default=BENCH_DEFAULT.step_seconds, help="seconds per rate step"
    )
    parser.add_argument(
        "--headline",
        type=int,
        default=BENCH_DEFAULT.headline_rate,
        help="the rate whose latencies the table shows",
    )
    parser.add_argument(
        "--users",
        type=int,
        default=BENCH_DEFAULT.users,
        help="simulated people sending the requests",
    )
    parser.add_argument(
        "--budget-ms",
        type=float,
        default=BENCH_DEFAULT.budget * 1000,
        help="ack p99 budget whose crossing rate is reported",
    )
    parser.add_argument("--seed", type=int, default=BENCH_DEFAULT.seed)
    parser.add_argument(
        "--quick", action="store_true", help="two short steps (50 and 200/s, 1.5 s each)"
    )
    args = parser.parse_args(argv)
    backends = tuple(b.strip() for b in args.backends.split(",") if b.strip())
    if unknown := set(backends) - set(BACKENDS):
        parser.error(f"unknown backend(s) {', '.join(sorted(unknown))}; use {', '.join(BACKENDS)}")
    try:
        rates = tuple(int(r) for r in args.rates.split(",") if r.strip())
    except ValueError:
        parser.error(f"--rates takes whole numbers separated by commas, not {args.rates!r}")
    if args.quick:
        rates, args.seconds = (50, 200), 1.5
    if not rates or min(*rates, args.headline) <= 0 or args.seconds <= 0 or args.users <= 0:
        parser.error("--rates, --headline, --seconds and --users must be positive")
    return replace(
        BENCH_DEFAULT,
        backends=backends,
        rates=tuple(sorted({*rates, args.headline})),
        step_seconds=args.seconds,
        headline_rate=args.headline,
        users=args.users,
        budget=args.budget_ms / 1000,
        seed=args.seed,
    )


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    started = time.monotonic()
    print(
        f"slack bench: {', '.join(BACKENDS[b] for b in config.backends)}; rates "
        f"{', '.join(map(str, config.rates))}/s, {config.step_seconds:g} s each, "
        f"{config.users} people; mix {MIX}",
        flush=True,
    )
    try:
        results = asyncio.run(run(config))
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print()
    print(table(results, config))
    print(f"\n({time.monotonic() - started:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
