# wait_tcp HOST PORT: waits up to 10 s for something to listen there. Sourced
# by setup.sh and by the service scripts, which npm run bench also runs on
# their own (bench/frontdoors.bench.ts).
wait_tcp() {
  for _ in $(seq 1 50); do
    if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  echo "interop: nothing listens on $1:$2" >&2
  return 1
}
