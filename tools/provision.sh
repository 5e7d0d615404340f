#!/usr/bin/env bash
# Install the system packages the test suite needs, when they are missing.
#
# `make test` and `.ci/run` both call this. It says what is already present and what it
# installs. Where it cannot install (not root and no password-less sudo, no apt-get, no
# network), it says so loudly and exits 0: the tests that need the package then fail with
# a message naming it (tests/servers.py), they are never skipped.
#
# To add a package, add one line to PACKAGES below:
#   what it is for | a shell test that succeeds when present | apt package(s)
# The package field is evaluated by the shell, so it may use $(pg_major).
set -uo pipefail

pg_major() { ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1; }

PACKAGES=(
    "PostgreSQL server (pgaudit and ops-store tests)|ls /usr/lib/postgresql/*/bin/initdb|postgresql"
    "pgaudit extension|ls /usr/lib/postgresql/*/lib/pgaudit.so|postgresql-\$(pg_major)-pgaudit"
    "MariaDB server (server_audit tests)|command -v mariadb-install-db && command -v mariadbd|mariadb-server"
    "MariaDB client|command -v mariadb|mariadb-client"
    "NATS server with JetStream (collector tests, alert delivery to NATS)|command -v nats-server || test -x /usr/sbin/nats-server|nats-server"
    "Chromium (console browser tests, driven by Playwright; no browser download)|test -x /usr/bin/chromium|chromium"
)

if [[ $(id -u) == 0 ]]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
else
    as_root=(none)
fi

updated=0
failed=()
for entry in "${PACKAGES[@]}"; do
    IFS='|' read -r what check package <<<"$entry"
    if bash -c "$check" >/dev/null 2>&1; then
        echo "provision: present: $what"
        continue
    fi
    package=$(eval echo "$package")
    if [[ ${as_root[0]:-} == none ]] || ! command -v apt-get >/dev/null 2>&1; then
        failed+=("$what ($package): cannot install without root and apt-get")
        continue
    fi
    echo "provision: installing $package for $what"
    if ((!updated)); then
        "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1
        updated=1
    fi
    if ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends $package >/dev/null 2>&1 ||
        ! bash -c "$check" >/dev/null 2>&1; then
        failed+=("$what ($package): apt-get install failed (no network or no such package?)")
    fi
done

if ((${#failed[@]})); then
    echo "provision: ================================================================" >&2
    echo "provision: MISSING, the tests that need these will FAIL:" >&2
    printf 'provision:   %s\n' "${failed[@]}" >&2
    echo "provision: install them (as root: tools/provision.sh) and run the tests again." >&2
    echo "provision: ================================================================" >&2
fi
exit 0
