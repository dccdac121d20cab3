#!/usr/bin/env python3
"""Writes a reproducible mixed Redis dataset as RESP commands on stdout, for
`redis-cli --pipe`. Types by key index (i % 50): 33 strings (8-200 random
bytes), 4 each hashes, lists, sets and sorted sets (3-20 elements), 1 stream
with a consumer group; every 500th key name is binary (NUL, 0xff bytes); 20%
of keys get an absolute expiry (PEXPIREAT), so two servers loaded a few
seconds apart still hold identical data. --big N adds N 200k-element keys."""
import argparse
import random
import sys
import time


def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, int):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def kind_of(i):
    m = i % 50
    if m < 30 or m > 46:
        return "str"
    if m == 46:
        return "stream"
    return ["hash", "list", "set", "zset"][(m - 30) // 4]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=1000000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--big", type=int, default=0, help="number of 200k-element big keys")
    ap.add_argument("--expire-base", type=int, default=0,
                    help="unix ms the expiries count from (default: now + 1h, rounded)")
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    base = a.expire_base or (int(time.time() * 1000) // 60000 * 60000 + 3600_000)
    w = sys.stdout.buffer
    buf = []
    for i in range(a.keys):
        kind = kind_of(i)
        name = ("%s:%08d" % (kind, i)).encode()
        if i % 500 == 499:
            name = b"bin:\x00\xff\n" + name
        n = rnd.randint(3, 20)
        if kind == "str":
            buf.append(resp(b"SET", name, rnd.randbytes(rnd.randint(8, 200))))
        elif kind == "hash":
            args = [b"HSET", name]
            for j in range(n):
                args += [b"f%d" % j, rnd.randbytes(rnd.randint(1, 30))]
            buf.append(resp(*args))
        elif kind == "list":
            buf.append(resp(b"RPUSH", name, *[rnd.randbytes(rnd.randint(1, 30)) for _ in range(n)]))
        elif kind == "set":
            buf.append(resp(b"SADD", name, *[b"m%d" % rnd.randint(0, 10**6) for _ in range(n)]))
        elif kind == "zset":
            args = [b"ZADD", name]
            for j in range(n):
                args += [repr(rnd.uniform(-1000, 1000)).encode(), b"m%d" % j]
            buf.append(resp(*args))
        else:
            for j in range(n):
                buf.append(resp(b"XADD", name, b"1700000000000-%d" % (j + 1), b"f", rnd.randbytes(10)))
            buf.append(resp(b"XGROUP", b"CREATE", name, b"g1", b"1700000000000-%d" % (n // 2)))
        if rnd.random() < 0.2:
            buf.append(resp(b"PEXPIREAT", name, base + rnd.randint(0, 3600_000)))
        if len(buf) >= 10000:
            w.write(b"".join(buf))
            buf = []
    for b in range(a.big):
        name = b"big:%d" % b
        kind = ["set", "hash", "zset", "list"][b % 4]
        for start in range(0, 200000, 1000):
            if kind == "set":
                buf.append(resp(b"SADD", name, *[b"m%d" % j for j in range(start, start + 1000)]))
            elif kind == "hash":
                args = [b"HSET", name]
                for j in range(start, start + 1000):
                    args += [b"f%d" % j, b"v%d" % j]
                buf.append(resp(*args))
            elif kind == "zset":
                args = [b"ZADD", name]
                for j in range(start, start + 1000):
                    args += [b"%d" % j, b"m%d" % j]
                buf.append(resp(*args))
            else:
                buf.append(resp(b"RPUSH", name, *[b"e%d" % j for j in range(start, start + 1000)]))
        w.write(b"".join(buf))
        buf = []
    w.write(b"".join(buf))


if __name__ == "__main__":
    main()
