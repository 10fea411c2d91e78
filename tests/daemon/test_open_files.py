"""The daemon raises its open-file limit: each watched agent holds three descriptors, and a
laptop's default soft limit (256 on macOS, 1024 on Linux) would stop a few hundred watchers."""

from __future__ import annotations

import resource
import subprocess
import sys

import pytest

CHILD = """
import resource
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
from agenticmail.daemon.run import raise_open_file_limit
print(raise_open_file_limit(4096), resource.getrlimit(resource.RLIMIT_NOFILE)[0])
"""


def test_a_low_soft_limit_is_raised_within_the_hard_one() -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard <= 256:
        pytest.skip("the hard limit leaves nothing to raise")
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                         check=True).stdout.split()
    expected = 4096 if hard == resource.RLIM_INFINITY else min(4096, hard)
    assert out == [str(expected), str(expected)]
