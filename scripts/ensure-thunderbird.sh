#!/usr/bin/env bash
# Makes sure a real Thunderbird with the TbSync and EAS-4-TbSync add-ons is installed, for the
# real-client test (test/e2e/thunderbird.test.ts). Idempotent, silent and quick when all is there.
#
# Debian's thunderbird package comes from the configured suites. The add-ons (webext-tbsync,
# webext-eas4tbsync) must be builds whose manifest strict_min_version/strict_max_version admit
# that Thunderbird: the configured suite's may be too old for the ESR its security updates ship
# (bookworm: add-ons 4.x for <= 128, Thunderbird 140/153). Then the add-on packages are fetched
# by name from newer Debian suites (trixie, sid) with apt-get's own client, using a private list
# directory, so the system's sources are not changed; they are installed as shipped.
# Exits non-zero with one line saying why when it cannot install (the test then skips, saying so).
set -euo pipefail

TB_EXT_DIR=/usr/lib/thunderbird/extensions
XPIS=("$TB_EXT_DIR/tbsync@jobisoft.de.xpi" "$TB_EXT_DIR/eas4tbsync@jobisoft.de.xpi")
PRIVATE_APT=/var/cache/easd-test-thunderbird-apt

say() { echo "ensure-thunderbird: $*" >&2; }

tb_major() {
  thunderbird --version 2>/dev/null | sed -n 's/.*Thunderbird \([0-9][0-9]*\)\..*/\1/p' | head -n1
}

# The manifest's strict_{min,max}_version (major only) admit Thunderbird $1.
xpi_fits() {
  local xpi=$1 major=$2 manifest min max
  [ -f "$xpi" ] || return 1
  manifest=$(unzip -p "$xpi" manifest.json 2>/dev/null) || return 1
  min=$(printf '%s' "$manifest" | sed -n 's/.*"strict_min_version": *"\([0-9]*\).*/\1/p' | head -n1)
  max=$(printf '%s' "$manifest" | sed -n 's/.*"strict_max_version": *"\([0-9]*\).*/\1/p' | head -n1)
  [ -n "$min" ] && [ "$major" -lt "$min" ] && return 1
  [ -n "$max" ] && [ "$major" -gt "$max" ] && return 1
  return 0
}

all_fit() {
  local major
  major=$(tb_major)
  [ -n "$major" ] || return 1
  for x in "${XPIS[@]}"; do xpi_fits "$x" "$major" || return 1; done
}

if command -v thunderbird >/dev/null 2>&1 && command -v unzip >/dev/null 2>&1 && all_fit; then
  exit 0
fi

[ "$(id -u)" -eq 0 ] || { say "installing Thunderbird needs root"; exit 1; }
command -v apt-get >/dev/null 2>&1 || { say "apt-get is not available"; exit 1; }

log=$(mktemp)
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive

apt_install() {
  apt-get install -y -q --no-install-recommends "$@" >>"$log" 2>&1 \
    || { apt-get update -q >>"$log" 2>&1 && apt-get install -y -q --no-install-recommends "$@" >>"$log" 2>&1; }
}

if ! command -v thunderbird >/dev/null 2>&1 || ! command -v unzip >/dev/null 2>&1; then
  say "installing thunderbird (Debian package)..."
  apt_install thunderbird unzip || { tail -n 5 "$log" >&2; say "could not install thunderbird with apt-get"; exit 1; }
fi
major=$(tb_major)
[ -n "$major" ] || { say "thunderbird --version gave no version"; exit 1; }
all_fit && exit 0

# The configured suites' add-ons, when their dependencies admit this Thunderbird.
if apt_install webext-tbsync webext-eas4tbsync && all_fit; then
  say "TbSync and EAS-4-TbSync installed for Thunderbird $major."
  exit 0
fi

# Newer suites, through a private apt state (the system's sources and lists stay as they are).
say "fetching TbSync and EAS-4-TbSync for Thunderbird $major from newer Debian suites..."
mkdir -p "$PRIVATE_APT/lists/partial" "$PRIVATE_APT/cache/archives/partial" "$PRIVATE_APT/debs"
cat >"$PRIVATE_APT/sources.list" <<'EOF'
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian sid main
EOF
APT_PRIVATE=(-o "Dir::Etc::SourceList=$PRIVATE_APT/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$PRIVATE_APT/lists" -o "Dir::Cache=$PRIVATE_APT/cache")
apt-get "${APT_PRIVATE[@]}" update -q >>"$log" 2>&1 || { tail -n 5 "$log" >&2; say "apt-get update of trixie/sid failed"; exit 1; }

# The newest version of package $1 whose Depends on thunderbird admit the installed one.
tb_version=$(dpkg-query -W -f='${Version}' thunderbird)
pick() {
  local pkg=$1 v deps ok
  for v in $(apt-cache "${APT_PRIVATE[@]}" madison "$pkg" | awk '{print $3}'); do
    deps=$(apt-cache "${APT_PRIVATE[@]}" show "$pkg=$v" 2>/dev/null | sed -n 's/^Depends: //p' | head -n1)
    ok=1
    while read -r op bound; do
      [ -n "$op" ] || continue
      bound=${bound//x/9999}
      dpkg --compare-versions "$tb_version" "$op" "$bound" || ok=0
    done < <(printf '%s\n' "$deps" | tr ',' '\n' | sed -n 's/.*thunderbird (\([<>=]*\) \([^)]*\)).*/\1 \2/p' | sed 's/^<=/le/; s/^>=/ge/; s/^<</lt/; s/^>>/gt/; s/^=/eq/')
    if [ "$ok" = 1 ]; then echo "$v"; return 0; fi
  done
  return 1
}
tbsync_v=$(pick webext-tbsync) || { say "no webext-tbsync in trixie/sid admits thunderbird $tb_version"; exit 1; }
eas_v=$(pick webext-eas4tbsync) || { say "no webext-eas4tbsync in trixie/sid admits thunderbird $tb_version"; exit 1; }
rm -f "$PRIVATE_APT"/debs/*.deb
(cd "$PRIVATE_APT/debs" && apt-get "${APT_PRIVATE[@]}" download "webext-tbsync=$tbsync_v" "webext-eas4tbsync=$eas_v" >>"$log" 2>&1) \
  || { tail -n 5 "$log" >&2; say "could not download webext-tbsync $tbsync_v / webext-eas4tbsync $eas_v"; exit 1; }
dpkg -i "$PRIVATE_APT"/debs/*.deb >>"$log" 2>&1 || { tail -n 5 "$log" >&2; say "dpkg -i of the add-ons failed"; exit 1; }
all_fit || { say "installed add-ons do not declare support for Thunderbird $major (manifest strict_min/max_version)"; exit 1; }
say "TbSync $tbsync_v and EAS-4-TbSync $eas_v installed for Thunderbird $major."
