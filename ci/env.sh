# Sourced by .ci/run (and usable by hand: `source ci/env.sh`). Lists the setup steps CI runs, in
# order; each is a script in ci/ that installs a tool or starts a service, is safe to run twice,
# exports what the tests need, and registers any daemon's stop command in $CI_CLEANUP_FILE.
# shellcheck disable=SC2034 # read by .ci/run
CI_STEPS=(chromium.sh)
