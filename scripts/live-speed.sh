#!/usr/bin/env bash
# Live training's speed against `backprop train`: E epochs (default 10) of the notes' network
# both ways, with the page open in headless Chromium (PAGE=0: without), and the two models
# compared byte for byte. Needs `cargo build --release` and Debian's chromium.
set -euo pipefail
B=${B:-$(pwd)/target/release/backprop}; E=${E:-10}; PORT=${PORT:-18735}
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT; cd "$dir"
now() { date +%s.%N; }
t0=$(now); "$B" train --epochs "$E" --out t.safetensors >/dev/null 2>&1; t1=$(now)
"$B" train --epochs 1 --limit 10 --out s.safetensors >/dev/null 2>&1; t2=$(now)
"$B" serve --train --epochs "$E" --out live.safetensors --port "$PORT" >/dev/null 2>&1 & pid=$!
sleep 1.5
cpid=""
if [ "${PAGE:-1}" = 1 ]; then
  chromium --headless=new --no-sandbox --disable-gpu --window-size=1280,1000 \
    --user-data-dir="$dir/chromium" "http://127.0.0.1:$PORT/" >/dev/null 2>&1 & cpid=$!
  sleep 4
fi
curl -s -XPOST -H 'Content-Type: application/json' -d '{"action":"run"}' "127.0.0.1:$PORT/api/train" >/dev/null
until curl -s "127.0.0.1:$PORT/api/train" | grep -q '"state":"done"'; do sleep 1; done
live=$(curl -s "127.0.0.1:$PORT/api/train" | python3 -c "import json,sys; print(json.load(sys.stdin)['seconds'])")
curl -s -XPOST -H 'Content-Type: application/json' -d '{"action":"save"}' "127.0.0.1:$PORT/api/train" >/dev/null
kill "$pid"; [ -n "$cpid" ] && kill "$cpid"
cmp -s live.safetensors t.safetensors && same=identical || same=DIFFERENT
python3 - <<PY
import json
loop_t = sum(json.loads(l)['seconds'] for l in open('t.log.jsonl'))
loop_l = sum(json.loads(l)['seconds'] for l in open('live.log.jsonl'))
train = $t1 - $t0 - ($t2 - $t1)
print(f"page={${PAGE:-1}}: train {train:.2f} s (its start-up subtracted), live {$live:.2f} s (its own clock): "
      f"{$live / train:.2f}; in the training loop {loop_t:.3f} s against {loop_l:.3f} s; models $same")
PY
