#!/bin/sh
# Regenerates the example reports in reports/ from the project's captures. Run it after a change
# that alters certflow's output; tests/reports.rs fails until the reports match the code again.
set -eu
cd "$(dirname "$0")/.."
cargo build --release -q
for c in $(cat reports/CAPTURES); do
    base=${c%.*}
    target/release/certflow flows "captures/$c" >"reports/$base.flows.txt"
    target/release/certflow flows --format json "captures/$c" >"reports/$base.flows.json"
done
