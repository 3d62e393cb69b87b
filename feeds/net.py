"""Network facts both ends of the feed need."""

from __future__ import annotations

import ipaddress
import ssl
from urllib.parse import urlsplit


def is_loopback(host: str) -> bool:
    """True for localhost and 127.0.0.0/8 or ::1: addresses that never leave the machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def url_is_loopback(url: str) -> bool:
    return is_loopback(urlsplit(url).hostname or "")


def tls_verify(url: str, ca_file: str | None = None) -> ssl.SSLContext | bool:
    """How an HTTP client verifies the server at ``url``: against ``ca_file`` when one is
    given, else the default trust store (``True``) for https. A plain-http URL has nothing
    to verify, yet loading the trust store costs ~70 ms per client at start-up: it gets a
    context with no trust roots, which fails closed should TLS ever be attempted."""
    if ca_file:
        return ssl.create_default_context(cafile=ca_file)
    if urlsplit(url).scheme == "http":
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies, and trusts no one
    return True
