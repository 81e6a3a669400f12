"""A ``dicomweb_client.DICOMwebClient`` for a configured server, with byte counting and one-line errors.

Every response goes through a hook that counts the bytes as they arrive (also for streamed
multipart WADO-RS) and refuses past a budget, so a fetch is bounded like an upload. HTTP and
connection failures become ``InputError`` with the server's name and status, never a traceback.
"""

from __future__ import annotations

import contextlib
from typing import Callable, Iterator

import requests
from dicomweb_client.api import DICOMwebClient

from core.errors import InputError
from core.pacs.config import PacsServer

TIMEOUT = (5.0, 120.0)  # connect, read (seconds)
ANSWER_LIMIT = 64 * 2**20  # search results and thumbnails: a server cannot make us hold more than this


class ByteBudget:
    """Counts response bytes against a limit; ``on_bytes`` reports progress (total so far)."""

    def __init__(self, limit: int | None = None, label: str = "PACS", on_bytes: Callable[[int], None] | None = None):
        self.limit = limit
        self.label = label
        self.total = 0
        self.on_bytes = on_bytes

    def add(self, n: int) -> None:
        self.total += n
        if self.limit is not None and self.total > self.limit:
            raise InputError(f"{self.label}: the server sent more than {self.limit / 2**20:.0f} MB, the fetch limit "
                             "(MEDLENS_MAX_FETCH_MB); pick a smaller series or raise the limit")
        if self.on_bytes is not None:
            self.on_bytes(self.total)

    def hook(self, response: requests.Response, *args: object, **kwargs: object) -> requests.Response:
        """requests response hook: check Content-Length, then wrap ``iter_content`` to count."""
        declared = response.headers.get("Content-Length")
        if self.limit is not None and declared and declared.isdigit() and self.total + int(declared) > self.limit:
            response.close()
            self.add(int(declared))  # raises
        original = response.iter_content

        def counted(chunk_size: int = 1, decode_unicode: bool = False) -> Iterator[bytes]:
            for chunk in original(chunk_size=chunk_size, decode_unicode=decode_unicode):
                self.add(len(chunk))
                yield chunk

        response.iter_content = counted  # type: ignore[method-assign]
        return response


class _Session(requests.Session):
    """A session that sends QIDO wildcards as ``*``: dicomweb-client percent-encodes them as ``%2A``,
    which Orthanc 1.10 matches literally (``*`` is allowed unescaped in a query, RFC 3986 sub-delims)."""

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        prepared = super().prepare_request(request)
        if prepared.url and "?" in prepared.url:
            base, _, query = prepared.url.partition("?")
            prepared.url = f"{base}?{query.replace('%2A', '*')}"
        return prepared


def make_client(server: PacsServer, budget: ByteBudget | None = None) -> DICOMwebClient:
    """A DICOMweb client for ``server``; every response is counted against ``budget`` (default: 64 MB,
    enough for any search answer or thumbnail; fetches pass their own, the upload limit)."""
    budget = budget or ByteBudget(ANSWER_LIMIT, f"PACS {server.name}")
    session = _Session()
    headers = {}
    if server.token:
        headers["Authorization"] = f"Bearer {server.token}"
    elif server.username:
        session.auth = (server.username, server.password or "")
    session.hooks["response"].append(budget.hook)
    client = DICOMwebClient(url=server.url, session=session, headers=headers or None, timeout=TIMEOUT)
    client.set_http_retry_params(retry=False)
    return client


def _status_reason(exc: requests.HTTPError) -> str:
    response = exc.response
    if response is None:
        return "HTTP error"
    text = " ".join((response.text or "").split())[:160] if "json" in response.headers.get("Content-Type", "") \
        or "text" in response.headers.get("Content-Type", "") else ""
    return f"HTTP {response.status_code} {response.reason or ''}".strip() + (f": {text}" if text else "")


@contextlib.contextmanager
def pacs_errors(server: PacsServer, action: str) -> Iterator[None]:
    """Turn network and protocol failures into one-line ``InputError``s naming the server."""
    try:
        yield
    except InputError:
        raise
    except requests.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else 0
        hint = " (check the username/password or token)" if status in (401, 403) else \
            " (is the URL the DICOMweb root, e.g. .../dicom-web?)" if status == 404 else ""
        raise InputError(f"PACS {server.name}: {action} refused: {_status_reason(exc)}{hint}") from None
    except requests.ConnectionError:
        raise InputError(f"PACS {server.name}: cannot connect to {server.url}") from None
    except requests.Timeout:
        raise InputError(f"PACS {server.name}: {action} timed out") from None
    except requests.RequestException as exc:
        raise InputError(f"PACS {server.name}: {action} failed ({type(exc).__name__})") from None
    except (ValueError, KeyError) as exc:
        raise InputError(f"PACS {server.name}: {action}: the server's answer cannot be read ({type(exc).__name__}: "
                         f"{str(exc)[:120]})") from None
