"""How the HTTP clients verify servers: the operator's CA, the trust store for https, and
for plain http a context that would verify against no root at all (fails closed)."""

from __future__ import annotations

import ssl

import certifi

from feeds.net import tls_verify


def test_plain_http_gets_a_context_that_trusts_no_one() -> None:
    ctx = tls_verify("http://127.0.0.1:8080")
    assert isinstance(ctx, ssl.SSLContext)
    assert ctx.verify_mode is ssl.CERT_REQUIRED and ctx.check_hostname
    assert ctx.get_ca_certs() == []  # no trust store loaded: nothing would verify


def test_https_verifies_against_the_trust_store_unless_a_ca_is_named(tmp_path) -> None:
    assert tls_verify("https://feed.example:8443") is True
    # a named CA file wins for either scheme (tests/test_feed_e2e.py makes a real handshake)
    for url in ("https://feed.example:8443", "http://127.0.0.1:8080"):
        got = tls_verify(url, certifi.where())
        assert isinstance(got, ssl.SSLContext) and got.get_ca_certs()
