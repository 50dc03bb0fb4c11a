"""The Slack benchmark still runs and measures what it says: a tiny load on bare Bolt and
ATOM/SQLite, through the same load generator process the benchmark uses."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

import pytest

from bench.slack_bench import (
    ACK_TIMEOUT,
    CLICK,
    COMMAND,
    DM,
    BenchConfig,
    Driver,
    LoadGenerator,
    Workload,
    add_people,
    atom_on_sqlite,
    parse_args,
    run,
    table,
)


@pytest.fixture(scope="module")
def generator() -> Iterator[LoadGenerator]:
    sender = LoadGenerator()
    yield sender
    sender.close()


async def test_atom_answers_each_kind_of_request(generator: LoadGenerator) -> None:
    async with atom_on_sqlite() as target:
        driver = Driver(target, Workload(target.slack, add_people(target.slack, 5), 3), generator)
        dms = await driver.step(20, 0.5, {DM: 1})
        assert dms.failed == 0
        assert len(dms.previews) == 10
        assert dms.missing_previews == 0
        assert all(0 < seconds < 5 for seconds in dms.previews)

        seen = len(target.slack.posted)
        clicks = await driver.step(20, 0.25, {CLICK: 1})
        commands = await driver.step(20, 0.25, {COMMAND: 1})
        posted = [json.dumps(p.data) for p in target.slack.posted[seen:]]
    assert clicks.failed == commands.failed == 0
    assert sum("Cancelled by" in text for text in posted) == 5  # real previews, each once
    assert any("workflow(s)" in text for text in posted)  # `/atom list` answered
    assert any("/atom help" in text for text in posted)  # `/atom help` answered


async def test_benchmark_reports_bolt_and_atom_side_by_side(generator: LoadGenerator) -> None:
    config = BenchConfig(
        backends=("bolt", "sqlite"), rates=(20,), headline_rate=20, step_seconds=1.0, users=10
    )
    bolt, atom = await run(config, generator)
    for result in (bolt, atom):
        step = result.at(20)
        assert step is not None
        assert len(step.outcomes) == 20
        assert step.failed == 0
        assert {o.kind for o in step.outcomes} == {DM, COMMAND, CLICK}
        assert 0 < step.ack(0.5) <= step.ack(0.99) < ACK_TIMEOUT
        assert step.cpu_seconds > 0
    assert bolt.at(20).previews == []  # type: ignore[union-attr]
    assert atom.at(20).missing_previews == 0  # type: ignore[union-attr]
    assert 0 < atom.at(20).preview(0.5) < 5  # type: ignore[union-attr]

    lines = table([bolt, atom], config).splitlines()
    assert lines[0].split()[:2] == ["backend", "ack"]
    assert lines[2].startswith("bare Bolt") and lines[2].endswith("1.0x")
    assert lines[3].startswith("ATOM/SQLite") and lines[3].endswith("x")
    assert "—" not in lines[3]  # every ATOM column was measured


def test_command_line_defaults_and_quick() -> None:
    default = parse_args([])
    assert default.backends == ("bolt", "sqlite", "postgres")
    assert default.headline_rate in default.rates
    quick = parse_args(["--quick", "--backends", "bolt"])
    assert quick.rates == (50, 200)
    assert quick.step_seconds == 1.5
    assert parse_args(["--rates", "30,10", "--headline", "20"]).rates == (10, 20, 30)
    with pytest.raises(SystemExit):
        parse_args(["--backends", "mysql"])
    assert math.isclose(parse_args(["--budget-ms", "50"]).budget, 0.05)
