#!/bin/bash
# install.sh: installs an unpacked kin release (the directory this script is
# in): programs, the units' helper, man pages, systemd units and an example
# environment file. Files are replaced by rename, so running programs keep
# their old binary until restarted. Nothing is started or enabled.
#
# usage: ./install.sh [--prefix DIR] [--unitdir DIR] [--sysconfdir DIR]
#                     [--destdir DIR] [--no-reload]
#   --prefix      where bin/, libexec/kin/ and share/man/ go (/usr/local)
#   --unitdir     systemd units (/etc/systemd/system)
#   --sysconfdir  kin.env.example goes to SYSCONFDIR/kin (/etc)
#   --destdir     stage under DIR (packaging); implies --no-reload
#   --no-reload   do not run `systemctl daemon-reload`
# The units name /usr/local/...; another prefix is written into them.
set -euo pipefail

prog=install.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
prefix=/usr/local unitdir=/etc/systemd/system sysconfdir=/etc destdir='' reload=1

die() { printf '%s: %s\n' "$prog" "$*" >&2; exit "${2:-1}"; }
need() { if [ $# -lt 2 ] || [ -z "$2" ]; then die "$1 needs a value" 64; fi; }
while [ $# -gt 0 ]; do
	case $1 in
	--prefix) need "$@"; prefix=$2; shift ;;
	--unitdir) need "$@"; unitdir=$2; shift ;;
	--sysconfdir) need "$@"; sysconfdir=$2; shift ;;
	--destdir) need "$@"; destdir=$2; reload=0; shift ;;
	--no-reload) reload=0 ;;
	-h|--help) sed -n '7,14s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
	*) die "unknown argument: $1" 64 ;;
	esac
	shift
done
case $prefix in /*) ;; *) die "--prefix must be an absolute path: $prefix" 64 ;; esac
if [ ! -d "$here/bin" ] || [ ! -d "$here/systemd" ]; then
	die "$here is not an unpacked kin release" 66
fi
# '|', '\' and '&' would confuse the sed that writes the prefix into the units.
case $prefix in *[\|\\\&]*) die "unusual character in --prefix: $prefix" 64 ;; esac

# put MODE SRC DEST: copy beside DEST, then rename over it.
put() {
	local mode=$1 src=$2 dest=$3
	install -d -m 0755 "$(dirname "$dest")"
	install -m "$mode" "$src" "$dest.kin-new"
	mv -f "$dest.kin-new" "$dest"
}

bindir=$prefix/bin libexec=$prefix/libexec/kin mandir=$prefix/share/man
for f in "$here"/bin/*; do
	put 0755 "$f" "$destdir$bindir/${f##*/}"
done
put 0755 "$here/libexec/kin/kin-service" "$destdir$libexec/kin-service"
for f in "$here"/man/man*/*; do
	[ -f "$f" ] || continue
	sec=${f%/*}; sec=${sec##*/}
	put 0644 "$f" "$destdir$mandir/$sec/${f##*/}"
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in "$here"/systemd/*; do
	sed "s|/usr/local/|$prefix/|g" "$f" >"$tmp/${f##*/}"
	put 0644 "$tmp/${f##*/}" "$destdir$unitdir/${f##*/}"
done
put 0644 "$here/examples/kin.env.example" "$destdir$sysconfdir/kin/kin.env.example"

# A binary that cannot start here (missing library, wrong libc) is found now,
# not by the unit at 3 a.m.
if [ -z "$destdir" ]; then
	for f in "$here"/bin/*; do
		"$bindir/${f##*/}" --version >/dev/null 2>&1 ||
			die "installed $bindir/${f##*/} does not run here (try ldd on it)"
	done
fi
if [ "$reload" = 1 ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload
fi
printf '%s: installed kin %s under %s%s, units in %s%s\n' "$prog" \
	"$(cat "$here/VERSION")" "$destdir" "$prefix" "$destdir" "$unitdir"
