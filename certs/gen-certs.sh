#!/usr/bin/env bash
# Makes a CA and a serving certificate for the webhook Service, with openssl.
#
#   certs/gen-certs.sh [-s SERVICE] [-n NAMESPACE] [-o DIR] [-d DAYS] [-H HOST]
#
# Writes DIR/ca.crt, DIR/ca.key, DIR/tls.crt, DIR/tls.key (DIR defaults to certs/, where
# *.crt and *.key are git-ignored). The serving certificate is valid for SERVICE.NAMESPACE.svc
# (the name the API server calls) and its shorter and longer forms, and for localhost,
# 127.0.0.1 and ::1 so the same files serve local runs, and for each HOST (a name or an address
# the API server dials a webhook run outside the cluster by; -H may be repeated). Each name is
# listed once. An existing ca.crt/ca.key in DIR is
# reused, so renewing the serving certificate keeps the caBundle unchanged.
#
# Prints the caBundle (base64 of ca.crt, one line) on standard output, for
# webhooks[].clientConfig.caBundle; everything else goes to standard error.
set -euo pipefail

service=gpu-admission
namespace=gpu-admission
dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
days=365

extra=""
usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while getopts "s:n:o:d:H:h" opt; do
  case "$opt" in
    s) service="$OPTARG" ;;
    n) namespace="$OPTARG" ;;
    o) dir="$OPTARG" ;;
    d) days="$OPTARG" ;;
    H) if [[ "$OPTARG" =~ ^[0-9.]+$|: ]]; then extra+=" IP:$OPTARG"; else extra+=" DNS:$OPTARG"; fi ;;
    *) usage ;;
  esac
done
[[ "$days" =~ ^[0-9]+$ ]] || { echo "gen-certs: -d must be a number of days" >&2; exit 2; }

mkdir -p "$dir"
umask 077
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)

if [[ -s "$dir/ca.crt" && -s "$dir/ca.key" ]]; then
  echo "gen-certs: reusing the CA in $dir/ca.crt" >&2
else
  openssl req -x509 "${ec[@]}" -keyout "$dir/ca.key" -out "$dir/ca.crt" -days "$((days * 2))" \
    -subj "/CN=gpu-admission webhook CA" 2>/dev/null
  echo "gen-certs: made a CA in $dir/ca.crt" >&2
fi

host="$service.$namespace.svc"
# Each name once, in order: a -H that repeats one of the built-in names (localhost, 127.0.0.1) adds nothing.
sans=""
for san in "DNS:$service" "DNS:$service.$namespace" "DNS:$host" "DNS:$host.cluster.local" DNS:localhost IP:127.0.0.1 IP:::1 $extra; do
  [[ ",$sans," == *",$san,"* ]] || sans="${sans:+$sans,}$san"
done
cat > "$work/tls.ext" <<EXT
basicConstraints=CA:FALSE
keyUsage=digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=$sans
EXT
openssl req "${ec[@]}" -keyout "$work/tls.key" -out "$work/tls.csr" -subj "/CN=$host" 2>/dev/null
openssl x509 -req -in "$work/tls.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
  -CAserial "$work/ca.srl" -out "$work/tls.crt" -days "$days" -extfile "$work/tls.ext" 2>/dev/null
# Replace the pair together, key first, so a watcher never pairs a new certificate with an old key for long.
mv "$work/tls.key" "$dir/tls.key"
mv "$work/tls.crt" "$dir/tls.crt"
echo "gen-certs: serving certificate for $host (and localhost) in $dir/tls.crt, key $dir/tls.key, $days days" >&2
echo "gen-certs: in the cluster: kubectl -n $namespace create secret tls $service-tls --cert=$dir/tls.crt --key=$dir/tls.key" >&2
echo "gen-certs: caBundle for the webhook configurations:" >&2
openssl base64 -A -in "$dir/ca.crt"
echo
