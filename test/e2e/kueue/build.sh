#!/usr/bin/env bash
# Builds Kueue's manager (sigs.k8s.io/kueue/cmd/kueue) from its Go module, fetched through the Go
# module proxy, for the Kueue e2e (test/e2e/kueue.e2e.ts). The binary lands in a cache outside the
# repo, beside the control plane's (test/e2e/control-plane/build.sh), and is reused when present:
#
#   ${GPU_ADMISSION_CACHE:-$HOME/.cache/gpu-admission}/kueue-<version>/bin/kueue
#
# The module source (CRDs, webhook manifests) stays in the Go module cache; the e2e reads it from
# there. Env overrides: KUEUE_VERSION (v0.17.0, what the proxy serves), GPU_ADMISSION_CACHE.
# Prints "KUEUE_BIN=..." and "KUEUE_SRC=..." as its last lines.
set -euo pipefail

KUEUE_VERSION="${KUEUE_VERSION:-v0.17.0}"
CACHE="${GPU_ADMISSION_CACHE:-$HOME/.cache/gpu-admission}"
DIR="$CACHE/kueue-$KUEUE_VERSION"

export GOTOOLCHAIN=local   # a Kueue that needs a newer Go must fail loudly, not download one
export CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:-} -mod=mod"

log() { printf '[kueue/build.sh] %s\n' "$*" >&2; }

mkdir -p "$DIR/src" "$DIR/bin"
cd "$DIR/src"
[[ -f go.mod ]] || go mod init gpu-admission.local/kueue >/dev/null 2>&1
go mod edit -require="sigs.k8s.io/kueue@$KUEUE_VERSION"
src="$(go mod download -json "sigs.k8s.io/kueue@$KUEUE_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
if [[ -x "$DIR/bin/kueue" ]]; then
  log "kueue $KUEUE_VERSION already built: $DIR/bin/kueue"
else
  log "building kueue $KUEUE_VERSION (about 7 minutes cold on 2 cores)"
  start=$(date +%s)
  nice -n 10 go build -trimpath -ldflags="-s -w -X sigs.k8s.io/kueue/pkg/version.GitVersion=$KUEUE_VERSION" \
    -o "$DIR/bin/kueue.tmp" sigs.k8s.io/kueue/cmd/kueue
  mv "$DIR/bin/kueue.tmp" "$DIR/bin/kueue"
  log "kueue $KUEUE_VERSION built in $(( $(date +%s) - start )) s"
fi
echo "KUEUE_BIN=$DIR/bin/kueue"
echo "KUEUE_SRC=$src"
