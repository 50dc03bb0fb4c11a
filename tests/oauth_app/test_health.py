"""/healthz, /readyz and /metrics of the web side app."""

from __future__ import annotations

import httpx

from core.db import Database
from core.settings import Settings
from oauth_app.app import create_web_app


def client_for(database: Database) -> httpx.AsyncClient:
    app = create_web_app(Settings(_env_file=None), database)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://atom")


async def test_ready_when_the_database_answers(database: Database) -> None:
    async with client_for(database) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": "ok"}


async def test_not_ready_when_the_database_is_down(tmp_path) -> None:
    unreachable = Database("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    async with client_for(unreachable) as client:
        response = await client.get("/readyz")
        assert (await client.get("/healthz")).status_code == 200
    await unreachable.dispose()
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


async def test_metrics_count_requests(database: Database) -> None:
    async with client_for(database) as client:
        await client.get("/healthz")
        await client.get("/healthz")
        metrics = (await client.get("/metrics")).text
    assert 'atom_http_requests_total{route="/healthz",status="200"} 2.0' in metrics
    assert "atom_http_request_seconds_bucket" in metrics
