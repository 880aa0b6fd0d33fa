#!/usr/bin/env bash
# Builds kube-apiserver, etcd and kubectl from source into bin/k8s (no
# prebuilt binaries can be downloaded on the build machines). The build is
# skipped when bin/k8s/.stamp matches the pinned versions, so the ~7 minutes
# are paid once per machine.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bin/k8s
mkdir -p "$out"

stamp=$(cat hack/controlplane/go.mod hack/controlplane/go.sum \
            hack/controlplane/etcd/go.mod hack/controlplane/etcd/go.sum \
            hack/build-controlplane.sh | sha256sum | cut -d' ' -f1)
want="${1:-all}" # all | kubectl
if [[ "$want" == all && -f "$out/.stamp" && "$(cat "$out/.stamp")" == "$stamp" \
      && -x "$out/kube-apiserver" && -x "$out/etcd" ]]; then
  exit 0
fi

k8s_version=$(grep -oE 'k8s\.io/kubernetes v[0-9]+\.[0-9]+\.[0-9]+' hack/controlplane/go.mod | awk '{print $2}')
[[ -n "$k8s_version" ]] || { echo "cannot read the k8s.io/kubernetes version from hack/controlplane/go.mod" >&2; exit 1; }
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=${k8s_version} -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$k8s_version" | cut -d. -f2)"

build() { # name, module dir, package
  local start=$SECONDS
  echo "building $1 (from $3) ..." >&2
  (cd "$2" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$OLDPWD/$out/$1.tmp" "$3")
  mv "$out/$1.tmp" "$out/$1"
  echo "built $out/$1 in $((SECONDS - start)) s" >&2
}

if [[ "$want" == kubectl ]]; then
  [[ -x "$out/kubectl" && -f "$out/.stamp-kubectl" && "$(cat "$out/.stamp-kubectl")" == "$stamp" ]] && exit 0
  build kubectl hack/controlplane k8s.io/kubernetes/cmd/kubectl
  echo "$stamp" > "$out/.stamp-kubectl"
  exit 0
fi

build etcd hack/controlplane/etcd go.etcd.io/etcd/server/v3
build kube-apiserver hack/controlplane k8s.io/kubernetes/cmd/kube-apiserver
echo "$stamp" > "$out/.stamp"
