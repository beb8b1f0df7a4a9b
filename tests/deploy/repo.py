"""What the deploy files are checked against: the settings newsbot reads, the commands it has,
the endpoints it serves, and the files of deploy/ and the image."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices

from bot.cli import main
from bot.serve import create_wsgi_app
from bot.settings import Settings
from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"

# Announced by issue 6 and used by the deploy files before the work that adds them to Settings
# (shared state in PostgreSQL) has landed; each name is harmless here once it is a setting, and
# can then be removed.
PENDING_SETTINGS = {"NEWSBOT_STATE_URL"}


def setting_names() -> set[str]:
    """The environment variables Settings reads: the upper-case name of each field's aliases."""
    names = set()
    for info in Settings.model_fields.values():
        alias = info.validation_alias
        choices = alias.choices if isinstance(alias, AliasChoices) else [alias]
        names.update(c for c in choices if isinstance(c, str) and c.isupper())
    return names


def known_names() -> set[str]:
    return setting_names() | PENDING_SETTINGS


def is_command(args: list[str], capsys: pytest.CaptureFixture[str]) -> bool:
    """Whether `newsbot ARGS` parses: the subcommand exists and takes these options, spelt out
    in full (argparse would also take an abbreviation that a later option makes ambiguous)."""
    with pytest.raises(SystemExit) as stop:
        main([*args, "--help"])
    usage = capsys.readouterr().out
    options = [a for a in args if a.startswith("-")]
    spelt_out = all(re.search(rf"(?<![\w-]){re.escape(o)}(?![\w-])", usage) for o in options)
    return stop.value.code == 0 and spelt_out


def load_yaml(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def manifests() -> dict[str, dict[str, Any]]:
    """Every Kubernetes object in deploy/k8s, by its path relative to deploy/k8s plus its kind,
    e.g. ``http/deployment.yaml:Deployment``."""
    found = {}
    for path in sorted(K8S.rglob("*.y*ml")):
        for doc in load_yaml(path):
            found[f"{path.relative_to(K8S)}:{doc.get('kind')}"] = doc
    return found


def served_paths() -> set[str]:
    """The paths of `newsbot serve` in HTTP mode (Socket Mode serves /healthz and /readyz)."""
    app = create_wsgi_app(object(), object())  # routing only: no request is handled
    return {rule.rule for rule in app.url_map.iter_rules()} - {"/static/<path:filename>"}


# --- the Dockerfile ------------------------------------------------------------------------


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]

    def env(self) -> dict[str, str]:
        pairs = [p.split("=", 1) for args in self.all("ENV") for p in shlex.split(args)]
        return {k: v for k, v in pairs}


def dockerfile_stages(path: Path = ROOT / "Dockerfile") -> list[Stage]:
    """The stages of a Dockerfile, with continuation lines joined and ARGs before the first
    FROM substituted into the FROM lines."""
    text = re.sub(r"\\\n", " ", path.read_text())
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), " ".join(rest.split())
        if keyword == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = default
        elif keyword == "FROM":
            words = rest.split()
            base = re.sub(r"\$\{(\w+)\}", lambda m: args[m[1]], words[0])
            stages.append(Stage(base, words[2] if len(words) == 3 else None))
        else:
            stages[-1].instructions.append((keyword, rest))
    return stages


# --- .dockerignore -------------------------------------------------------------------------


def _pattern(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regex: `**` any number of folders, `*` and `?` within one
    name, `[...]` a character class; a leading `/` means the context's root, as everywhere."""
    pattern = pattern.strip("/")
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def dockerignored(path: str, ignore: Path = ROOT / ".dockerignore") -> bool:
    """Docker's rule: a path is left out when the last pattern that matches it or one of its
    parent folders excludes it (a `!` pattern includes it again)."""
    rules = []
    for line in ignore.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            negate = line.startswith("!")
            rules.append((_pattern(line.lstrip("!")), not negate))
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    excluded = False
    for regex, excludes in rules:
        if any(regex.fullmatch(p) for p in prefixes):
            excluded = excludes
    return excluded
