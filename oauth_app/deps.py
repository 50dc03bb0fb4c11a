"""Dependencies shared by the routers (FastAPI `Annotated` aliases)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from core.db import Database
from core.settings import Settings
from oauth_app.metrics import Metrics


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_database(request: Request) -> Database:
    return request.app.state.database


def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
