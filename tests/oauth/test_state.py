"""The OAuth `state`: signed, single-use, expiring, bound to team + user + service. Every
bad state gets a 400 page and nothing is stored; and one workspace's user can never use,
see or remove another workspace's connections."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx
import itsdangerous.timed
import pytest

from connectors.connections import STATE_PURPOSE, ConnectError
from connectors.vault import ConnectionKey
from core.security import BadSignedValue, Signer
from tests.oauth.conftest import ALICE, BOB, REPO, SECRET_KEY, TEAM_A, TEAM_B, Atom, query_of


async def provider_callback(atom: Atom, service: str, team: str = TEAM_A, user: str = ALICE) -> str:
    """A genuine callback URL (code + state) from a consent, not yet visited."""
    link = await atom.connections.connect_url(team, user, service)
    start = await atom.browser.client.get(link)
    consent = await atom.browser.client.get(start.headers["location"])
    callback = consent.headers["location"]
    assert callback.startswith(f"{atom.url}/oauth/{service}/callback?")
    return callback


def with_state(callback: str, state: str) -> str:
    query = query_of(callback)
    path = callback.split("?")[0]
    return f"{path}?{urlencode({**query, 'state': state})}"


async def assert_refused(atom: Atom, response: httpx.Response, words: str) -> None:
    assert response.status_code == 400, response.text
    assert words in response.text
    assert await atom.connections.list(TEAM_A, ALICE) == []
    assert await atom.connections.list(TEAM_B, ALICE) == []


async def test_tampered_state_is_refused(atom: Atom) -> None:
    callback = await provider_callback(atom, "github")
    state = query_of(callback)["state"]
    tampered = state[:-3] + ("AAA" if not state.endswith("AAA") else "BBB")
    seen = len(atom.dms())

    response = await atom.browser.client.get(with_state(callback, tampered))

    await assert_refused(atom, response, "connect link is not valid")
    assert len(atom.dms()) == seen  # an unverifiable state names nobody to tell


async def test_missing_state_is_refused(atom: Atom) -> None:
    response = await atom.browser.client.get(f"{atom.url}/oauth/github/callback?code=abc")
    await assert_refused(atom, response, "not valid")
    response = await atom.browser.client.get(f"{atom.url}/oauth/github/start")
    await assert_refused(atom, response, "not valid")


async def test_replayed_state_is_refused(atom: Atom) -> None:
    callback = await provider_callback(atom, "github")
    assert (await atom.browser.client.get(callback)).status_code == 200
    await atom.connections.disconnect(TEAM_A, ALICE, "github")

    again = await atom.browser.client.get(callback)
    # a fresh code with the used state is refused just the same
    fresh = await provider_callback(atom, "github")
    replay = await atom.browser.client.get(with_state(fresh, query_of(callback)["state"]))

    for response in (again, replay):
        await assert_refused(atom, response, "already used")


async def test_expired_state_is_refused_and_the_user_told(atom: Atom) -> None:
    callback = await provider_callback(atom, "github")
    atom.clock.advance(minutes=11)

    response = await atom.browser.client.get(callback)

    await assert_refused(atom, response, "has expired (links last 10 minutes)")
    assert "Could not connect GitHub" in atom.dms()[-1]["text"]
    start = await atom.browser.client.get(
        await atom.connections.connect_url(TEAM_A, ALICE, "github")
    )
    atom.clock.advance(minutes=11)
    stale_link = start.request.url
    assert (await atom.browser.client.get(str(stale_link))).status_code == 400


def test_signatures_expire_after_ten_minutes(monkeypatch: pytest.MonkeyPatch) -> None:
    signer = Signer(SECRET_KEY, STATE_PURPOSE)
    state = signer.sign({"t": TEAM_A, "u": ALICE, "s": "github", "n": "nonce"})
    real_time = itsdangerous.timed.time.time

    class Later:
        @staticmethod
        def time() -> float:
            return real_time() + 601

    monkeypatch.setattr(itsdangerous.timed, "time", Later)
    with pytest.raises(BadSignedValue) as raised:
        signer.verify(state, 600)
    assert raised.value.reason == "expired"
    assert raised.value.expired_payload == {"t": TEAM_A, "u": ALICE, "s": "github", "n": "nonce"}
    with pytest.raises(BadSignedValue, match="invalid"):
        Signer("another secret", STATE_PURPOSE).verify(state, 10**9)
    with pytest.raises(BadSignedValue, match="invalid"):
        Signer(SECRET_KEY, "another-purpose").verify(state, 10**9)


async def test_state_for_another_service_is_refused(atom: Atom) -> None:
    callback = await provider_callback(atom, "github")
    state = query_of(callback)["state"]

    response = await atom.browser.client.get(
        f"{atom.url}/oauth/asana/callback?{urlencode({'code': 'x', 'state': state})}"
    )

    await assert_refused(atom, response, "made to connect GitHub, not Asana")
    # the GitHub state is still good for GitHub
    assert (await atom.browser.client.get(callback)).status_code == 200


async def test_a_state_claiming_another_team_is_refused(atom: Atom) -> None:
    """Even a correctly signed state (as if the secret key leaked) cannot move team A's
    pending authorization to team B: the pending row is bound to team + user + service."""
    callback = await provider_callback(atom, "github", team=TEAM_A)
    signer = Signer(SECRET_KEY, STATE_PURPOSE)
    claims = signer.verify(query_of(callback)["state"], 600)
    forged = signer.sign({**claims, "t": TEAM_B})

    response = await atom.browser.client.get(with_state(callback, forged))

    await assert_refused(atom, response, "already used")
    # and team A's own state still completes, for team A only
    assert (await atom.browser.client.get(callback)).status_code == 200
    assert [c.service for c in await atom.connections.list(TEAM_A, ALICE)] == ["github"]
    assert await atom.connections.list(TEAM_B, ALICE) == []


async def test_a_user_of_one_team_cannot_use_see_or_remove_anothers_connection(atom: Atom) -> None:
    await atom.connect("github", team=TEAM_A, user=ALICE)

    # the same Slack user id in another workspace, and another user of the same one
    for team, user in ((TEAM_B, ALICE), (TEAM_A, BOB)):
        assert await atom.vault.for_service(team, user, "github") is None
        assert await atom.connections.list(team, user) == []
        assert not await atom.connections.disconnect(team, user, "github")
        with pytest.raises(Exception, match="github is not connected"):
            await atom.run("github.list_issues", {"repo": REPO}, team=team, user=user)
        assert await atom.connections.missing_scopes(team, user, "github", ["repo"]) == ["repo"]

    assert [c.service for c in await atom.connections.list(TEAM_A, ALICE)] == ["github"]
    assert (await atom.run("github.list_issues", {"repo": REPO})).model_dump()["issues"] == []


async def test_bad_service_pages(atom: Atom) -> None:
    response = await atom.browser.client.get(f"{atom.url}/oauth/gitlab/start?state=x")
    assert response.status_code == 400
    with pytest.raises(ConnectError, match="no service called"):
        await atom.connections.connect_url(TEAM_A, ALICE, "gitlab")
    assert await atom.vault.get(ConnectionKey(TEAM_A, ALICE, "gitlab")) is None
