#!/usr/bin/env bash
# The Aether OCI image, built with Debian's tools and no container engine (docs/deploy.md):
#   1. the Debian package (cpack, as CI builds it) is the installed tree: /usr/bin/aether, the example
#      configs, scenarios, content and docs;
#   2. the root filesystem is Debian 12 itself, made by mmdebstrap from the packages that own the
#      libraries the binary links (found with ldd and dpkg -S; apt resolves their dependencies), with
#      no shell, no package manager and no other program: the one aether binary;
#   3. a user aether (10001:10001) and nothing it may write: the manifests mount the root read-only,
#      and the state lives in PostgreSQL (or an emptyDir/volume at /var/lib/aether);
#   4. umoci writes the OCI image layout; skopeo checks it. The binary is run inside the root as the
#      image's user (--version and a simulated battle), and the image, unpacked again, runs a battle
#      over real sockets with its root mounted read-only, before the image is declared built.
# Output: build/image/aether-oci (an OCI layout, tag VERSION) and build/image/aether-VERSION.oci.tar
# (`skopeo copy oci-archive:build/image/aether-VERSION.oci.tar docker://registry.example.com/aether:VERSION`).
#   usage: scripts/image.sh [BUILD_DIR]        (as root: mmdebstrap and chroot)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
suite=${AETHER_IMAGE_SUITE:-bookworm}
for tool in mmdebstrap umoci skopeo dpkg-deb; do
  command -v "$tool" >/dev/null || { echo "image: $tool missing: bash scripts/install-deps.sh"; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "image: run as root (mmdebstrap and chroot)"; exit 1; }

# 1. The package: the same one CI installs.
cmake --build "$build" --target aether >/dev/null
(cd "$build" && cpack --config CPackConfig.cmake >/dev/null)
deb=$(ls -t "$build"/aether_*_amd64.deb | head -1)
version=$(dpkg-deb -f "$deb" Version)
echo "image: aether $version from $deb"

# 2. The libraries' packages: whoever owns each library the binary links on this (build) machine.
libs=$(ldd "$build/bin/aether" | awk '$3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
packages=$(for l in $libs; do dpkg -S "$(readlink -f "$l")" 2>/dev/null || dpkg -S "$l"; done | cut -d: -f1 | sort -u | tr '\n' ',' | sed 's/,$//')
echo "image: packages $packages"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
mmdebstrap --quiet --variant=extract --include="$packages" --aptopt='Apt::Install-Recommends "false"' "$suite" "$root"
dpkg-deb -x "$deb" "$root"
# Only what runs: no documentation of the libraries, no locales, no apt or dpkg state left behind.
rm -rf "$root"/usr/share/doc/lib* "$root"/usr/share/man "$root"/usr/share/locale "$root"/usr/share/lintian \
       "$root"/var/lib/apt "$root"/var/cache/apt "$root"/var/lib/dpkg "$root"/var/log/* "$root"/dev/*
# The user: passwd and group name it (libpq and glibc look the uid up); nothing owned by it but its
# home, which the manifests cover with a volume.
mkdir -p "$root/etc" "$root/var/lib/aether" "$root/tmp"
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\naether:x:10001:10001:Aether:/var/lib/aether:/usr/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\naether:x:10001:\n' >"$root/etc/group"
chown 10001:10001 "$root/var/lib/aether"
chmod 1777 "$root/tmp"

# The binary runs in that root, as that user, with nothing else: its version, and a battle.
chroot --userspec=10001:10001 "$root" /usr/bin/aether --version | grep -E "^aether $version "
chroot --userspec=10001:10001 "$root" /usr/bin/aether sim /usr/share/aether/scenarios/v1-battle.textpb --seed 1 | grep '^trace-digest '
programs=$(find "$root" -type f -perm -u+x \( -path '*/bin/*' -o -path '*/sbin/*' \) | sed "s|^$root||" | sort)
[ "$programs" = "/usr/bin/aether" ] || { echo "image: programs other than aether in the root: $programs"; exit 1; }

# 4. The OCI layout.
out="$build/image"
rm -rf "$out" && mkdir -p "$out"
layout="$out/aether-oci"
umoci init --layout "$layout"
umoci new --image "$layout:$version"
umoci unpack --image "$layout:$version" "$work/bundle" >/dev/null
rm -rf "$work/bundle/rootfs" && mv "$root" "$work/bundle/rootfs"
umoci repack --image "$layout:$version" --history.created_by "scripts/image.sh" "$work/bundle"
umoci config --image "$layout:$version" \
  --config.user 10001:10001 --config.entrypoint /usr/bin/aether --config.cmd --help \
  --config.workingdir /var/lib/aether --config.volume /var/lib/aether \
  --config.exposedports 7000/tcp --config.exposedports 7100/tcp --config.exposedports 7200/tcp --config.exposedports 9100/tcp \
  --config.label "org.opencontainers.image.title=aether" --config.label "org.opencontainers.image.version=$version" \
  --config.label "org.opencontainers.image.revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
  --architecture amd64 --os linux --history.created_by "scripts/image.sh: user, entrypoint"
umoci gc --layout "$layout"
skopeo copy --quiet "oci:$layout:$version" "oci-archive:$out/aether-$version.oci.tar:aether:$version"
inspect=$(skopeo inspect --config "oci:$layout:$version")
grep -q '"User": "10001:10001"' <<<"$inspect" || { echo "image: the config does not run as 10001"; exit 1; }
# The image itself, unpacked, runs a battle over real sockets with its root mounted read-only (as
# the manifests mount it; /tmp a tmpfs, as their emptyDir) and as its user. Its account stores go
# to /tmp: the only place the manifests let it write.
umoci unpack --image "$layout:$version" "$work/check" >/dev/null
unshare -m bash -c "mount --bind '$work/check/rootfs' '$work/check/rootfs' && mount -o remount,ro,bind '$work/check/rootfs' &&
  mount -t tmpfs tmpfs '$work/check/rootfs/tmp' && cd / &&
  chroot --userspec=10001:10001 '$work/check/rootfs' /usr/bin/aether local --bots 10 --duration 3 --data-dir /tmp/aether-data --log-level error" >"$work/battle.out" 2>&1 ||
  { cat "$work/battle.out"; echo "image: the unpacked image did not run read-only"; exit 1; }
grep -q 'bots playing 10 of 10' "$work/battle.out" || { cat "$work/battle.out"; echo "image: the read-only battle did not play"; exit 1; }
size=$(du -m "$out/aether-$version.oci.tar" | cut -f1)
echo "image: $layout:$version and $out/aether-$version.oci.tar ($size MB), user 10001, entrypoint /usr/bin/aether"
