"""Settings from the environment and an optional ``.env`` file (pydantic-settings)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

import platformdirs
from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class SettingsError(Exception):
    """A missing or malformed setting: the message is one line that names the variable."""


def default_data_dir() -> Path:
    """A per-user folder: the index must never be written inside an installed package."""
    return Path(platformdirs.user_data_dir("newsbot", appauthor=False))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    corpus_dir: Path | None = Field(
        default=None, validation_alias=AliasChoices("NEWSBOT_CORPUS_DIR", "corpus_dir")
    )
    data_dir: Path = Field(
        default_factory=default_data_dir,
        validation_alias=AliasChoices("NEWSBOT_DATA_DIR", "data_dir"),
    )

    slack_bot_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_BOT_TOKEN", "slack_bot_token")
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "slack_signing_secret"),
    )
    slack_app_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_APP_TOKEN", "slack_app_token")
    )
    # Read only to refuse them: Bolt silently switches to OAuth when both are in the environment.
    slack_client_id: str | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_CLIENT_ID", "slack_client_id")
    )
    slack_client_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SLACK_CLIENT_SECRET", "slack_client_secret"),
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/",
        validation_alias=AliasChoices("SLACK_API_URL", "slack_api_url"),
    )
    listener_workers: int = Field(
        default=16,
        ge=1,
        le=256,
        validation_alias=AliasChoices("SLACK_LISTENER_WORKERS", "listener_workers"),
    )
    transport: Literal["socket", "http"] = Field(
        default="socket", validation_alias=AliasChoices("NEWSBOT_TRANSPORT", "transport")
    )
    host: str = Field(default="127.0.0.1", validation_alias=AliasChoices("NEWSBOT_HOST", "host"))
    port: int = Field(
        default=3000, ge=0, le=65535, validation_alias=AliasChoices("NEWSBOT_PORT", "port")
    )
    command: str = Field(
        default="/ukraine", validation_alias=AliasChoices("NEWSBOT_COMMAND", "command")
    )
    log_level: str = Field(
        default="INFO", validation_alias=AliasChoices("NEWSBOT_LOG_LEVEL", "log_level")
    )
    log_format: Literal["auto", "json", "console"] = Field(
        default="auto", validation_alias=AliasChoices("NEWSBOT_LOG_FORMAT", "log_format")
    )

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token_prefix(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token_prefix(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return value

    @field_validator("slack_signing_secret")
    @classmethod
    def _signing_secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"\S+", value.get_secret_value()):
            raise ValueError("must be the app's signing secret, one word without spaces")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError("must be an http(s) URL such as https://slack.com/api/")
        # slack-sdk joins method names with urljoin, which drops a last path segment without "/".
        return value if value.endswith("/") else value + "/"

    @field_validator("command")
    @classmethod
    def _command_name(cls, value: str) -> str:
        if not re.fullmatch(r"/[a-z0-9_-]{1,31}", value):
            raise ValueError("must be a slash command such as /ukraine (lowercase, at most 32)")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value.upper() not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return value.upper()

    @model_validator(mode="after")
    def _single_workspace(self) -> Settings:
        if self.slack_client_id is not None and self.slack_client_secret is not None:
            raise ValueError(
                "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET: both are set, but newsbot is a "
                "single-workspace app, and Bolt would switch to OAuth and ignore SLACK_BOT_TOKEN; "
                "unset them"
            )
        return self

    def check_for_serving(self) -> None:
        """Refuses to serve without the credentials that the chosen transport needs."""
        required = ["SLACK_BOT_TOKEN"]
        required.append("SLACK_APP_TOKEN" if self.transport == "socket" else "SLACK_SIGNING_SECRET")
        values = {
            "SLACK_BOT_TOKEN": self.slack_bot_token,
            "SLACK_APP_TOKEN": self.slack_app_token,
            "SLACK_SIGNING_SECRET": self.slack_signing_secret,
        }
        missing = [name for name in required if values[name] is None]
        if missing:
            raise SettingsError(
                f"{', '.join(missing)} not set: NEWSBOT_TRANSPORT={self.transport} needs "
                f"{' and '.join(required)}"
            )


def secret(value: SecretStr | None) -> str | None:
    return None if value is None else value.get_secret_value()


def load_settings(**overrides: Any) -> Settings:
    """Settings, or a `SettingsError` whose one line names each bad variable (never its value)."""
    try:
        return Settings(**overrides)
    except ValidationError as err:
        raise SettingsError(_one_line(err)) from None


def _one_line(err: ValidationError) -> str:
    problems = []
    for error in err.errors(include_input=False, include_url=False):
        message = error["msg"].removeprefix("Value error, ")
        if error["loc"]:
            problems.append(f"{_env_name(str(error['loc'][0]))}: {message}")
        else:
            problems.append(message)
    return "invalid settings: " + "; ".join(problems)


def _env_name(field: str) -> str:
    info = Settings.model_fields.get(field)
    alias = info.validation_alias if info else None
    if isinstance(alias, AliasChoices) and isinstance(alias.choices[0], str):
        return alias.choices[0]
    return field
