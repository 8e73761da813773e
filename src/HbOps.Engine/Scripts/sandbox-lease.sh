# HbOps: holds a restore sandbox for the life of the connection that makes it (POSIX sh; shellcheck-clean). Run as
#   sh -c "<this script>" hbops-lease RUN
# RUN  the run id: the containers and volumes labelled hbops.sandbox=true and hbops.run-id=RUN are this run's.
# Reports key=value lines on stdout: armed=1 once it listens, swept=1 after removing what the run left.
# Standard input: request lines, then the end of the input:
#   scratch=PATH  a folder HbOps made on this host for the sandbox (an upload or a socket directory), removed with it;
#   release       HbOps removed the sandbox itself (verified) or keeps it on purpose: nothing is touched;
#   sweep         HbOps could not verify the teardown: the run's containers, volumes and scratch folder are removed.
# The end of the input without release means the connection is gone (or HbOps was killed): the same as sweep, done
# again a few seconds later, because an Engine API request sent just before the connection ended may still complete.
set -u
run=$1
scratch=''
case $run in ''|*[!0-9a-z]*) echo "error=invalid run id"; exit 64;; esac
# A write to a closed connection, or the end of the session, must not stop the sweep.
trap '' PIPE HUP
say() { printf '%s\n' "$1" 2>/dev/null || :; }

sweep() {
  containers=$(docker ps -aq --filter label=hbops.sandbox=true --filter "label=hbops.run-id=$run" 2>/dev/null)
  for c in $containers; do docker rm -f -v -- "$c" >/dev/null 2>&1; done
  volumes=$(docker volume ls -q --filter label=hbops.sandbox=true --filter "label=hbops.run-id=$run" 2>/dev/null)
  for v in $volumes; do docker volume rm -- "$v" >/dev/null 2>&1; done
}

say "armed=1"
lost=1
while IFS= read -r line; do
  case $line in
    scratch=*) scratch=${line#scratch=} ;;
    release) cat >/dev/null; exit 0 ;;
    sweep) lost=0; break ;;
  esac
done
sweep
# Only HbOps' own folder names are ever removed.
case ${scratch##*/} in
  hbops-upload-*|hbops-sock-*) rm -rf -- "$scratch" ;;
esac
say "swept=1"
if [ "$lost" = 0 ]; then cat >/dev/null; exit 0; fi
sleep 2; sweep
sleep 5; sweep
exit 0
