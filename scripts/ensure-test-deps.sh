#!/usr/bin/env bash
# Makes sure the tools the test suite needs are installed: libwbxml's tools and Postfix.
#
# The WBXML oracle tests (test/wbxml/oracle.test.ts) check our codec against libwbxml's
# command-line tools xml2wbxml and wbxml2xml (Debian package libwbxml2-utils). This installs that
# package with apt-get when the tools are missing. It is idempotent and prints nothing when
# everything is already there; it exits non-zero with a message when it cannot install.
set -euo pipefail

have_libwbxml() {
  command -v wbxml2xml >/dev/null 2>&1 && command -v xml2wbxml >/dev/null 2>&1
}

# The mail tests (test/e2e/mail-postfix.test.ts, test/helpers/postfix.ts) run a private Postfix
# instance from a temp config directory on loopback ports. Debian's postfix package is installed
# with "No configuration" and without starting the system instance (a policy-rc.d that denies
# service starts during the install), so nothing listens on port 25 afterwards.
have_postfix() {
  [ -x /usr/sbin/postfix ] && [ -x /usr/sbin/postqueue ]
}

install_postfix() {
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "ensure-test-deps: installing postfix needs root (no sudo available)" >&2; return 1; }
    sudo=(sudo -n)
  fi
  command -v apt-get >/dev/null 2>&1 || { echo "ensure-test-deps: postfix is missing and apt-get is not available" >&2; return 1; }
  local plog
  plog=$(mktemp)
  echo "ensure-test-deps: installing postfix (not started; the tests run their own instance)..." >&2
  printf '%s\n' 'postfix postfix/main_mailer_type select No configuration' 'postfix postfix/mailname string localhost' | "${sudo[@]}" debconf-set-selections
  # Deny service starts during the install, unless a policy is already in place.
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null && "${sudo[@]}" chmod 755 "$policy" && created_policy=1
  fi
  local failed=0
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends postfix >"$plog" 2>&1 \
    || { "${sudo[@]}" apt-get update -q >>"$plog" 2>&1 && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends postfix >>"$plog" 2>&1; } \
    || failed=1
  [ "$created_policy" = 1 ] && "${sudo[@]}" rm -f "$policy"
  if [ "$failed" != 0 ]; then
    tail -n 20 "$plog" >&2 || true
    rm -f "$plog"
    echo "ensure-test-deps: could not install postfix with apt-get" >&2
    return 1
  fi
  rm -f "$plog"
  echo "ensure-test-deps: postfix installed." >&2
}

if ! have_postfix; then
  install_postfix || exit 1
fi

# The real-client test (test/e2e/thunderbird.test.ts) needs Thunderbird with TbSync and
# EAS-4-TbSync. Not fatal: without them that test skips and says why.
bash "$(dirname "$0")/ensure-thunderbird.sh" || echo "ensure-test-deps: Thunderbird not available; test/e2e/thunderbird.test.ts will skip" >&2

if have_libwbxml; then
  exit 0
fi

fail() {
  echo "ensure-test-deps: $*" >&2
  echo "ensure-test-deps: the WBXML oracle tests need xml2wbxml and wbxml2xml (Debian package libwbxml2-utils)." >&2
  exit 1
}

if ! command -v apt-get >/dev/null 2>&1; then
  fail "wbxml2xml is missing and apt-get is not available to install libwbxml2-utils"
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo -n)
  else
    fail "wbxml2xml is missing and installing libwbxml2-utils needs root (no sudo available)"
  fi
fi

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT

install() {
  "${SUDO[@]}" apt-get install -y -q --no-install-recommends libwbxml2-utils >"$log" 2>&1
}

echo "ensure-test-deps: installing libwbxml2-utils (xml2wbxml, wbxml2xml)..." >&2
if ! install; then
  # The package lists may be missing or stale (a fresh machine): refresh them once and retry.
  if ! "${SUDO[@]}" apt-get update -q >>"$log" 2>&1 || ! install; then
    tail -n 20 "$log" >&2 || true
    fail "could not install libwbxml2-utils with apt-get"
  fi
fi

have_libwbxml || fail "libwbxml2-utils was installed but wbxml2xml/xml2wbxml are still not on PATH"
echo "ensure-test-deps: libwbxml2-utils installed." >&2
