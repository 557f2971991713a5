#!/usr/bin/env python3
"""Check the SigV4 signatures of requests the test proxy recorded against
botocore's signer, an implementation independent of libcurl's.

    sigv4-check.py LOG ACCESS_KEY SECRET_KEY REGION

For each request: the Authorization header names the credential scope and
the signed headers; botocore rebuilds the canonical request from the
method, path, query and those headers, and signs it with the secret at the
request's X-Amz-Date.  The signature must be the same, and the payload
hash sent (x-amz-content-sha256) must be the SHA-256 of the body that
arrived.  Prints one line per request and exits 1 on any mismatch."""
import json
import re
import sys

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

log, ak, sk, region = sys.argv[1:5]
bad = 0
n = 0
for line in open(log):
    r = json.loads(line)
    h = r["headers"]
    auth = h.get("authorization", "")
    m = re.fullmatch(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/s3/aws4_request, "
                     r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})", auth)
    n += 1
    if not m:
        print(f"{r['method']} {r['url']}: Authorization not SigV4 for s3: {auth!r}")
        bad += 1
        continue
    if m.group(1) != ak or m.group(3) != region:
        print(f"{r['method']} {r['url']}: scope {m.group(1)}/{m.group(3)}, want {ak}/{region}")
        bad += 1
    signed = m.group(4).split(";")
    missing = [s for s in ("host", "x-amz-date", "x-amz-content-sha256") if s not in signed]
    if missing:
        print(f"{r['method']} {r['url']}: not signed: {missing}")
        bad += 1
    unsent = [s for s in signed if s not in h]
    if unsent:
        print(f"{r['method']} {r['url']}: signed but not sent: {unsent}")
        bad += 1
    if h.get("x-amz-content-sha256") != r["body_sha256"]:
        print(f"{r['method']} {r['url']}: payload hash sent {h.get('x-amz-content-sha256')}, "
              f"body was {r['body_sha256']}")
        bad += 1
    req = AWSRequest(method=r["method"], url="https://" + h["host"] + r["url"],
                     headers={k: h[k] for k in signed if k in h})
    req.context["timestamp"] = h["x-amz-date"]
    signer = S3SigV4Auth(Credentials(ak, sk), "s3", region)
    canonical = signer.canonical_request(req)
    want = signer.signature(signer.string_to_sign(req, canonical), req)
    if want != m.group(5):
        print(f"{r['method']} {r['url']}: signature {m.group(5)}, botocore {want}")
        print("canonical request:\n" + canonical)
        bad += 1
print(f"{n} requests checked, {bad} problems")
sys.exit(1 if bad or n == 0 else 0)
