#!/usr/bin/env bash
# End of `make demo`: serve the freshly promoted model, show one working request, and
# keep serving in the foreground until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${AMAZON_SENTIMENT_PORT:-8000}"
RUN=("${UV:-uv}" run --locked --all-extras)

"${RUN[@]}" amazon-sentiment serve --port "$PORT" &
server=$!
trap 'kill "$server" 2>/dev/null || true' INT TERM EXIT

for _ in $(seq 120); do
    if curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null; then break; fi
    if ! kill -0 "$server" 2>/dev/null; then wait "$server"; exit 1; fi
    sleep 1
done

body='{"text": "Stopped working after two days and support never answered."}'
echo
echo "\$ curl -s http://127.0.0.1:$PORT/predict -H 'Content-Type: application/json' -d '$body'"
curl -s "http://127.0.0.1:$PORT/predict" -H 'Content-Type: application/json' -d "$body"
echo
echo
echo "Serving on http://127.0.0.1:$PORT (API docs: /docs, metrics: /metrics). Ctrl-C stops."
wait "$server"
