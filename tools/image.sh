#!/bin/sh
# image.sh - `make image`: build storefleet's container image from Containerfile, with podman if it
# is installed, else docker.  Prints the image's full name on its last line.
#
#   tools/image.sh [BUILD OPTIONS...]          extra options go to `podman|docker build` (e.g. --no-cache)
#   IMAGE=ghcr.io/you/storefleet TAG=0.1.0 tools/image.sh
#
# IMAGE  the repository, without a tag (default: image.repository of charts/platform/values.yaml)
# TAG    the tag (default: `git describe --always --dirty` of this checkout)
#
# A Docker Hub name is written out in full (storefleet/storefleet -> docker.io/storefleet/storefleet):
# podman would otherwise file it as localhost/storefleet/storefleet, which neither `k3d image
# import` of a `podman save` archive nor the chart's pods would find under the name they ask for.
set -eu

if command -v podman >/dev/null 2>&1; then
	engine=podman
elif command -v docker >/dev/null 2>&1; then
	engine=docker
else
	echo "image: neither podman nor docker is installed — apt-get install podman (or docker.io), then make image" >&2
	exit 1
fi

die() {
	echo "image: $*" >&2
	exit 1
}

case $0 in
*/*) root=$(cd "${0%/*}/.." && pwd) ;;
*) root=$(cd .. && pwd) ;;
esac
cd "$root"
[ -f Containerfile ] || die "no Containerfile in $root"

# The repository the chart's pods run: image.repository in the image: block of values.yaml.
if [ -z "${IMAGE:-}" ]; then
	IMAGE=$(awk '
		/^[^[:space:]#]/ { in_image = ($1 == "image:") }
		in_image && $1 == "repository:" { gsub(/["'\'']/, "", $2); print $2; exit }
	' charts/platform/values.yaml 2>/dev/null) || IMAGE=""
	[ -n "$IMAGE" ] || die "no image.repository in charts/platform/values.yaml: set IMAGE"
fi
case ${IMAGE##*/} in
*:* | *@*) die "IMAGE=$IMAGE names a tag or digest: give the repository alone, and TAG" ;;
esac

if [ -z "${TAG:-}" ]; then
	TAG=$(git describe --always --dirty 2>/dev/null) ||
		die "git describe failed in $root (not a git checkout?): set TAG"
	# a tag is [A-Za-z0-9_.-]; a git tag such as release/1.0 becomes release-1.0
	TAG=$(printf '%s' "$TAG" | tr -c 'A-Za-z0-9_.-' '-')
fi
case $TAG in
'' | [.-]* | *[!A-Za-z0-9_.-]*) die "TAG=$TAG is not a valid image tag ([A-Za-z0-9_][A-Za-z0-9_.-]*)" ;;
esac
[ "${#TAG}" -le 128 ] || die "TAG is longer than 128 characters"

case $IMAGE in
*/*)
	case ${IMAGE%%/*} in
	*.* | *:* | localhost) name=$IMAGE ;;
	*) name=docker.io/$IMAGE ;;
	esac
	;;
*) name=docker.io/library/$IMAGE ;;
esac

if [ "$engine" = docker ] && ! docker info >/dev/null 2>&1; then
	die "docker is installed but its daemon does not answer (docker info) — start it, or apt-get install podman"
fi

if rev=$(git rev-parse --verify -q HEAD 2>/dev/null); then
	set -- --label "org.opencontainers.image.revision=$rev" "$@"
fi
echo "image: $engine build -t $name:$TAG" >&2
"$engine" build --file Containerfile --tag "$name:$TAG" \
	--label "org.opencontainers.image.version=$TAG" "$@" .
echo "$name:$TAG"
