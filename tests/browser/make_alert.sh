#!/usr/bin/env bash
# Raises an alert for the browser test: writes ONE firing alert of the loss
# detector into the store, as the detector writes it (chaperone-test-alert:
# under a lease, Store::SaveAlerts), and prints its id on the last line.
# Env: CHAPERONE_STORE_URL (the store the web server reads, required),
#      CHAPERONE_TEST_ALERT (default $CHAPERONE_BUILD_DIR/bin/chaperone-test-alert),
#      ALERT_TOPIC, ALERT_SOURCE, ALERT_TARGET, ALERT_FIRST, ALERT_LAST (window
#      starts), ALERT_KIND, ALERT_SEVERITY, ALERT_LOST (set by dashboard.test.mjs).
set -euo pipefail
: "${CHAPERONE_STORE_URL:?set CHAPERONE_STORE_URL to the store the web server reads}"
: "${ALERT_TOPIC:?}" "${ALERT_SOURCE:?}" "${ALERT_TARGET:?}" "${ALERT_FIRST:?}" "${ALERT_LAST:?}"
tool=${CHAPERONE_TEST_ALERT:-${CHAPERONE_BUILD_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build}/bin/chaperone-test-alert}
[[ -x $tool ]] || { echo "make_alert.sh: $tool not found (build the target chaperone-test-alert)" >&2; exit 1; }
"$tool" --store "$CHAPERONE_STORE_URL" --topic "$ALERT_TOPIC" --source "$ALERT_SOURCE" --target "$ALERT_TARGET" \
  --first "$ALERT_FIRST" --last "$ALERT_LAST" --kind "${ALERT_KIND:-loss}" --severity "${ALERT_SEVERITY:-critical}" \
  --lost "${ALERT_LOST:-1}"
