"""dciodvfy (Debian's dicom3tools): an independent validator for the DICOM MedLens writes.

``./test.sh`` installs it when it can and otherwise sets ``MEDLENS_SKIP_DCIODVFY`` to the
reason. Without the tool these tests skip with that reason through ``skip_for_system``, which
fails them under CI (``CI=true``): a green CI must mean the files were validated.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import skip_for_system

DCIODVFY = shutil.which("dciodvfy")


def _reason() -> str:
    return os.environ.get("MEDLENS_SKIP_DCIODVFY") or "dciodvfy (Debian package dicom3tools) is not installed"


def pytest_report_header(config: pytest.Config) -> str:
    return f"dciodvfy: {DCIODVFY}" if DCIODVFY else f"dciodvfy tests will be skipped: {_reason()}"


_VALUE = re.compile(r"\[\d+\] = <.*$|<[0-9.]+>|ReferencedSOPInstanceUID \S+")


def normalise(line: str) -> str:
    """An error line without the value it quotes (values change under de-identification)."""
    return _VALUE.sub("", line.removeprefix("Error - ")).strip()


@pytest.fixture
def dciodvfy() -> Callable[[Path], set[str]]:
    """``errors(path)``: the set of (normalised) error lines dciodvfy reports for a file."""
    if not DCIODVFY:
        skip_for_system(_reason())

    def errors(path: Path) -> set[str]:
        done = subprocess.run([DCIODVFY, str(path)], capture_output=True, text=True, timeout=120)
        return {normalise(line) for line in (done.stdout + done.stderr).splitlines() if line.startswith("Error")}

    return errors
