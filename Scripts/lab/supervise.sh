# shellcheck shell=bash
# Sourced first thing by mesh.sh, lab.sh, scenarios.sh and every scenario: runs the rest of the script in
# a child process, and only waits for it here.
#
# Why: bash can lose a SIGINT that arrives while it waits for a foreground command. If the command's exit
# was already collected when the signal comes, bash takes it that the command caught the signal itself,
# and neither runs the INT trap nor exits; `kill -INT` to a busy script then does nothing, about once in
# fifty tries. A shell that sits in the `wait` builtin always runs its trap, and a TERM trap is never
# skipped. So this parent waits, and turns SIGINT and SIGTERM into a SIGTERM for the child, whose TERM
# trap cleans up. The child's status is passed on; after a signal, 130 (SIGINT) or 143 (SIGTERM).
#
# The child sees SUPERVISOR_PID, the PID its callers know (the lab names its namespaces after it).
if [ -z "${RUMOR_SUPERVISOR:-}" ]; then
  RUMOR_SUPERVISOR=$$ "$BASH" "$0" "$@" <&0 &
  supervised_child=$!
  supervised_signal=""
  supervised_signals=0
  trap 'supervised_signal=130; supervised_signals=$((supervised_signals + 1)); kill -TERM "$supervised_child" 2>/dev/null' INT
  trap 'supervised_signal=143; supervised_signals=$((supervised_signals + 1)); kill -TERM "$supervised_child" 2>/dev/null' TERM
  while :; do
    supervised_before=$supervised_signals
    supervised_status=0
    wait "$supervised_child" || supervised_status=$?
    # A signal interrupts `wait` while the child still runs: wait again until it has cleaned up.
    [ "$supervised_signals" -ne "$supervised_before" ] || break
  done
  exit "${supervised_signal:-$supervised_status}"
fi
SUPERVISOR_PID=$RUMOR_SUPERVISOR
# Scripts this one runs supervise themselves.
unset RUMOR_SUPERVISOR
