#!/bin/sh
# Slurm HealthCheckProgram (or LBNL NHC check) for envcheck: drain this node when its OpenMMLab stack
# differs from the fleet's golden `envcheck inspect --json` document, or when envcheck finds an error.
#
#   slurm.conf:  HealthCheckProgram=/shared/envcheck/slurm-healthcheck.sh
#                HealthCheckInterval=300
#                HealthCheckNodeState=ANY
#   NHC:         * || check_cmd_status -t 10 -r 0 /shared/envcheck/slurm-healthcheck.sh
#
# Settings, from the environment or edited here (slurmd runs this with almost no environment):
#   ENVCHECK         the command that runs envcheck   (default: envcheck; e.g. "/shared/venv/bin/python -m envcheck")
#   ENVCHECK_GOLDEN  the golden document               (default: /shared/envcheck/golden.json)
#   ENVCHECK_TARGET  the interpreter jobs use          (default: the one envcheck runs in)
#   ENVCHECK_DRAIN   0: only report (exit 1), do not drain (NHC marks the node itself)
# Exit 0: the node matches; 1: it differs or has an error finding (and is drained); 2: could not check.
# `envcheck doctor --baseline` takes about half a second; Slurm kills a health check after 60 s.
PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin:$PATH
ENVCHECK=${ENVCHECK:-envcheck}
GOLDEN=${ENVCHECK_GOLDEN:-/shared/envcheck/golden.json}
NODE=${SLURMD_NODENAME:-$(hostname -s)}

set -- doctor --baseline "$GOLDEN"
if [ -n "${ENVCHECK_TARGET:-}" ]; then set -- "$@" --python "$ENVCHECK_TARGET"; fi
# shellcheck disable=SC2086  # ENVCHECK may be "python -m envcheck": split on purpose
out=$($ENVCHECK "$@" 2>&1)
rc=$?
case $rc in
  0) exit 0 ;;
  1) why=$(printf '%s\n' "$out" | sed -n 's/^✗ \(.*\) \[[a-z0-9-]*\]$/\1/p' | head -n 1)
     reason="envcheck: ${why:-stack differs from the baseline}" ;;
  *) reason="envcheck: could not check (exit $rc): $(printf '%s\n' "$out" | tail -n 1)" ;;
esac
reason=$(printf '%s' "$reason" | cut -c1-200)
echo "$NODE: $reason"
if [ "${ENVCHECK_DRAIN:-1}" != 0 ]; then
  scontrol update NodeName="$NODE" State=DRAIN Reason="$reason"
fi
[ "$rc" = 1 ] && exit 1
exit 2
