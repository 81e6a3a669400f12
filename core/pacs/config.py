"""Named DICOMweb servers: from the environment and from ``.streamlit/secrets.toml``.

Environment (one server): ``MEDLENS_DICOMWEB_URL`` (e.g. ``http://pacs:8042/dicom-web``), optional
``MEDLENS_DICOMWEB_NAME`` (default "PACS"), and either ``MEDLENS_DICOMWEB_USER`` +
``MEDLENS_DICOMWEB_PASSWORD`` (basic auth) or ``MEDLENS_DICOMWEB_TOKEN`` (bearer).
Secrets file (any number), one table per server::

    [dicomweb.orthanc]
    url = "http://127.0.0.1:8042/dicom-web"
    username = "medlens"      # basic auth (optional)
    password = "..."
    # token = "..."           # or a bearer token

Nothing of the PACS features shows when no server is configured. Credentials are never
printed: ``PacsServer.__repr__`` hides them.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from core.errors import InputError
from core.paths import REPO_ROOT

ENV_URL = "MEDLENS_DICOMWEB_URL"
SECRETS_TABLE = "dicomweb"


@dataclass(frozen=True)
class PacsServer:
    """One DICOMweb service: a display name, its root URL and optional credentials."""

    name: str
    url: str
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        parsed = urlparse(self.url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise InputError(f"PACS {self.name!r}: the DICOMweb URL must start with http:// or https:// and name a host")

    @property
    def auth(self) -> str:
        """"basic", "bearer" or "none" (for display; never the secret itself)."""
        return "bearer" if self.token else "basic" if self.username else "none"


def _from_env(env: dict[str, str]) -> list[PacsServer]:
    url = env.get(ENV_URL, "").strip()
    if not url:
        return []
    return [PacsServer(name=env.get("MEDLENS_DICOMWEB_NAME", "").strip() or "PACS", url=url.rstrip("/"),
                       username=env.get("MEDLENS_DICOMWEB_USER") or None,
                       password=env.get("MEDLENS_DICOMWEB_PASSWORD") or None,
                       token=env.get("MEDLENS_DICOMWEB_TOKEN") or None)]


def _from_secrets(path: Path) -> list[PacsServer]:
    if not path.is_file():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{path.name}: cannot be read as TOML ({type(exc).__name__})") from None
    table = data.get(SECRETS_TABLE) or {}
    if not isinstance(table, dict):
        raise InputError(f"{path.name}: [{SECRETS_TABLE}] must be a table of named servers")
    servers = []
    for name, entry in table.items():
        if not isinstance(entry, dict) or not entry.get("url"):
            raise InputError(f"{path.name}: [{SECRETS_TABLE}.{name}] needs a url")
        servers.append(PacsServer(name=str(name), url=str(entry["url"]).rstrip("/"),
                                  username=entry.get("username") or None, password=entry.get("password") or None,
                                  token=entry.get("token") or None))
    return servers


def secrets_path() -> Path:
    """``MEDLENS_SECRETS`` or ``.streamlit/secrets.toml`` of the repository."""
    return Path(os.environ.get("MEDLENS_SECRETS") or REPO_ROOT / ".streamlit" / "secrets.toml")


def configured_servers(env: dict[str, str] | None = None, secrets: Path | None = None) -> list[PacsServer]:
    """Every configured server (environment first, then the secrets file), names unique."""
    env = dict(os.environ) if env is None else env
    servers = _from_env(env) + _from_secrets(secrets or secrets_path())
    seen: dict[str, PacsServer] = {}
    for server in servers:
        seen.setdefault(server.name, server)
    return list(seen.values())


def server_for_url(url: str, username: str | None = None, password: str | None = None,
                   token: str | None = None) -> PacsServer:
    """An ad-hoc server (the command line's ``--url``)."""
    return PacsServer(name=urlparse(url).hostname or "PACS", url=url.rstrip("/"), username=username,
                      password=password, token=token)
