#!/usr/bin/env python3
"""Lists the keys of an S3 bucket under a prefix (ListObjectsV2, all pages),
signed with AWS SigV4 written here from AWS's documentation: a check of what
Pier put in the bucket that shares no code with Pier's own client.

usage: s3_list.py ENDPOINT BUCKET PREFIX   (keys from $S3_ACCESS_KEY, $S3_SECRET_KEY)
"""
import datetime
import hashlib
import hmac
import os
import sys
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def sign(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def get(endpoint, bucket, query, access, secret, region="us-east-1"):
    url = urllib.parse.urlsplit(endpoint)
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date, date = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    enc = lambda s: urllib.parse.quote(s, safe="-_.~")
    canonical_query = "&".join(f"{enc(k)}={enc(v)}" for k, v in sorted(query.items()))
    payload = hashlib.sha256(b"").hexdigest()
    host = url.netloc
    headers = {"host": host, "x-amz-content-sha256": payload, "x-amz-date": amz_date}
    signed = ";".join(sorted(headers))
    canonical = "\n".join(["GET", "/" + bucket, canonical_query,
                           "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)), signed, payload])
    scope = f"{date}/{region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    k = sign(sign(sign(sign(("AWS4" + secret).encode(), date), region), "s3"), "aws4_request")
    signature = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    req = urllib.request.Request(f"{endpoint}/{bucket}?{canonical_query}")
    req.add_header("x-amz-content-sha256", payload)
    req.add_header("x-amz-date", amz_date)
    req.add_header("Authorization",
                   f"AWS4-HMAC-SHA256 Credential={access}/{scope}, SignedHeaders={signed}, Signature={signature}")
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.read()


def main():
    endpoint, bucket, prefix = sys.argv[1:4]
    access, secret = os.environ["S3_ACCESS_KEY"], os.environ["S3_SECRET_KEY"]
    token = None
    while True:
        q = {"list-type": "2", "prefix": prefix}
        if token:
            q["continuation-token"] = token
        root = ET.fromstring(get(endpoint, bucket, q, access, secret))
        for c in root.findall(NS + "Contents"):
            print(c.find(NS + "Key").text)
        if root.findtext(NS + "IsTruncated") != "true":
            break
        token = root.findtext(NS + "NextContinuationToken")


if __name__ == "__main__":
    main()
