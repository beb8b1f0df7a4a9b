"""The Kubernetes CronJobs in deploy/k8s: the digest's runs are retried but never concurrent,
and both jobs run the commands the docs describe."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.settings import Settings
from tests.slack.conftest import ROOT

K8S = ROOT / "deploy" / "k8s"


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load(Path(K8S / name).read_text())


def container(job: dict[str, Any]) -> dict[str, Any]:
    [only] = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    return only


@pytest.mark.parametrize("name", ["cronjob-digest.yaml", "cronjob-ingest.yaml"])
def test_a_cronjob_that_never_overlaps(name: str) -> None:
    job = load(name)
    assert (job["apiVersion"], job["kind"]) == ("batch/v1", "CronJob")
    spec = job["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["startingDeadlineSeconds"] > 0
    assert spec["jobTemplate"]["spec"]["backoffLimit"] <= 1
    ZoneInfo(spec["timeZone"])  # a real IANA zone
    assert len(spec["schedule"].split()) == 5
    template = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert template["restartPolicy"] in ("Never", "OnFailure")


def test_the_digest_job_posts_at_the_default_time_in_the_default_zone() -> None:
    job = load("cronjob-digest.yaml")
    assert job["spec"]["timeZone"] == Settings.model_fields["digest_tz"].default
    minute, hour, *_ = job["spec"]["schedule"].split()
    default = Settings.model_fields["digest_time"].default
    assert (int(hour), int(minute)) == (default.hour, default.minute)
    assert container(job)["args"] == ["digest", "--post"]


def test_the_ingest_job_polls_the_feeds() -> None:
    assert container(load("cronjob-ingest.yaml"))["args"] == ["ingest", "--feeds"]
