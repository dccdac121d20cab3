#!/usr/bin/env python3
"""Scripted compare peer: what a competent user writes with redis-py.

SCANs the source in batches (COUNT --batch, 500 by default), pipelines
TYPE + PTTL for the batch on both sides, then pipelines one type-specific
read per key on both sides (GET / HGETALL / LRANGE 0 -1 / SMEMBERS /
ZRANGE 0 -1 WITHSCORES / XRANGE - +) and compares the values in Python.
TTLs are equal when both are persistent or both expire within --ttl-slack ms
of each other. Keys only on the target are caught by comparing DBSIZE.

Prints one JSON line {"keys", "diffs", "examples"}; exits 0 when the two
sides are equal, 1 when they differ, 2 on an error.
"""
import argparse
import json

from peer_common import connect, run


def queue_read(p, kind, key):
    if kind == b"string":
        p.get(key)
    elif kind == b"hash":
        p.hgetall(key)
    elif kind == b"list":
        p.lrange(key, 0, -1)
    elif kind == b"set":
        p.smembers(key)
    elif kind == b"zset":
        p.zrange(key, 0, -1, withscores=True)
    elif kind == b"stream":
        p.xrange(key)
    else:
        p.dump(key)  # module or unknown type: compare the serialized value


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", required=True, help="host:port")
    ap.add_argument("--dst", required=True, help="host:port")
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--ttl-slack", type=int, default=1000, help="ms")
    a = ap.parse_args()
    src, dst = connect(a.src), connect(a.dst)

    keys = diffs = 0
    examples = []

    def differ(key, why):
        nonlocal diffs
        diffs += 1
        if len(examples) < 10:
            examples.append({"key": key.decode("latin-1"), "why": why})

    cursor = 0
    while True:
        cursor, batch = src.scan(cursor, count=a.batch)
        if batch:
            ps = src.pipeline(transaction=False)
            pd = dst.pipeline(transaction=False)
            for k in batch:
                ps.type(k)
                ps.pttl(k)
                pd.type(k)
                pd.pttl(k)
            rs = ps.execute()
            rd = pd.execute()
            todo = []
            for i, k in enumerate(batch):
                st, sttl = rs[2 * i], rs[2 * i + 1]
                dt, dttl = rd[2 * i], rd[2 * i + 1]
                if st == b"none":
                    continue  # gone from the source since SCAN returned it
                keys += 1
                if dt != st:
                    differ(k, "type %s vs %s" % (st.decode(), dt.decode()))
                    continue
                if (sttl < 0) != (dttl < 0) or abs(sttl - dttl) > a.ttl_slack:
                    differ(k, "ttl %d vs %d" % (sttl, dttl))
                    continue
                todo.append((k, st))
            ps = src.pipeline(transaction=False)
            pd = dst.pipeline(transaction=False)
            for k, kind in todo:
                queue_read(ps, kind, k)
                queue_read(pd, kind, k)
            vs = ps.execute()
            vd = pd.execute()
            for (k, kind), x, y in zip(todo, vs, vd):
                if x != y:
                    differ(k, "%s value" % kind.decode())
        if cursor == 0:
            break
    ns, nd = src.dbsize(), dst.dbsize()
    if ns != nd:
        differ(b"*", "dbsize %d vs %d" % (ns, nd))
    print(json.dumps({"keys": keys, "diffs": diffs, "examples": examples}))
    return 0 if diffs == 0 else 1


if __name__ == "__main__":
    run(main, "peer_compare")
