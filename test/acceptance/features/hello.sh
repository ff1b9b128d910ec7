#!/bin/sh
# Acceptance feature: runs inside the guest (pct exec / qm guest exec) after a push.
set -eu
mkdir -p /var/lib/phoenix-acceptance
printf 'hello from %s\n' "$(hostname)" > /var/lib/phoenix-acceptance/hello
