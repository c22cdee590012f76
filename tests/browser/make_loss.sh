#!/usr/bin/env bash
# Creates loss for the browser test: publishes ONE extra audit record of the
# topic's first tier for a final window, so that tier counts one message more
# than the next one. The record uses the legacy client shape
# (shared/fixtures/legacy-client-record.json), which every collector accepts.
# Env: CHAPERONE_BOOTSTRAP (Kafka bootstrap of the audit topic, required),
#      CHAPERONE_AUDIT_TOPIC (default chaperone-audit), LOSS_TOPIC, LOSS_WINDOW,
#      LOSS_TIER, WINDOW_SEC (set by dashboard.test.mjs).
set -euo pipefail
: "${CHAPERONE_BOOTSTRAP:?set CHAPERONE_BOOTSTRAP to the audit cluster}"
: "${LOSS_TOPIC:?}" "${LOSS_WINDOW:?}" "${LOSS_TIER:?}" "${WINDOW_SEC:?}"
command -v kcat >/dev/null || { echo "make_loss.sh: kcat not found (scripts/install-deps.sh --test)" >&2; exit 1; }
uuid=$(cat /proc/sys/kernel/random/uuid)
end=$((LOSS_WINDOW + WINDOW_SEC))
record=$(printf '{"topicName":"%s","timeBeginInSec":%d,"timeEndInSec":%d,"count":1,"meanLatency":1.0,"latency95":1.0,"latency99":1.0,"maxLatency":1.0,"tier":"%s","hostname":"browser-test","datacenter":"dc1","uuid":"%s"}' \
  "$LOSS_TOPIC" "$LOSS_WINDOW" "$end" "$LOSS_TIER" "$uuid")
printf '%s:%s\n' "$LOSS_TOPIC" "$record" |
  kcat -P -b "$CHAPERONE_BOOTSTRAP" -t "${CHAPERONE_AUDIT_TOPIC:-chaperone-audit}" -K: -c 1
echo "make_loss.sh: published one extra ${LOSS_TIER} record for ${LOSS_TOPIC} @ ${LOSS_WINDOW}"
