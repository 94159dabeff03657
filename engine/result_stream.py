"""Results to other programs while the engine runs: one UDP datagram of JSON per frame.

Why UDP and JSON: every tool people feed hands into (Unity, Blender, TouchDesigner, a browser bridge, a robot)
can read a UDP socket and parse JSON without a library of ours, a late frame is worth nothing so nothing is
re-sent, and a receiver that is not running costs the live path nothing. The message is exactly one line of
``handstream run --out`` (``engine.session.result_to_json``; schema in ``engine/SESSION_FORMAT.md``), without
mesh vertices unless asked for (they make a datagram ~40 kB). Example receiver: ``docs/stream_client.py``.
"""
from __future__ import annotations

import json
import socket

from engine.results import FrameResult
from engine.session import result_to_json

MAX_DATAGRAM = 65507  # the most one UDP/IPv4 datagram carries


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (e.g. ``127.0.0.1:9000``) -> (host, port), with a one-line error otherwise."""
    host, sep, port = str(text).rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--stream {text!r} must be HOST:PORT, e.g. 127.0.0.1:9000")
    return host.strip("[]"), int(port)


class ResultStream:
    """``send(result)`` sends one frame's results to ``address``; frames too large for a datagram are skipped
    and counted (``too_large``)."""

    def __init__(self, address: str, vertices: bool = False) -> None:
        host, port = parse_address(address)
        try:
            info = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        except socket.gaierror as exc:
            raise ValueError(f"--stream {address}: unknown host ({exc.strerror})") from None
        self._socket = socket.socket(info[0], socket.SOCK_DGRAM)
        self._target = info[4]
        self.vertices = vertices
        self.sent = self.too_large = 0

    def send(self, result: FrameResult) -> None:
        data = json.dumps(result_to_json(result, self.vertices), separators=(",", ":")).encode()
        if len(data) > MAX_DATAGRAM:
            self.too_large += 1
            return
        try:
            self._socket.sendto(data, self._target)
            self.sent += 1
        except OSError:  # nobody listening (ICMP port unreachable) or a full buffer: the frame is dropped
            pass

    def close(self) -> None:
        self._socket.close()
