"""deploy/docker-compose.yml: newsbot in HTTP mode on OpenSearch and PostgreSQL, started only
once both are healthy, configured from deploy/.env (whose template is deploy/.env.example)."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest
import yaml
from dotenv import dotenv_values

from bot.settings import load_settings
from tests.deploy.repo import (
    DEPLOY,
    dockerfile_stages,
    known_names,
    served_paths,
    setting_names,
)

COMPOSE = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
NEWSBOT = SERVICES["newsbot"]
EXAMPLE = DEPLOY / ".env.example"
# Read by compose itself (for the database's password), not by newsbot.
COMPOSE_VARIABLES = {"POSTGRES_PASSWORD"}


def test_three_services_each_with_a_healthcheck() -> None:
    assert set(SERVICES) == {"newsbot", "opensearch", "postgres"}
    for name, service in SERVICES.items():
        check = service["healthcheck"]
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name
        assert {"interval", "timeout", "retries"} <= set(check), name


def test_newsbot_starts_once_its_services_are_healthy() -> None:
    assert NEWSBOT["depends_on"] == {
        "opensearch": {"condition": "service_healthy"},
        "postgres": {"condition": "service_healthy"},
    }


def test_newsbot_is_built_from_this_repository_and_serves_http() -> None:
    assert NEWSBOT["build"]["context"] == ".."
    env = NEWSBOT["environment"]
    assert env["NEWSBOT_TRANSPORT"] == "http"
    port = dockerfile_stages()[-1].env()["NEWSBOT_PORT"]
    assert NEWSBOT["ports"] == [f"{port}:{port}"]
    path = re.search(r"127\.0\.0\.1:\d+(/\w+)", " ".join(NEWSBOT["healthcheck"]["test"]))[1]
    assert path in served_paths()


def test_newsbot_reaches_opensearch_and_postgres_by_their_service_names() -> None:
    env = NEWSBOT["environment"]
    assert set(env) <= known_names()
    assert env["NEWSBOT_ENGINE"] == "opensearch"
    assert urlparse(env["OPENSEARCH_URL"]).hostname == "opensearch"
    database = SERVICES["postgres"]["environment"]
    # One password, from .env, for both ends; compose refuses to start without it.
    password = r"\$\{POSTGRES_PASSWORD:\?[^}]+\}"
    assert re.fullmatch(password, database["POSTGRES_PASSWORD"])
    state = urlparse(re.sub(password, "secret", env["NEWSBOT_STATE_URL"]))
    assert (state.scheme, state.hostname) == ("postgresql", "postgres")
    assert state.username == database["POSTGRES_USER"]
    assert state.path == "/" + database["POSTGRES_DB"]
    assert state.password == "secret"


def test_opensearch_is_a_single_node_without_the_security_plugin() -> None:
    opensearch = SERVICES["opensearch"]
    assert opensearch["image"].startswith("opensearchproject/opensearch:")
    assert not opensearch["image"].endswith(":latest")
    env = opensearch["environment"]
    assert env["discovery.type"] == "single-node"
    assert env["DISABLE_SECURITY_PLUGIN"] == "true"
    assert "ports" not in opensearch  # nothing outside compose's network reaches it


def test_state_lives_in_named_volumes() -> None:
    for service in SERVICES.values():
        for mount in service.get("volumes", []):
            volume, _, _ = mount.partition(":")
            assert volume in COMPOSE["volumes"], mount
    mounts = dict(m.split(":") for m in NEWSBOT["volumes"])
    image_env = dockerfile_stages()[-1].env()
    assert set(mounts.values()) == {image_env["NEWSBOT_CORPUS_DIR"], image_env["NEWSBOT_DATA_DIR"]}


def test_the_env_file_template_names_only_newsbot_settings() -> None:
    assert NEWSBOT["env_file"] == ".env"
    names = set(dotenv_values(EXAMPLE))
    assert names - COMPOSE_VARIABLES <= setting_names(), names - setting_names()


def test_the_env_file_template_is_valid_for_http_serving(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in setting_names():
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(_env_file=EXAMPLE)
    settings.model_copy(update={"transport": "http"}).check_for_serving()
    assert settings.digest_scheduler == "off"
