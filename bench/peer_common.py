"""What the scripted peers (peer_compare.py, peer_copy.py) share: the
connection to a host:port, and running main() with a Redis error as one line
on stderr and exit 2."""
import sys

import redis


def connect(hostport):
    host, _, port = hostport.rpartition(":")
    return redis.Redis(host=host or "127.0.0.1", port=int(port), socket_timeout=600)


def run(main, name):
    try:
        sys.exit(main())
    except redis.RedisError as e:
        print("%s: %s" % (name, e), file=sys.stderr)
        sys.exit(2)
