#!/usr/bin/env python3
"""Scripted copy peer: what a competent user writes with redis-py.

SCANs the source in batches (COUNT --batch, 500 by default), pipelines
PTTL + DUMP for the batch on the source, then pipelines RESTORE key ttl
payload REPLACE on the target. Keys that vanished between SCAN and DUMP are
skipped.

Prints one JSON line {"keys", "skipped"}; exits 0, or 2 on an error.
"""
import argparse
import json

from peer_common import connect, run


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", required=True, help="host:port")
    ap.add_argument("--dst", required=True, help="host:port")
    ap.add_argument("--batch", type=int, default=500)
    a = ap.parse_args()
    src, dst = connect(a.src), connect(a.dst)

    keys = skipped = 0
    cursor = 0
    while True:
        cursor, batch = src.scan(cursor, count=a.batch)
        if batch:
            ps = src.pipeline(transaction=False)
            for k in batch:
                ps.pttl(k)
                ps.dump(k)
            r = ps.execute()
            pd = dst.pipeline(transaction=False)
            for i, k in enumerate(batch):
                ttl, payload = r[2 * i], r[2 * i + 1]
                if payload is None or ttl == -2:
                    skipped += 1
                    continue
                pd.restore(k, ttl if ttl > 0 else 0, payload, replace=True)
                keys += 1
            pd.execute()
        if cursor == 0:
            break
    print(json.dumps({"keys": keys, "skipped": skipped}))
    return 0


if __name__ == "__main__":
    run(main, "peer_copy")
