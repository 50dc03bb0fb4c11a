"""The one Settings class. Every setting is read from the environment (or `.env`).

Most names carry the `ATOM_` prefix; the handful that other tools already standardise
(`SLACK_BOT_TOKEN`, `OPENAI_API_KEY`, `DEEPGRAM_API_KEY`, …) are read under their usual
names too. `.env.example` lists every one with a comment.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _env(name: str) -> AliasChoices:
    """Accept both `NAME` and `ATOM_NAME` for settings other tools already name."""
    return AliasChoices(name, f"ATOM_{name}")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ATOM_",
        env_file=".env",
        extra="ignore",
        populate_by_name=True,
    )

    # --- storage -----------------------------------------------------------------
    database_url: str = "sqlite+aiosqlite:///./.atom/atom.db"
    data_dir: str = "./.atom"
    # Files passed between steps (connectors/artifacts.py). Several workers of one
    # deployment must share this folder (e.g. a mounted volume); "" = <data_dir>/artifacts.
    artifact_dir: str = ""
    artifact_max_bytes: int = 100 * 1024 * 1024
    artifact_retention_days: int = 7

    # --- logging -----------------------------------------------------------------
    log_level: str = "INFO"
    log_json: bool = True

    # --- Slack -------------------------------------------------------------------
    slack_bot_token: SecretStr | None = Field(None, validation_alias=_env("SLACK_BOT_TOKEN"))
    slack_app_token: SecretStr | None = Field(None, validation_alias=_env("SLACK_APP_TOKEN"))
    slack_signing_secret: SecretStr | None = Field(
        None, validation_alias=_env("SLACK_SIGNING_SECRET")
    )
    slack_client_id: str | None = Field(None, validation_alias=_env("SLACK_CLIENT_ID"))
    slack_client_secret: SecretStr | None = Field(
        None, validation_alias=_env("SLACK_CLIENT_SECRET")
    )
    slack_api_url: str = "https://slack.com/api/"
    event_dedupe_hours: int = 24

    # --- the web side app (OAuth callbacks, webhooks, Slack HTTP endpoint) -----------
    http_host: str = "127.0.0.1"
    http_port: int = 3000
    public_url: str = "http://127.0.0.1:3000"
    secret_key: SecretStr = SecretStr("dev-insecure-secret-change-me")
    encryption_keys: SecretStr | None = None

    # --- planner (OpenAI or any OpenAI-compatible server) --------------------------
    openai_api_key: SecretStr | None = Field(None, validation_alias=_env("OPENAI_API_KEY"))
    openai_base_url: str | None = Field(None, validation_alias=_env("OPENAI_BASE_URL"))
    llm_model: str = "gpt-4o-mini"
    llm_timeout_seconds: float = 30.0

    # --- speech to text ------------------------------------------------------------
    stt_provider: str = "deepgram"
    deepgram_api_key: SecretStr | None = Field(None, validation_alias=_env("DEEPGRAM_API_KEY"))
    deepgram_base_url: str = "https://api.deepgram.com"
    stt_language: str = "en"
    voice_max_bytes: int = 25 * 1024 * 1024

    # --- services: base URLs (the sandbox replaces these) ---------------------------
    github_base_url: str = "https://api.github.com"
    trello_base_url: str = "https://api.trello.com/1"
    asana_base_url: str = "https://app.asana.com/api/1.0"
    google_calendar_base_url: str = "https://www.googleapis.com/calendar/v3"
    gmail_base_url: str = "https://gmail.googleapis.com"
    google_drive_base_url: str = "https://www.googleapis.com"
    dropbox_base_url: str = "https://api.dropboxapi.com/2"
    dropbox_content_url: str = "https://content.dropboxapi.com/2"
    http_base_url: str = ""

    # --- services: OAuth clients and webhook secrets --------------------------------
    github_client_id: str | None = None
    github_client_secret: SecretStr | None = None
    github_webhook_secret: SecretStr | None = None
    google_client_id: str | None = None
    google_client_secret: SecretStr | None = None
    asana_client_id: str | None = None
    asana_client_secret: SecretStr | None = None
    dropbox_app_key: str | None = None
    dropbox_app_secret: SecretStr | None = None
    trello_api_key: str | None = None
    oauth_base_url: str | None = None

    # --- outgoing HTTP (connectors/client.py) ----------------------------------------
    http_timeout_seconds: float = 20.0
    http_max_retries: int = 2
    http_max_retry_wait_seconds: float = 60.0
    circuit_failure_threshold: int = 5
    circuit_reset_seconds: float = 30.0

    # --- engine and scheduler ---------------------------------------------------------
    step_timeout_seconds: float = 60.0
    step_max_attempts: int = 3
    run_lease_seconds: float = 60.0
    misfire_grace_seconds: int = 300
    poll_interval_seconds: int = 60
    # --- scheduler (workflows/scheduling) ---
    poll_intervals: dict[str, int] = Field(
        default_factory=dict,
        description='Per-connector poll interval in seconds, e.g. {"gmail": 120, "github": 30}',
    )


@lru_cache
def get_settings() -> Settings:
    return Settings()
