#!/usr/bin/env python3
"""GETs a blob the way a pulling client does and judges what it got.

usage: blob_get.py URL DIGEST OUT_FILE

Prints one line: `status=<code> complete=<yes|no> verified=<yes|no>
bytes=<n>`; complete means the whole Content-Length arrived (or, without
one, the body ended cleanly). Exits 1 only for the answer no client may
ever get: a complete 200 whose bytes do not hash to DIGEST. A short or
cut body, or an error status, is a refusal a client notices (it retries
or fails): exit 0. The bytes received are written to OUT_FILE.
Standard library only.
"""
import hashlib
import http.client
import sys
import urllib.parse


def main():
    url, digest, out = sys.argv[1:4]
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
    h = hashlib.sha256()
    got, complete, status = 0, False, 0
    with open(out, "wb") as f:
        try:
            conn.request("GET", u.path + ("?" + u.query if u.query else ""))
            r = conn.getresponse()
            status = r.status
            length = r.getheader("Content-Length")
            while True:
                chunk = r.read(65536)
                if not chunk:
                    break
                h.update(chunk)
                f.write(chunk)
                got += len(chunk)
            complete = length is None or got == int(length)
        except (http.client.HTTPException, OSError):
            complete = False  # cut mid-body: the client sees the transfer fail
    verified = "sha256:" + h.hexdigest() == digest
    print(f"status={status} complete={'yes' if complete else 'no'} verified={'yes' if verified else 'no'} bytes={got}")
    return 1 if status == 200 and complete and not verified else 0


if __name__ == "__main__":
    sys.exit(main())
