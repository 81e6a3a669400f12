"""A throwaway Orthanc (Debian's ``orthanc`` + ``orthanc-dicomweb``) for tests, benchmarks and demos.

Started on a free loopback port with a temporary storage folder, DICOM port off and no
authentication; it is a child process of the caller and is stopped (and its folder removed) by
``stop()`` or at the end of a ``with`` block. Never the system service.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ORTHANC_BINARY = "/usr/sbin/Orthanc"
PLUGIN_CANDIDATES = (
    "/usr/share/orthanc/plugins/libOrthancDicomWeb.so",
    "/usr/lib/orthanc/libOrthancDicomWeb.so",
)


def plugin_path() -> str | None:
    """The DICOMweb plugin of Debian's ``orthanc-dicomweb``, or None when it is not installed."""
    for candidate in PLUGIN_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    found = sorted(Path("/usr/lib/orthanc").glob("libOrthancDicomWeb.so*")) if Path("/usr/lib/orthanc").exists() else []
    return str(found[0]) if found else None


def missing_reason() -> str | None:
    """Why a local Orthanc with DICOMweb cannot be started here (None when it can)."""
    if not Path(ORTHANC_BINARY).exists() and shutil.which("Orthanc") is None:
        return "Debian's orthanc is not installed (apt-get install orthanc orthanc-dicomweb)"
    if plugin_path() is None:
        return "Debian's orthanc-dicomweb plugin is not installed (apt-get install orthanc-dicomweb)"
    return None


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LocalOrthanc:
    """One Orthanc process; ``url`` is its REST root, ``dicomweb_url`` its DICOMweb root."""

    port: int = 0
    folder: Path | None = None
    process: subprocess.Popen | None = None
    log_path: Path | None = None
    uploaded: list[str] = field(default_factory=list)
    users: dict[str, str] = field(default_factory=dict)  # basic-auth accounts; none = authentication off

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def dicomweb_url(self) -> str:
        return f"{self.url}/dicom-web"

    def start(self, timeout: float = 60.0) -> "LocalOrthanc":
        """Write a config, start Orthanc and wait until ``/system`` answers."""
        reason = missing_reason()
        if reason:
            raise RuntimeError(reason)
        self.port = self.port or free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="medlens-orthanc-"))
        config = {
            "Name": "MedLensTest",
            "StorageDirectory": str(self.folder / "storage"),
            "IndexDirectory": str(self.folder / "storage"),
            "HttpPort": self.port,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": bool(self.users),
            "RegisteredUsers": dict(self.users),
            "DicomServerEnabled": False,
            "DicomPort": 0,
            "HttpTimeout": 60,
            "StableAge": 1,
            "Plugins": [plugin_path()],
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": True, "Ssl": False,
                         "StudiesMetadata": "Full", "SeriesMetadata": "Full"},
        }
        config_path = self.folder / "orthanc.json"
        config_path.write_text(json.dumps(config))
        self.log_path = self.folder / "orthanc.log"
        binary = ORTHANC_BINARY if Path(ORTHANC_BINARY).exists() else shutil.which("Orthanc")
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen([binary, str(config_path)], stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Orthanc exited ({self.process.returncode}): {self.log_tail()}")
            try:
                if requests.get(f"{self.url}/system", timeout=2, auth=self._auth()).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Orthanc did not answer within {timeout:.0f} s")

    def _auth(self) -> tuple[str, str] | None:
        return next(iter(self.users.items())) if self.users else None

    def log_tail(self, n: int = 2000) -> str:
        return self.log_path.read_text(errors="replace")[-n:] if self.log_path and self.log_path.exists() else ""

    def upload(self, paths: list[Path]) -> list[str]:
        """POST each file to ``/instances`` (Orthanc's REST API); returns the Orthanc instance ids."""
        ids = []
        for path in paths:
            response = requests.post(f"{self.url}/instances", data=Path(path).read_bytes(), timeout=60,
                                     auth=self._auth())
            response.raise_for_status()
            ids.append(response.json()["ID"])
        self.uploaded.extend(ids)
        return ids

    def rest(self, path: str) -> object:
        """GET a REST resource as JSON (e.g. ``/studies``)."""
        response = requests.get(f"{self.url}{path}", timeout=30, auth=self._auth())
        response.raise_for_status()
        return response.json()

    def stop(self) -> None:
        """Stop the process and remove its storage folder."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def __enter__(self) -> "LocalOrthanc":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
