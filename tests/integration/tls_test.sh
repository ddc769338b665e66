#!/usr/bin/env bash
# TLS with a private CA, the way a company LAN runs it: Pier serves HTTPS
# (--tls-cert/--tls-key) with a certificate signed by its own CA; skopeo
# trusts that CA through --dest-cert-dir/--src-cert-dir and copies an image
# in and back out byte-identical; without the CA skopeo refuses the
# certificate; plain HTTP to the TLS port gets no registry answer.
source "$(dirname "$0")/lib/common.sh"

# A CA and a server certificate for 127.0.0.1 and localhost.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Pier Test CA" \
  -keyout "$WORK/ca.key" -out "$WORK/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$WORK/server.key" -out "$WORK/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$WORK/ext.cnf"
openssl x509 -req -in "$WORK/server.csr" -CA "$WORK/ca.crt" -CAkey "$WORK/ca.key" -CAcreateserial -days 2 \
  -extfile "$WORK/ext.cnf" -out "$WORK/server.crt" 2>/dev/null
mkdir -p "$WORK/certs.d"
cp "$WORK/ca.crt" "$WORK/certs.d/ca.crt"

port=$(free_port)
spawn "$WORK/pier.log" "$PIER_BIN" serve --listen "127.0.0.1:$port" --data "$WORK/data" \
  --tls-cert "$WORK/server.crt" --tls-key "$WORK/server.key"
deadline=$((SECONDS + 30))
until curl -s -o /dev/null --cacert "$WORK/ca.crt" "https://127.0.0.1:$port/healthz"; do
  [ $SECONDS -lt $deadline ] || fail "Pier did not start with TLS"
  sleep 0.1
done
[ "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$WORK/ca.crt" "https://127.0.0.1:$port/v2/")" = 200 ] \
  || fail "GET /v2/ over TLS"

python3 "$LIB_DIR/make_oci_layout.py" "$WORK/img" image --layers 2 --size 300000 --seed 91
want=$(layout_digest "$WORK/img")
# Without the CA: refused (unknown authority), nothing stored.
if skopeo_ copy "oci:$WORK/img:v1" "docker://127.0.0.1:$port/tls/app:v1" >"$WORK/noca.out" 2>&1; then
  fail "skopeo accepted a certificate from an unknown CA"
fi
grep -qiE "x509|certificate" "$WORK/noca.out" || fail "refusal does not mention the certificate: $(cat "$WORK/noca.out")"
# With the CA: in and back out.
skopeo_ copy --dest-cert-dir "$WORK/certs.d" "oci:$WORK/img:v1" "docker://127.0.0.1:$port/tls/app:v1" >/dev/null \
  || fail "skopeo push over TLS with the CA failed"
got=$(skopeo_ inspect --cert-dir "$WORK/certs.d" --format '{{.Digest}}' "docker://127.0.0.1:$port/tls/app:v1")
[ "$got" = "$want" ] || fail "digest over TLS $got, pushed $want"
skopeo_ copy --src-cert-dir "$WORK/certs.d" "docker://127.0.0.1:$port/tls/app:v1" "oci:$WORK/back:v1" >/dev/null
for f in "$WORK"/img/blobs/sha256/*; do
  cmp -s "$f" "$WORK/back/blobs/sha256/$(basename "$f")" || fail "blob $(basename "$f") differs after a TLS round trip"
done
pass "skopeo trusts Pier's private CA: push, inspect and pull over TLS, byte-identical; refused without the CA"

code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$port/v2/" || true)
[ "$code" != 200 ] || fail "plain HTTP answered on the TLS port"
curl -s -o /dev/null --cacert "$WORK/ca.crt" "https://127.0.0.1:$port/healthz" || fail "Pier went down after a plain-HTTP client"
pass "plain HTTP on the TLS port gets no registry answer and Pier stays up"
