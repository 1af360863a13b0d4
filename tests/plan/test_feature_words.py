"""Features are named in words wherever a person reads a plan or a report: one mapping
(``planner.featurewords``) has a title for every feature key a plan's changes carry and every
feature a rule belongs to, and the Markdown plan shows those titles, never a bare key."""

from __future__ import annotations

import json
import re

from planner.featurewords import PLAN_TITLES, REPORT_TITLES, feature_title
from planner.render.plan_markdown import render_markdown
from planner.requirements.cloudsync import FEATURES as CLOUD_SYNC_FEATURES
from planner.rules.base import REGISTRY
from tests.plan.harness import SCENARIOS_DIR


def _plans() -> list[dict[str, object]]:
    return [json.loads(p.read_text()) for p in sorted(SCENARIOS_DIR.glob("*/plan.json"))]


def test_every_feature_a_plan_change_carries_has_a_title() -> None:
    keys = {
        key
        for doc in _plans()
        for section in ("resource_changes", "deferred_changes")
        for change in doc[section]  # type: ignore[attr-defined]
        for key in change.get("features") or ()
    }
    assert {"cloud_sync_group", "cloud_sync_password", "password", "group"} <= keys
    assert (keys | set(CLOUD_SYNC_FEATURES)) - set(PLAN_TITLES) == set()


def test_every_rule_feature_has_a_title() -> None:
    features = {r.info.feature for r in REGISTRY.values()}
    assert "cloud_sync" in features
    assert features - set(REPORT_TITLES) == set()
    assert feature_title("cloud_sync") == "Microsoft Entra Cloud Sync"
    assert feature_title("cloud_sync_group") == "Cloud Sync group provisioning to AD"
    assert feature_title("no-such-feature") == "no-such-feature"


def test_the_markdown_plan_titles_cloud_sync_blocks_in_words() -> None:
    doc = json.loads((SCENARIOS_DIR / "cloud-sync-gmsa-without-rights" / "plan.json").read_text())
    text = render_markdown(doc)
    titles = re.findall(r"<summary><b>([^<]+)</b> \(<code>([^<]+)</code>\)", text)
    assert ("Cloud Sync group provisioning to AD", "cloud_sync_group") in titles
    assert ("Cloud Sync password writeback", "cloud_sync_password") in titles
    assert all(title != key for title, key in titles)
    [quiet] = [line for line in text.splitlines() if line.startswith("**Nothing to change:**")]
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", quiet), quiet
