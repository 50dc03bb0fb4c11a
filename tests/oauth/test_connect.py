"""Connecting accounts end to end: link -> provider consent -> callback -> tokens stored
encrypted -> a DM -> an action runs with them; provider quirks; disconnecting."""

from __future__ import annotations

import pytest

from connectors.connections import ConnectError
from connectors.vault import ConnectionKey
from tests.oauth.conftest import ALICE, REPO, TEAM_A, Atom, query_of
from workflows.store import AuditLog


async def test_github_connect_stores_encrypted_token_that_an_action_uses(atom: Atom) -> None:
    provider, github = atom.emulators.provider, atom.emulators.github

    page = await atom.connect("github")

    assert page.status_code == 200
    assert "GitHub connected" in page.text and "close this tab" in page.text
    assert page.headers["cache-control"] == "no-store"
    [info] = await atom.connections.list(TEAM_A, ALICE)
    assert (info.service, info.status, info.scopes) == ("github", "connected", ("repo",))

    # PKCE S256 on the way out, the verifier on the way back
    [authorize] = [r for r in provider.received("/github/authorize") if r.query.get("state")][-1:]
    assert authorize.query["code_challenge_method"] == "S256"
    assert authorize.query["scope"] == "repo"
    [exchange] = provider.token_requests("github", "authorization_code")[-1:]
    assert len(exchange["code_verifier"]) >= 43

    # the token works, and the database never saw it in plain text
    [consent] = provider.consents_of("github")[-1:]
    token = consent.access_tokens[0]
    assert token.startswith("gho_")
    assert token not in await atom.raw_rows()
    issues = await atom.run("github.list_issues", {"repo": REPO})
    assert issues.model_dump()["issues"] == []
    assert (
        github.received(f"/repos/{REPO}/issues")[-1].headers["authorization"] == f"Bearer {token}"
    )

    [dm] = atom.dms()[-1:]
    assert dm["text"].startswith("GitHub connected")


async def test_the_connected_account_is_named(atom: Atom) -> None:
    page = await atom.connect("asana")
    assert "Asana connected as ann@example.com" in page.text
    assert atom.dms()[-1]["text"].startswith("Asana connected as ann@example.com")

    page = await atom.connect("google_calendar")
    assert "Google Calendar connected as ann@example.com" in page.text
    info = await atom.vault.get(ConnectionKey(TEAM_A, ALICE, "google_calendar"))
    assert info is not None and "openid" in info.scopes


async def test_provider_quirks_in_the_authorization_url(atom: Atom) -> None:
    async def consent_url(service: str) -> str:
        link = await atom.connections.connect_url(TEAM_A, ALICE, service)
        start = await atom.browser.client.get(link)
        assert start.status_code == 302
        return start.headers["location"]

    google = query_of(await consent_url("google_calendar"))
    assert google["access_type"] == "offline" and google["prompt"] == "consent"
    assert google["code_challenge_method"] == "S256"
    assert "https://www.googleapis.com/auth/calendar.events" in google["scope"].split()

    trello = query_of(await consent_url("trello"))
    assert trello["response_type"] == "token" and trello["callback_method"] == "fragment"
    assert trello["scope"] == "read,write" and trello["expiration"] == "never"
    assert trello["key"] == atom.settings.trello_api_key
    assert trello["return_url"].startswith(f"{atom.url}/oauth/trello/callback?state=")


async def test_incremental_scopes_keep_what_was_granted(atom: Atom) -> None:
    await atom.connect("asana", scopes=["tasks:read"])
    link = await atom.connections.connect_url(TEAM_A, ALICE, "asana", ["stories:write"])
    start = await atom.browser.client.get(link)
    assert query_of(start.headers["location"])["scope"].split() == ["stories:write", "tasks:read"]
    missing = await atom.connections.missing_scopes(
        TEAM_A, ALICE, "asana", ["tasks:read", "tasks:write"]
    )
    assert missing == ["tasks:write"]


