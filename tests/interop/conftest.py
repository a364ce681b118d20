"""Fixtures of the interoperability suite.

- `dcmdisc_factory(**config)`: a fresh dcmdisc (own temp dir, free port, config with
  bind_address 127.0.0.1, the default remotes registered), started unless
  `start=False`; killed at teardown.
- `server`: a freshly started dcmdisc with the default config, one per test.
- `shared_server`: one started dcmdisc per test module, for tests that only read.

When a test fails, the stderr of every dcmdisc it used is attached to the report.
"""

from __future__ import annotations

import logging
import time

import pytest

import helpers
from helpers import Dcmdisc, create_dcmdisc

logging.getLogger("pynetdicom").setLevel(logging.CRITICAL)


@pytest.fixture
def dcmdisc_factory(tmp_path):
    made: list[Dcmdisc] = []

    def factory(name: str = "dcmdisc", **kwargs) -> Dcmdisc:
        d = create_dcmdisc(tmp_path / f"{name}-{len(made)}", **kwargs)
        made.append(d)
        return d

    yield factory
    for d in made:
        d.kill()


@pytest.fixture
def server(dcmdisc_factory) -> Dcmdisc:
    return dcmdisc_factory("server")


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory) -> Dcmdisc:
    d = create_dcmdisc(tmp_path_factory.mktemp("shared"))
    yield d
    d.kill()


# --------------------------------------------------------------------------- reporting


def pytest_runtest_setup(item):
    item._dcmdisc_test_start = time.time()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    since = getattr(item, "_dcmdisc_test_start", 0)
    for d in helpers.SERVERS:
        if d.started_at is None:
            continue
        if d.stopped_at is not None and d.stopped_at < since:
            continue
        text = d.log_text()
        lines = text.splitlines()[-200:]
        report.sections.append((f"dcmdisc serve log ({d.log_path})", "\n".join(lines)))
