#!/usr/bin/env python3
"""A TCP relay that delays every byte by a fixed one-way time, in both
directions: a stand-in for a link between availability zones or regions
(this kernel has no netem). Order and throughput are kept: each chunk read is
written `delay` seconds after it arrived, so the link is a delay line, not a
stop-and-wait.

    bench/relay.py --listen 127.0.0.1:7001 --to 127.0.0.1:6379 --delay-ms 10

adds 10 ms each way (20 ms round trip). Used by bench/latency.py; prints
"listening HOST:PORT" once ready. Loopback only: it is a benchmark tool.
"""
import argparse
import asyncio
import signal
import sys
import time

CHUNK = 256 * 1024


async def pump(reader, writer, delay):
    """Copies reader to writer, each chunk `delay` seconds after it arrived."""
    q = asyncio.Queue()

    async def read_side():
        try:
            while True:
                data = await reader.read(CHUNK)
                q.put_nowait((time.monotonic() + delay, data))
                if not data:
                    return
        except (ConnectionError, asyncio.CancelledError):
            q.put_nowait((time.monotonic() + delay, b""))

    async def write_side():
        try:
            while True:
                due, data = await q.get()
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                writer.write(data)
                # Gather what else is due by now into the same drain.
                while not q.empty():
                    due2, more = q._queue[0]  # peek: asyncio.Queue keeps a deque
                    if due2 > time.monotonic():
                        break
                    q.get_nowait()
                    if not more:
                        await writer.drain()
                        if writer.can_write_eof():
                            writer.write_eof()
                        return
                    writer.write(more)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass

    await asyncio.gather(read_side(), write_side())


async def handle(client_r, client_w, to_host, to_port, delay):
    try:
        server_r, server_w = await asyncio.open_connection(to_host, to_port)
    except OSError:
        client_w.close()
        return
    for w in (client_w, server_w):
        sock = w.get_extra_info("socket")
        if sock is not None:
            import socket
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    await asyncio.gather(pump(client_r, server_w, delay), pump(server_r, client_w, delay))
    for w in (client_w, server_w):
        w.close()


async def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT to listen on (port 0: any free one)")
    ap.add_argument("--to", required=True, help="HOST:PORT to relay to")
    ap.add_argument("--delay-ms", type=float, default=0.0, help="one-way delay in ms (round trip: twice this)")
    a = ap.parse_args()
    lhost, lport = a.listen.rsplit(":", 1)
    thost, tport = a.to.rsplit(":", 1)
    delay = a.delay_ms / 1000.0
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, thost, int(tport), delay), lhost, int(lport))
    host, port = server.sockets[0].getsockname()[:2]
    print(f"listening {host}:{port}", flush=True)
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, lambda: stop.done() or stop.set_result(None))
    async with server:
        await stop


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
