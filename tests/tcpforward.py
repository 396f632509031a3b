"""A small TCP forwarder: ``python -m tests.tcpforward LISTEN_HOST:PORT=TARGET_HOST:PORT ...``.

The namespace cluster test (``tests/netns.py``) runs it in the root network namespace, bound to
the test bridge's address, so that hosts in other namespaces reach the machine's PostgreSQL and
Redis, which listen on 127.0.0.1 only. Plain asyncio, no dependency; prints ``ready`` once every
listener is bound, and exits when its parent process goes away (a test killed hard leaves no
forwarder behind).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(1 << 16):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


def _handler(target_host: str, target_port: int):
    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            up_r, up_w = await asyncio.open_connection(target_host, target_port)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(_pipe(client_r, up_w), _pipe(up_r, client_w))

    return handle


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


async def _main(routes: list[str]) -> None:
    parent = os.getppid()
    servers = []
    for route in routes:
        listen, _, target = route.partition("=")
        host, port = _split(listen)
        servers.append(await asyncio.start_server(_handler(*_split(target)), host, port))
    print("ready", flush=True)
    while os.getppid() == parent:
        await asyncio.sleep(0.5)
    for server in servers:
        server.close()


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python -m tests.tcpforward LISTEN_HOST:PORT=TARGET_HOST:PORT ...")
    asyncio.run(_main(sys.argv[1:]))
