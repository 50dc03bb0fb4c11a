"""Every setting is documented where a newcomer looks: .env.example and README.md."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import AliasChoices

from core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def env_names() -> list[str]:
    names = []
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names.append(
            alias.choices[0] if isinstance(alias, AliasChoices) else f"ATOM_{name.upper()}"
        )
    return names


@pytest.mark.parametrize("document", [".env.example", "README.md"])
def test_every_setting_is_documented(document: str) -> None:
    text = (ROOT / document).read_text()
    missing = [name for name in env_names() if name not in text]
    assert missing == []


def test_env_and_prefixed_names_both_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("ATOM_OPENAI_API_KEY", "sk-2")
    monkeypatch.setenv("ATOM_GITHUB_BASE_URL", "http://127.0.0.1:1")
    settings = Settings(_env_file=None)
    assert settings.slack_bot_token.get_secret_value() == "xoxb-1"
    assert settings.openai_api_key.get_secret_value() == "sk-2"
    assert settings.github_base_url == "http://127.0.0.1:1"
    assert "xoxb-1" not in repr(settings)


def test_default_database_is_embedded_sqlite() -> None:
    assert Settings(_env_file=None).database_url.startswith("sqlite+aiosqlite:///")
