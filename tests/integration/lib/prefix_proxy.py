#!/usr/bin/env python3
"""A reverse proxy that serves a backend under a path prefix, the way an
ingress does: `/PREFIX/v2/...` goes to the backend as `/v2/...`, anything
else gets 404 without a challenge. One request per connection (it forces
`Connection: close`); bodies are piped byte for byte, so a request cut
mid-body reaches the backend cut too.

usage: prefix_proxy.py LISTEN_PORT BACKEND_HOST:PORT PREFIX
Prints "listening PORT" once ready. Python standard library only.
"""
import socket
import sys
import threading


def pipe(src, dst, on_eof):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    on_eof()


def handle(client, backend, prefix):
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = client.recv(65536)
        if not data:
            client.close()
            return
        buf += data
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    method, target, version = lines[0].split(" ", 2)
    if not (target == prefix or target.startswith(prefix + "/")):
        client.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\nConnection: close\r\n\r\nnot found\n")
        client.close()
        return
    target = target[len(prefix):] or "/"
    headers = [h for h in lines[1:] if not h.lower().startswith("connection:")]
    out = "\r\n".join([f"{method} {target} {version}"] + headers + ["Connection: close", "", ""]).encode("latin-1")
    host, port = backend.rsplit(":", 1)
    up = socket.create_connection((host, int(port)))
    up.sendall(out + rest)

    def client_done():
        try:
            up.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def backend_done():
        for s in (client, up):
            try:
                s.close()
            except OSError:
                pass

    threading.Thread(target=pipe, args=(client, up, client_done), daemon=True).start()
    pipe(up, client, backend_done)


def main():
    port, backend, prefix = int(sys.argv[1]), sys.argv[2], sys.argv[3].rstrip("/")
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(64)
    print(f"listening {port}", flush=True)
    while True:
        c, _ = srv.accept()
        threading.Thread(target=handle, args=(c, backend, prefix), daemon=True).start()


if __name__ == "__main__":
    main()
