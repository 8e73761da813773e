#!/usr/bin/env bash
# Builds postgres:MAJOR from a Debian release's own postgresql-MAJOR package, for a PostgreSQL major the host
# does not have (the host's Debian ships one major; build-postgres-image.sh copies that one). The rootfs comes from
# debootstrap against the mirror the machine's apt sources name; it takes minutes, so the rootfs tarball is kept
# in a cache folder outside the clone, keyed by the package's version, and later runs (and CI on the same machine)
# import it again without debootstrap. Nothing is done when the image is already there.
# Usage: build-postgres-debian-image.sh [MAJOR] [SUITE]      (defaults: 17 trixie)
# Env:   HBOPS_IMAGE_CACHE (default /var/cache/hbops-testenv), HBOPS_REBUILD_IMAGE=1 to re-import.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_root
MAJOR="${1:-17}"
SUITE="${2:-trixie}"
IMAGE="postgres:$MAJOR"
CACHE="${HBOPS_IMAGE_CACHE:-/var/cache/hbops-testenv}"
# Bumped whenever the image's shape changes, so an older build is replaced (the cached rootfs stays valid: it is
# the bare debootstrap result; the shaping below is redone on every import).
IMAGE_REVISION=2
if [ "$(docker image inspect -f '{{index .Config.Labels "hbops.testenv"}}' "$IMAGE" 2>/dev/null)" = "debian-$IMAGE_REVISION" ] &&
   [ "${HBOPS_REBUILD_IMAGE:-0}" != "1" ]; then
  log "image $IMAGE already present"; exit 0
fi

# mirror_uri prints the first non-security Debian mirror of this machine's apt sources (deb822 .sources files
# first, then sources.list): the only host this script may fetch from.
mirror_uri() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk '$1 == "deb" { u = ($2 ~ /^\[/) ? $3 : $2; if (u !~ /security/) { print u; exit } }' "$f"
  done
}
MIRROR="$(mirror_uri | head -n 1)"
[ -n "$MIRROR" ] || { log "no Debian mirror found in the apt sources"; exit 1; }
mkdir -p "$CACHE"
chmod 0755 "$CACHE"

# The package's version in SUITE decides the cache key. apt reads SUITE's index into a state folder of its own
# (kept in the cache, so a later run only revalidates it); the machine's own apt state is untouched.
APT_STATE="$CACHE/apt-$SUITE"
mkdir -p "$APT_STATE/lists/partial" "$APT_STATE/cache/archives/partial"
printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' "$MIRROR" "$SUITE" >"$APT_STATE/sources.list"
APT_OPTS=(-o "Dir::Etc::SourceList=$APT_STATE/sources.list" -o Dir::Etc::SourceParts=/nonexistent
  -o "Dir::State::Lists=$APT_STATE/lists" -o "Dir::Cache=$APT_STATE/cache" -o Dir::Etc::Preferences=/nonexistent
  -o Dir::Etc::PreferencesParts=/nonexistent -o APT::Architecture="$(dpkg --print-architecture)")
VERSION=""
if apt-get "${APT_OPTS[@]}" -qq update >/dev/null 2>&1; then
  VERSION="$(apt-cache "${APT_OPTS[@]}" show --no-all-versions "postgresql-$MAJOR" 2>/dev/null | awk '$1 == "Version:" {print $2; exit}')"
fi
ARCH="$(dpkg --print-architecture)"
if [ -n "$VERSION" ]; then
  TARBALL="$CACHE/postgresql-${MAJOR}_${VERSION}_${SUITE}_${ARCH}.rootfs.tar"
else
  # The mirror could not be read: the newest cached rootfs of this major is still a valid image.
  TARBALL="$(find "$CACHE" -maxdepth 1 -name "postgresql-${MAJOR}_*_${SUITE}_${ARCH}.rootfs.tar" -printf '%T@ %p\n' |
    sort -rn | head -n 1 | cut -d' ' -f2-)"
  [ -n "$TARBALL" ] || { log "cannot read postgresql-$MAJOR's version from $MIRROR and nothing is cached"; exit 1; }
  log "mirror unreachable; using the cached $TARBALL"
fi

if [ ! -s "$TARBALL" ]; then
  apt_install debootstrap
  WORK="$(mktemp -d "$CACHE/debootstrap.XXXXXX")"
  trap 'rm -rf "$WORK"' EXIT
  log "debootstrap $SUITE with postgresql-$MAJOR $VERSION from $MIRROR (takes minutes)"
  started=$SECONDS
  debootstrap --variant=minbase --include="postgresql-$MAJOR" "$SUITE" "$WORK/rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || {
    tail -n 30 "$WORK/debootstrap.log" >&2; exit 1; }
  # The package's postinst created a cluster (/var/lib/postgresql/MAJOR/main) the image never uses (its data
  # folder is PGDATA); downloaded packages are not needed either.
  rm -rf "$WORK/rootfs/var/lib/postgresql/$MAJOR" "$WORK/rootfs/etc/postgresql/$MAJOR" \
    "$WORK/rootfs/var/cache/apt/archives/"*.deb "$WORK/rootfs/var/lib/apt/lists/"* "$WORK/rootfs/debootstrap"
  tar -C "$WORK/rootfs" -cf "$WORK/rootfs.tar" .
  mv "$WORK/rootfs.tar" "$TARBALL"
  chmod 0644 "$TARBALL"
  log "rootfs cached in $TARBALL after $((SECONDS - started)) s"
  rm -rf "$WORK"
  trap - EXIT
else
  log "using the cached rootfs $TARBALL"
fi

# Shape the image like the official one: the test entrypoint, PGDATA, PG_MAJOR. The cached tarball is streamed
# with the entrypoint appended, so it is never unpacked again.
SHAPE="$(mktemp -d "$CACHE/shape.XXXXXX")"
trap 'rm -rf "$SHAPE"' EXIT
mkdir -p "$SHAPE/usr" "$SHAPE/var/lib/postgresql/data" "$SHAPE/var/run/postgresql" "$SHAPE/docker-entrypoint-initdb.d"
install -m 0755 "$ENV_SCRIPTS_DIR/postgres-entrypoint.sh" "$SHAPE/usr/local-entrypoint.sh"
cp "$TARBALL" "$SHAPE/image.tar"
tar -C "$SHAPE" --owner=0 --group=0 -rf "$SHAPE/image.tar" ./usr/local-entrypoint.sh ./docker-entrypoint-initdb.d
# The Debian package version, as the official image's PG_VERSION carries it (read back from the cache key when the
# mirror was not reachable).
PG_VERSION="${VERSION:-$(basename "$TARBALL" | cut -d_ -f2)}"
log "importing $IMAGE"
docker import \
  --change 'ENTRYPOINT ["/usr/local-entrypoint.sh"]' \
  --change 'CMD ["postgres"]' \
  --change "ENV PATH=/usr/lib/postgresql/$MAJOR/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin PGDATA=/var/lib/postgresql/data LANG=C.UTF-8" \
  --change 'VOLUME /var/lib/postgresql/data' \
  --change 'EXPOSE 5432' \
  --change "ENV PG_MAJOR=$MAJOR PG_VERSION=$PG_VERSION" \
  --change "LABEL hbops.testenv=debian-$IMAGE_REVISION" \
  "$SHAPE/image.tar" "$IMAGE" >/dev/null
log "image $IMAGE built ($(docker image inspect -f '{{.Size}}' "$IMAGE") bytes)"
