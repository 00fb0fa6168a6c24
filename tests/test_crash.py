"""A crawl killed with SIGKILL at any moment leaves a consistent archive, and the next run
finishes the work: the same items, content hashes, links, stories and pairs as an uninterrupted
crawl. The kills are drawn from fixed seeds (tests/crashtest.py); `pytest -m slow` adds a new random
seed, printed (CRASHTEST_SEED replays it, CRASHTEST_KILLS sets the number of kills)."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import crashtest
from tests.crashtest import KillPoint, Site, check_complete, check_consistent, run_crawl

# 12 kills reach the rounds where the seeds below failed (seed 777: round 8, after 9 to 11 kills).
KILLS = int(os.environ.get("CRASHTEST_KILLS", "12"))
# Fixed seeds, so that CI's result never depends on a random draw. 12345, 598777, 44444 and 777
# each left a story unlinked before the link queue (newsarchive/linking/queue.py), every time; the
# others are further draws kept for their spread of kill modes.
SEEDS = (12345, 598777, 44444, 777, 31337, 2024)


def _run_seed(site: Site, tmp_path: Path, seed: int) -> None:
    print(f"crash test seed {seed} (replay: CRASHTEST_SEED={seed})")
    report = crashtest.run(KILLS, seed, site, tmp_path)
    print(report.summary())
    assert len(report.kills) >= KILLS, f"seed {seed}"
    assert {kill.point.mode for kill in report.kills} & {"responses", "time"}, f"seed {seed}"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with crashtest.crash_site(tmp_path_factory.mktemp("crash")) as served:
        yield served


@pytest.mark.parametrize("seed", SEEDS)
def test_sigkills_then_reruns_give_the_uninterrupted_archive(
    site: Site, tmp_path: Path, seed: int
) -> None:
    _run_seed(site, tmp_path, seed)


@pytest.mark.slow
def test_random_sigkills_then_reruns_give_the_uninterrupted_archive(
    site: Site, tmp_path: Path
) -> None:
    seed = int(os.environ.get("CRASHTEST_SEED") or random.SystemRandom().randrange(10**6))
    _run_seed(site, tmp_path, seed)


def test_a_crawl_killed_while_linking_a_killed_crawls_items_loses_none_of_them(
    site: Site, tmp_path: Path
) -> None:
    # The second crawl takes over the first one's unlinked items and is killed as it starts
    # linking them: the third must still link both crawls' items.
    scenario = crashtest.SCENARIOS[0]
    reference = site.references[scenario.name]
    db = tmp_path / "archive.db"
    first = run_crawl(site.server, db, scenario, KillPoint("stored", stored=5))
    assert first.killed
    assert check_consistent(db, reference.state) > 0
    second = run_crawl(site.server, db, scenario, KillPoint("closing", seconds=0.0))
    assert second.killed
    check_consistent(db, reference.state)
    third = run_crawl(site.server, db, scenario)
    assert third.code == 0, third.log[-20:]
    check_complete(db, reference.state, killed_runs=2)
