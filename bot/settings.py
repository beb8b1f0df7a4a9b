"""Settings from the environment and an optional ``.env`` file (pydantic-settings)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs
from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# Public and private channels; a name ("#desk") can be renamed, so claims key on the ID.
CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,30}")


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

    # --- ingestion, the index's refresh, the daily digest ---
    feeds: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=AliasChoices("NEWSBOT_FEEDS", "feeds")
    )
    refresh_s: float = Field(
        default=60.0,
        gt=0,
        le=86400,
        validation_alias=AliasChoices("NEWSBOT_REFRESH_S", "refresh_s"),
    )
    # `/ukraine add URL` lets anyone in the workspace make the server fetch a URL: by default
    # only public addresses, so that it cannot read the cluster's internal services.
    allow_private_urls: bool = Field(
        default=False,
        validation_alias=AliasChoices("NEWSBOT_ALLOW_PRIVATE_URLS", "allow_private_urls"),
    )
    state_path: Path | None = Field(
        default=None, validation_alias=AliasChoices("NEWSBOT_STATE_PATH", "state_path")
    )
    # The state replicas share (bot/state.py): postgresql://user:password@host:5432/db. A secret,
    # because it may hold the password; unset, a SQLite file (NEWSBOT_STATE_PATH, data folder).
    state_url: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("NEWSBOT_STATE_URL", "state_url")
    )
    # --- the retrieval engine: embedded (tantivy + SQLite in the data folder) or OpenSearch ---
    engine: Literal["embedded", "opensearch"] = Field(
        default="embedded", validation_alias=AliasChoices("NEWSBOT_ENGINE", "engine")
    )
    # A secret: it may hold the credentials (https://user:password@host:9200).
    opensearch_url: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENSEARCH_URL", "opensearch_url")
    )
    opensearch_user: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENSEARCH_USER", "opensearch_user")
    )
    opensearch_password: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("OPENSEARCH_PASSWORD", "opensearch_password"),
    )
    # Every index and alias newsbot makes starts with it: several installs share a cluster.
    opensearch_index_prefix: str = Field(
        default="newsbot",
        validation_alias=AliasChoices("OPENSEARCH_INDEX_PREFIX", "opensearch_index_prefix"),
    )
    opensearch_verify_certs: bool = Field(
        default=True,
        validation_alias=AliasChoices("OPENSEARCH_VERIFY_CERTS", "opensearch_verify_certs"),
    )
    digest_channel: str | None = Field(
        default=None, validation_alias=AliasChoices("DIGEST_CHANNEL", "digest_channel")
    )
    digest_time: dt.time = Field(
        default=dt.time(7, 0), validation_alias=AliasChoices("DIGEST_TIME", "digest_time")
    )
    # The story's own time zone, and the CronJob's in deploy/k8s: 07:00 is the desk's morning
    # in Kyiv whatever the season (UTC would move it by an hour twice a year).
    digest_tz: str = Field(
        default="Europe/Kyiv", validation_alias=AliasChoices("DIGEST_TZ", "digest_tz")
    )
    digest_quiet: Literal["line", "skip"] = Field(
        default="line", validation_alias=AliasChoices("DIGEST_QUIET", "digest_quiet")
    )
    digest_pace_s: float = Field(
        default=1.0, ge=1, le=60, validation_alias=AliasChoices("DIGEST_PACE_S", "digest_pace_s")
    )
    # Each process or replica with a scheduler would post (the claim stops the duplicates, but
    # not the wasted work): in-process scheduling is opt-in, for a single-replica install.
    digest_scheduler: Literal["off", "inprocess"] = Field(
        default="off", validation_alias=AliasChoices("DIGEST_SCHEDULER", "digest_scheduler")
    )
    digest_claim_timeout_s: float = Field(
        default=600.0,
        gt=0,
        validation_alias=AliasChoices("DIGEST_CLAIM_TIMEOUT_S", "digest_claim_timeout_s"),
    )

    @field_validator("corpus_dir", "state_path", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        # An empty path would be the working directory: `NEWSBOT_CORPUS_DIR=` means "not set".
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("state_url", "opensearch_url", mode="before")
    @classmethod
    def _secret_url(cls, value: Any, info: ValidationInfo) -> Any:
        """Blank is unset; a URL is checked without ever repeating it (it may hold a password)."""
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if not isinstance(value, str) or not value.strip():
            return None
        check = database_url if info.field_name == "state_url" else opensearch_url
        return check(value.strip())

    @field_validator("opensearch_index_prefix")
    @classmethod
    def _index_prefix(cls, value: str) -> str:
        # OpenSearch index names are lowercase, without spaces or any of \ / * ? " < > | , #.
        if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,59}", value):
            raise ValueError("must be lowercase letters, digits, '-', '_' or '.', e.g. newsbot")
        return value

    @field_validator("feeds", mode="before")
    @classmethod
    def _feed_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [url.strip() for url in value.split(",") if url.strip()]
        for url in value if isinstance(value, list) else []:
            if not re.match(r"https?://[^\s/]+", str(url)):
                raise ValueError(f"{url!r} is not an http(s) URL (separate feeds with commas)")
        return value

    @field_validator("digest_channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        return None if value is None or not value.strip() else channel_id(value)

    @field_validator("digest_time", mode="before")
    @classmethod
    def _hh_mm(cls, value: Any) -> Any:
        if isinstance(value, str):
            match = re.fullmatch(r"\s*([01]?\d|2[0-3]):([0-5]\d)\s*", value)
            if not match:
                raise ValueError("must be HH:MM on a 24-hour clock, e.g. 07:00")
            return dt.time(int(match[1]), int(match[2]))
        return value

    @field_validator("digest_tz")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone such as Europe/Kyiv or UTC") from None
        return value

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
        if self.digest_scheduler == "inprocess" and self.digest_channel is None:
            raise ValueError(
                "DIGEST_SCHEDULER=inprocess needs DIGEST_CHANNEL, the channel to post to"
            )
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.digest_tz)

    def state_file(self) -> Path:
        """The SQLite state file: its own setting, else beside the index."""
        return self.state_path or self.data_dir / "state.sqlite3"

    def state_database(self) -> str | Path:
        """The state database: NEWSBOT_STATE_URL's SQLAlchemy URL, else the SQLite file."""
        return secret(self.state_url) or self.state_file()

    def check_engine(self) -> None:
        """Refuses NEWSBOT_ENGINE=opensearch without a cluster to talk to."""
        if self.engine == "opensearch" and self.opensearch_url is None:
            raise SettingsError("OPENSEARCH_URL not set: NEWSBOT_ENGINE=opensearch needs it")

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


def channel_id(value: str) -> str:
    value = value.strip()
    if not CHANNEL_ID.fullmatch(value):
        raise ValueError(
            "must be a channel ID such as C0123456789 (in Slack: the channel's details, About)"
        )
    return value


def database_url(value: str) -> str:
    """``postgresql://`` (or ``postgres://``) with the driver newsbot ships, psycopg 3; SQLite
    as given. The message of an error never repeats the URL, which may hold a password."""
    from sqlalchemy.engine import make_url  # SQLAlchemy loads only for a configured database
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(value)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise ValueError(
            "must be a database URL such as postgresql://user:password@host:5432/newsbot"
        ) from None
    if url.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
        return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    if url.drivername == "sqlite":
        return value
    raise ValueError(
        f"{url.drivername} is not supported: use postgresql://… (or sqlite:///path/to/file)"
    )


def opensearch_url(value: str) -> str:
    """An http(s) URL of a cluster; the message of an error never repeats it."""
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError("must be an http(s) URL such as https://user:password@host:9200")
    return value


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
