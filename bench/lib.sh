# Shared by the benchmark scripts.

# Waits up to a minute for the server at $1 to answer its health check.
wait_healthy() {
  for _ in $(seq 1 60); do
    curl -fsS "http://$1/healthz" >/dev/null 2>&1 && return
    sleep 1
  done
  echo "the server at $1 did not start" >&2
  exit 1
}
