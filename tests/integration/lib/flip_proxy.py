#!/usr/bin/env python3
"""A registry in front of a registry that lies about blobs: requests are
passed to the backend unchanged (one per connection: it forces
`Connection: close`), and in the body of every 200/206 answer to a
`GET .../blobs/<digest>` one byte is flipped, so the bytes no longer hash
to the digest the client asked for. Manifests, HEADs and everything else
pass byte for byte.

usage: flip_proxy.py BACKEND_HOST:PORT
Prints "listening PORT" (a free loopback port) once ready, and
"flipped <target>" for each answer it corrupted. Standard library only.
"""
import os
import re
import socket
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from prefix_proxy import pipe  # noqa: E402

BLOB_GET = re.compile(r"^GET /v2/.+/blobs/sha256:[0-9a-f]{64}(\?.*)?$")
FLIP_AT = 100  # body offset of the flipped byte (inside any real layer)


def read_head(sock):
    """Bytes up to the end of the header block, and what came after it."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        if not data:
            return None, buf
        buf += data
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head, rest


def handle(client, backend):
    up = None
    try:
        head, rest = read_head(client)
        if head is None:
            return
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = [h for h in lines[1:] if not h.lower().startswith("connection:")]
        host, port = backend.rsplit(":", 1)
        up = socket.create_connection((host, int(port)))
        up.sendall("\r\n".join([lines[0]] + headers + ["Connection: close", "", ""]).encode("latin-1") + rest)
        # Request bodies (none expected from a pulling client) are piped.
        threading.Thread(target=pipe, args=(client, up, lambda: None), daemon=True).start()
        rhead, body = read_head(up)
        if rhead is None:
            return
        status = rhead.split(b" ", 2)[1]
        corrupt = BLOB_GET.match(f"{method} {target}") is not None and status in (b"200", b"206")
        client.sendall(rhead + b"\r\n\r\n")
        offset = 0  # body bytes passed so far
        while True:
            if corrupt and offset <= FLIP_AT < offset + len(body):
                i = FLIP_AT - offset
                body = body[:i] + bytes([body[i] ^ 0x01]) + body[i + 1:]
                print(f"flipped {target}", flush=True)
            client.sendall(body)
            offset += len(body)
            body = up.recv(65536)
            if not body:
                break
    except OSError:
        pass
    finally:
        for s in (client, up):
            try:
                if s is not None:
                    s.close()
            except OSError:
                pass


def main():
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    print(f"listening {srv.getsockname()[1]}", flush=True)
    while True:
        c, _ = srv.accept()
        threading.Thread(target=handle, args=(c, sys.argv[1]), daemon=True).start()


if __name__ == "__main__":
    main()
