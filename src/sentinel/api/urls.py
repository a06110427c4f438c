"""Which URLs a vendor adapter may open, and which of them may see the API key.

The key goes only to the configured vendor origin (scheme, host and port of `base_url`). A response
can name other URLs (a CDN `url`, a submit-poll `image_url`); those are opened only if their origin
is the vendor's or is listed in `api.image_origins`, never with the key unless same-origin. Other
origins must be https on public addresses; `api.allow_loopback` (tests only) admits http on
127.0.0.0/8 and ::1. `file:`, `data:` and anything else are refused. Hosts are resolved once here
and the connection is made to the checked address, so DNS cannot swap in a private one later.
"""
from __future__ import annotations

import ipaddress
import socket
import urllib.parse
from dataclasses import dataclass

from sentinel.models.outputs import GenerationFailed

DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Target:
    url: str
    scheme: str
    host: str
    port: int
    path: str  # path + query, what goes on the request line
    addresses: tuple[str, ...]  # the checked IPs to connect to, in resolver order

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


def origin(url: str, where: str = "url") -> str:
    """`scheme://host:port` (lower-case, explicit port) of an http(s) URL, or ValueError naming `where`."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"{where}: expected an http(s) URL with a host, got scheme {scheme or 'none'!r}")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        raise ValueError(f"{where}: malformed port") from None
    return f"{scheme}://{parts.hostname.lower()}:{port}"


def _is_loopback(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return ip.is_loopback or (isinstance(ip, ipaddress.IPv6Address) and bool(ip.ipv4_mapped and ip.ipv4_mapped.is_loopback))


@dataclass(frozen=True)
class Fence:
    """The vendor origin plus allowed image origins; `open(url)` checks a URL and resolves it."""
    vendor_origin: str
    image_origins: frozenset[str]
    allow_loopback: bool = False

    @classmethod
    def from_api(cls, api, where: str) -> "Fence":
        vendor = origin(api.base_url, f"{where}.base_url")
        if vendor.startswith("http://") and not cls._loopback_host(urllib.parse.urlsplit(api.base_url).hostname):
            raise ValueError(f"{where}.base_url: the key would travel in clear text; use https "
                             "(http is accepted only for a loopback host)")
        extra = frozenset(origin(o, f"{where}.image_origins[{i}]") for i, o in enumerate(api.image_origins))
        return cls(vendor, extra, api.allow_loopback)

    @staticmethod
    def _loopback_host(host: str | None) -> bool:
        try:
            return _is_loopback(ipaddress.ip_address(host or ""))
        except ValueError:
            return (host or "").lower() == "localhost"

    def carries_key(self, target: Target) -> bool:
        return target.origin == self.vendor_origin

    def open(self, url: str) -> Target:
        """The checked target of `url`, or GenerationFailed('url_refused: ...') before any connection."""
        scheme = urllib.parse.urlsplit(url).scheme.lower()
        if scheme not in DEFAULT_PORTS:
            raise GenerationFailed(f"url_refused: {scheme or 'no'} scheme (only http(s) URLs are fetched)")
        try:
            where = origin(url)
        except ValueError as e:
            raise GenerationFailed(f"url_refused: {e}") from None
        if where != self.vendor_origin and where not in self.image_origins:
            raise GenerationFailed(f"url_refused: origin {where} is neither the vendor's nor in api.image_origins")
        parts = urllib.parse.urlsplit(url)
        host, port = parts.hostname.lower(), parts.port or DEFAULT_PORTS[scheme]
        trusted = where == self.vendor_origin
        plain = f"url_refused: {where} is plain http (https only; loopback needs api.allow_loopback)"
        if scheme == "http" and not trusted and not self.allow_loopback:
            raise GenerationFailed(plain)
        addresses = self._addresses(host, port, trusted)
        if scheme == "http" and not trusted and not all(self._loopback_host(a) for a in addresses):
            raise GenerationFailed(plain)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return Target(url, scheme, host, port, path, addresses)

    def _addresses(self, host: str, port: int, trusted: bool) -> tuple[str, ...]:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as e:
            raise GenerationFailed(f"network error: cannot resolve {host}: {e}") from None
        addresses = tuple(dict.fromkeys(info[4][0] for info in infos))
        if trusted:  # the operator chose base_url; its host may be anything it resolves to
            return addresses
        for a in addresses:
            ip = ipaddress.ip_address(a.split("%")[0])
            if _is_loopback(ip) and self.allow_loopback:
                continue
            if not ip.is_global or ip.is_multicast:
                raise GenerationFailed(f"url_refused: {host} resolves to non-public address {a} "
                                       "(private, loopback, link-local and reserved ranges are never fetched)")
        return addresses