async def test_trello_token_flow_through_the_fragment(atom: Atom) -> None:
    page = await atom.connect("trello")

    assert page.status_code == 200, page.text
    assert "Trello connected" in page.text
    relay = [url for url in atom.browser.visited if "/oauth/trello/callback" in url]
    assert relay and "token" not in relay[0]  # the fragment never reached the server
    card = await atom.run("trello.create_card", {"list": "Inbox", "name": "From the vault"})
    assert card.model_dump()["name"] == "From the vault"
    [consent] = atom.emulators.provider.consents_of("trello")[-1:]
    assert consent.access_tokens[0] not in await atom.raw_rows()

    disconnected = await atom.connections.disconnect(TEAM_A, ALICE, "trello")
    assert disconnected.revoked and consent.revoked
    [revocation] = atom.emulators.provider.received(f"/trello/tokens/{consent.access_tokens[0]}")
    assert revocation.method == "DELETE" and revocation.query["key"] == atom.settings.trello_api_key


async def test_declined_consent_stores_nothing_and_says_so(atom: Atom) -> None:
    atom.emulators.provider.deny.add("github")

    page = await atom.connect("github")

    assert page.status_code == 400
    assert "did not allow ATOM to use GitHub" in page.text
    assert await atom.connections.list(TEAM_A, ALICE) == []
    assert atom.dms()[-1]["text"].startswith("Could not connect GitHub")


async def test_declined_trello_consent(atom: Atom) -> None:
    atom.emulators.provider.deny.add("trello")
    page = await atom.connect("trello")
    assert page.status_code == 400 and "did not allow ATOM to use Trello" in page.text
    assert await atom.connections.list(TEAM_A, ALICE) == []


async def test_provider_failure_shows_a_page_and_dms(atom: Atom) -> None:
    atom.emulators.provider.fail("/github/token", status=503)

    page = await atom.connect("github")

    assert page.status_code == 502
    assert "try again shortly" in page.text
    assert await atom.connections.list(TEAM_A, ALICE) == []
    assert "Could not connect GitHub" in atom.dms()[-1]["text"]


async def test_disconnect_revokes_at_the_provider_where_it_can(atom: Atom) -> None:
    provider = atom.emulators.provider
    await atom.connect("asana")
    await atom.connect("github")
    [asana_consent] = provider.consents_of("asana")[-1:]

    asana = await atom.connections.disconnect(TEAM_A, ALICE, "asana")

    assert asana and asana.revoked
    assert "revoked them at Asana" in asana.message
    [revocation] = provider.received("/asana/revoke")[-1:]
    form = revocation.form()
    assert form["token"] == asana_consent.refresh_token
    assert form["client_id"] == provider.clients["asana"].client_id
    assert asana_consent.revoked

    github = await atom.connections.disconnect(TEAM_A, ALICE, "github")
    assert github and not github.revoked
    assert "GitHub settings" in github.message
    assert await atom.connections.list(TEAM_A, ALICE) == []

    again = await atom.connections.disconnect(TEAM_A, ALICE, "github")
    assert not again and "nothing to disconnect" in again.message

    trail = await AuditLog(atom.database).entries(TEAM_A, subject=f"connection:asana:{ALICE}")
    assert [(e.action, e.actor) for e in reversed(trail)] == [
        ("connection.connected", ALICE),
        ("connection.disconnected", ALICE),
    ]
    assert trail[0].detail == {"revoked": True}
    assert trail[1].detail["account"] == "ann@example.com"


@pytest.mark.parametrize(
    ("service", "words"), [("gitlab", "no service called"), ("slack", "needs no connecting")]
)
async def test_unknown_or_unconnectable_services_are_explained(
    atom: Atom, service: str, words: str
) -> None:
    with pytest.raises(ConnectError, match=words):
        await atom.connections.connect_url(TEAM_A, ALICE, service)
