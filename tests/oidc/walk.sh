#!/usr/bin/env bash
# Walks the authorization code flow with PKCE through a running provider.mjs by curl,
# as the gateway's relying party does, and prints the ID token's claims: a check that
# the provider works here, and a record of the requests a client makes.
#
#   bash tests/oidc/walk.sh ISSUER [USERNAME PASSWORD [REDIRECT_URI [CLIENT_ID CLIENT_SECRET]]]
#
# The redirect URI need not be served: the code is read from the redirect's Location.
set -euo pipefail
ISS=$1
USERNAME=${2:-district-officer}
PASSWORD=${3:-district-officer-password}
REDIRECT=${4:-http://127.0.0.1:8080/app/auth/callback}
CLIENT_ID=${5:-gateway-app}
CLIENT_SECRET=${6:-gateway-app-secret}
JAR=$(mktemp)
trap 'rm -f "$JAR"' EXIT
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
uri() { jq -rn --arg v "$1" '$v|@uri'; }
VERIFIER=$(head -c 32 /dev/urandom | b64url)
CHALLENGE=$(printf %s "$VERIFIER" | openssl dgst -sha256 -binary | b64url)
AUTH="$ISS/auth?client_id=$(uri "$CLIENT_ID")&response_type=code&scope=openid%20profile%20gateway"
AUTH+="&redirect_uri=$(uri "$REDIRECT")&state=walk&nonce=walk-nonce&code_challenge=$CHALLENGE&code_challenge_method=S256"
follow() { curl -sS -c "$JAR" -b "$JAR" -o /dev/null -w '%{redirect_url}' "$@"; }
LOGIN=$(follow "$AUTH")
echo "authorize -> $LOGIN"
ACTION=$(curl -sS -c "$JAR" -b "$JAR" "$LOGIN" | grep -o 'action="[^"]*"' | head -1 | cut -d'"' -f2)
RESUME=$(follow --data-urlencode "username=$USERNAME" --data-urlencode "password=$PASSWORD" "$ISS$ACTION")
echo "login form $ACTION -> $RESUME"
CALLBACK=$(follow "$RESUME")
echo "resume -> $CALLBACK"
CODE=$(sed -n 's/.*[?&]code=\([^&]*\).*/\1/p' <<<"$CALLBACK")
[ -n "$CODE" ] || { echo "no code in the redirect" >&2; exit 1; }
TOKENS=$(curl -sS -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=authorization_code -d "code=$CODE" \
  --data-urlencode "redirect_uri=$REDIRECT" -d "code_verifier=$VERIFIER" "$ISS/token")
jq -c 'del(.id_token, .access_token)' <<<"$TOKENS"
ID_TOKEN=$(jq -r .id_token <<<"$TOKENS")
part() { local p; p=$(cut -d. -f"$1" <<<"$ID_TOKEN" | tr '_-' '/+'); while [ $(( ${#p} % 4 )) -ne 0 ]; do p+="="; done; base64 -d <<<"$p"; }
echo "id token header: $(part 1)"
echo "id token claims: $(part 2)"
