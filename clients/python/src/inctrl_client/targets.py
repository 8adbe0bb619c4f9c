"""Turns one address, a comma-separated list or a sequence of addresses into a gRPC target."""
from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from typing import Optional, Union

Address = Union[str, Sequence[str]]


def _split(address: Address) -> list[str]:
    parts = address.split(",") if isinstance(address, str) else list(address)
    parts = [p.strip() for p in parts if p and p.strip()]
    if not parts:
        raise ValueError("no server address given")
    return parts


def _host_port(entry: str):
    if entry.startswith("["):  # [v6]:port
        host, _, port = entry[1:].partition("]:")
    else:
        host, _, port = entry.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"address {entry!r} is not host:port")
    return host, int(port)


def grpc_target(address: Address) -> str:
    """One entry passes through unchanged (gRPC's DNS resolver yields every address of a name, and round_robin
    spreads calls over them). Several ``host:port`` entries become a static ``ipv4:``/``ipv6:`` address list;
    host names in it are resolved once, here: use a DNS name instead when the set of backends changes."""
    parts = _split(address)
    if len(parts) == 1:
        return parts[0]
    v4: list[str] = []
    v6: list[str] = []
    for host, port in [_host_port(e) for e in parts]:  # all parsed before any name is looked up
        try:
            ips = [ipaddress.ip_address(host)]
        except ValueError:
            try:
                infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except socket.gaierror as e:
                raise ValueError(f"cannot resolve {host!r}: {e}") from e
            ips = [ipaddress.ip_address(ai[4][0]) for ai in infos]
        for ip in ips:
            (v4 if ip.version == 4 else v6).append(f"{ip}:{port}" if ip.version == 4 else f"[{ip}]:{port}")
    # grpc's static resolvers take one family per target; IPv4 wins when a name resolves to both
    if v4:
        return "ipv4:" + ",".join(dict.fromkeys(v4))
    return "ipv6:" + ",".join(dict.fromkeys(v6))


def default_authority(address: Address) -> Optional[str]:
    """The :authority for a list target: its first entry. gRPC would otherwise send the whole comma-separated list,
    which HTTP/2 servers (the real one included) reject as a malformed authority; TLS checks the certificate
    against it too."""
    parts = _split(address)
    return parts[0] if len(parts) > 1 else None
