"""Tokens that expire: renewed before they run out and once after a 401, one renewal for
many concurrent callers (also across processes), and a refused renewal turns the
connection expired and DMs the user a Reconnect button."""

from __future__ import annotations

import asyncio
import logging

import pytest

from connectors.base import AuthExpired, Unavailable
from connectors.vault import ConnectionKey
from tests.oauth.conftest import ALICE, REPO, TEAM_A, Atom, build_vault
from workflows.store import AuditLog

GITHUB = ConnectionKey(TEAM_A, ALICE, "github")


@pytest.fixture
async def expiring_github(atom: Atom) -> Atom:
    """Alice connected GitHub with a GitHub App: tokens last 8 hours, with refresh tokens."""
    atom.emulators.provider.expiring["github"] = True
    page = await atom.connect("github")
    assert page.status_code == 200
    return atom


def refreshes(atom: Atom) -> list[dict[str, str]]:
    return atom.emulators.provider.token_requests("github", "refresh_token")


async def test_token_is_renewed_before_it_expires(
    expiring_github: Atom, caplog: pytest.LogCaptureFixture
) -> None:
    atom = expiring_github
    caplog.set_level(logging.DEBUG)
    before = len(refreshes(atom))
    [consent] = atom.emulators.provider.consents_of("github")[-1:]
    first_token, first_refresh = consent.access_tokens[0], consent.refresh_token

    atom.clock.advance(hours=7, minutes=59, seconds=30)  # 30 s left: inside the leeway
    await atom.run("github.list_issues", {"repo": REPO})

    assert len(refreshes(atom)) == before + 1
    assert refreshes(atom)[-1]["refresh_token"] == first_refresh
    used = atom.emulators.github.received(f"/repos/{REPO}/issues")[-1].headers["authorization"]
    assert used == f"Bearer {consent.access_tokens[-1]}" != f"Bearer {first_token}"
    rows = await atom.raw_rows()
    assert consent.access_tokens[-1] not in rows and str(consent.refresh_token) not in rows
    info = await atom.vault.get(GITHUB)
    assert info is not None and info.expires_at is not None
    assert info.expires_at > atom.clock.now()
    assert "renewed the github connection" in caplog.text
    for secret in (*consent.access_tokens, consent.refresh_token, first_refresh):
        assert str(secret) not in caplog.text


async def test_a_rejected_token_is_renewed_once_and_the_call_retried(expiring_github: Atom) -> None:
    atom = expiring_github
    before = len(refreshes(atom))
    atom.emulators.provider.expire_access_tokens("github")  # GitHub now answers 401

    issues = await atom.run("github.list_issues", {"repo": REPO})

    assert issues.model_dump()["issues"] == []
    assert len(refreshes(atom)) == before + 1


async def test_concurrent_renewals_collapse_into_one(expiring_github: Atom) -> None:
    atom = expiring_github
    before = len(refreshes(atom))
    atom.clock.advance(hours=9)
    other_process = build_vault(
        atom.settings, atom.database, atom.registry, atom.cipher, atom.clock
    )
    sources = [
        await vault.for_service(TEAM_A, ALICE, "github") for vault in (atom.vault, other_process)
    ]

    results = await asyncio.gather(*(sources[i % 2].current() for i in range(8)))  # type: ignore[union-attr]

    assert len(refreshes(atom)) == before + 1
    assert len({c.access_token for c in results}) == 1


async def test_a_refused_renewal_expires_the_connection_and_dms_a_reconnect_button(
    expiring_github: Atom,
) -> None:
    atom = expiring_github
    seen = len(atom.dms())
    atom.emulators.provider.revoke_consents("github")  # the user removed ATOM at GitHub
    atom.clock.advance(hours=9)

    with pytest.raises(AuthExpired, match="/atom connect github"):
        await atom.run("github.list_issues", {"repo": REPO})

    info = await atom.vault.get(GITHUB)
    assert info is not None and info.status == "expired"
    assert await atom.vault.for_service(TEAM_A, ALICE, "github") is None
    [latest, *_] = await AuditLog(atom.database).entries(TEAM_A, f"connection:github:{ALICE}")
    assert (latest.action, latest.actor) == ("connection.expired", "atom")
    [dm] = [m for m in atom.dms()[seen:] if "expired" in m["text"]]
    [button] = next(b for b in dm["blocks"] if b["type"] == "actions")["elements"]
    assert button["text"]["text"] == "Reconnect GitHub"
    assert button["url"].startswith(f"{atom.url}/oauth/github/start?state=")

    # no second DM for the same expiry; the button connects again
    await atom.vault.mark_expired(GITHUB, "again")
    assert len([m for m in atom.dms()[seen:] if "expired" in m["text"]]) == 1
    page = await atom.browser.open(button["url"])
    assert page.status_code == 200 and "GitHub connected" in page.text
    assert await atom.vault.for_service(TEAM_A, ALICE, "github") is not None


async def test_a_401_without_refresh_token_expires_the_connection(atom: Atom) -> None:
    await atom.connect("github")  # an OAuth app token: no refresh token
    atom.emulators.provider.revoke_consents("github")

    with pytest.raises(AuthExpired):
        await atom.run("github.list_issues", {"repo": REPO})

    info = await atom.vault.get(GITHUB)
    assert info is not None and info.status == "expired"
    assert "expired" in atom.dms()[-1]["text"]


async def test_an_unreachable_provider_keeps_the_connection(expiring_github: Atom) -> None:
    atom = expiring_github
    atom.emulators.provider.fail("/github/token", status=503)
    atom.clock.advance(hours=9)
    source = await atom.vault.for_service(TEAM_A, ALICE, "github")
    assert source is not None

    with pytest.raises(Unavailable, match="try again shortly"):
        await source.current()

    info = await atom.vault.get(GITHUB)
    assert info is not None and info.status == "connected"
    assert (await source.current()).access_token  # the next call renews it
