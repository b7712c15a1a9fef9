#!/bin/sh
# Signs an issuance policy without meshca: a detached JWS (RFC 7515 appendix F) over the file's
# exact bytes, written to POLICY.jws. Exactly what "meshca policy sign" makes, minus the "kid"
# (meshca then tries every configured key).
#
#   sign-with-openssl.sh RS256|ES256|ES384|EdDSA PRIVATE_KEY.pem POLICY
#
# Needs openssl, base64 and tr (and xxd for ES256/ES384). The security team's pipeline can use
# the same lines with a key held in an HSM (openssl's pkcs11 or provider options).
set -eu
alg=$1 key=$2 policy=$3

b64url() { base64 | tr '+/' '-_' | tr -d '=\n'; }

header=$(printf '{"alg":"%s"}' "$alg" | b64url)
payload=$(b64url < "$policy")
input=$(printf '%s.%s' "$header" "$payload")

case $alg in
  RS256)
    signature=$(printf '%s' "$input" | openssl dgst -sha256 -sign "$key" | b64url) ;;
  ES256|ES384)
    # openssl writes ECDSA signatures as DER; JWS wants R || S, each padded to the curve size.
    size=64; digest=-sha256
    if [ "$alg" = ES384 ]; then size=96; digest=-sha384; fi
    signature=$(printf '%s' "$input" | openssl dgst "$digest" -sign "$key" \
      | openssl asn1parse -inform DER | awk -F: '/INTEGER/ {print $NF}' \
      | while read -r n; do printf "%0${size}s" "$n" | tr ' ' 0 | tail -c "$size"; done \
      | xxd -r -p | b64url) ;;
  EdDSA)
    tmp=$(mktemp); printf '%s' "$input" > "$tmp"
    signature=$(openssl pkeyutl -sign -rawin -inkey "$key" -in "$tmp" | b64url)
    rm -f "$tmp" ;;
  *) echo "unsupported algorithm $alg" >&2; exit 2 ;;
esac

printf '%s..%s\n' "$header" "$signature" > "$policy.jws"
echo "wrote $policy.jws"
