"""The verifying TLS context every client the SDK builds shares: httpx's default (certifi's CA
bundle), made once per process, when the first such client is built (never at import).

Loading the CA bundle costs ~20 ms, with the GIL released: :func:`prepare` starts it in a thread,
so that it overlaps with importing aiohttp, which the first client needs as well. A client per
account for 200 accounts would otherwise pay it 200 times: four seconds. ``SSL_CERT_FILE`` /
``SSL_CERT_DIR`` are read then, once.
"""

from __future__ import annotations

import ssl
import threading
from concurrent.futures import Future

import httpx

__all__ = ["context", "prepare"]

_lock = threading.Lock()
_made: Future[ssl.SSLContext] | None = None


def prepare() -> None:
    """Start making the context in a thread, unless it is made or being made."""
    global _made
    with _lock:
        if _made is None:
            _made = Future()
            threading.Thread(target=_make, args=(_made,), name="klaviyo-tls", daemon=True).start()


def context() -> ssl.SSLContext:
    """The shared context, once made (a failure is raised here, and the next call tries again)."""
    global _made
    prepare()
    made = _made
    assert made is not None
    try:
        return made.result()
    except BaseException:
        with _lock:
            if _made is made:
                _made = None
        raise


def _make(made: Future[ssl.SSLContext]) -> None:
    try:
        made.set_result(httpx.create_ssl_context())
    except BaseException as exc:  # handed to the caller of context()
        made.set_exception(exc)
