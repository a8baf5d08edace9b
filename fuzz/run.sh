#!/usr/bin/env bash
# Builds the fuzz targets with clang's libFuzzer (+ ASan + UBSan) and fuzzes
# each for FUZZ_SECONDS (default 60), starting from fuzz/corpus/<target> and
# fuzz/regressions/<target> (webhook_fuzzer also from the fixtures in
# tests/webhooks). Prints "fuzz: <target> PASSED|FAILED" per target;
# a crash leaves its input in $FUZZ_OUT: copy it into fuzz/regressions/<target>/
# so //fuzz:<target>_replay_test keeps it fixed.
#
#   FUZZ_SECONDS=600 fuzz/run.sh [target ...]
set -uo pipefail
cd "$(dirname "$0")/.."
SECS=${FUZZ_SECONDS:-60}
OUT=${FUZZ_OUT:-/tmp/wapolicy_fuzz}
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(request_fuzzer compliance_fuzzer engine_fuzzer webhook_fuzzer)
for p in clang-14 libclang-rt-14-dev; do
  dpkg -s "$p" >/dev/null 2>&1 || { apt-get update -q >&2; DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$p" >&2; }
done
mkdir -p "$OUT/gen" "$OUT/obj"
for proto in proto/wapolicy/v1/policy.proto proto/wapolicy/state/v1/records.proto \
             proto/wapolicy/v1/webhook.proto; do
  # Regenerate when the proto's content changed (not by time: $OUT may be
  # shared by several checkouts).
  stamp="$OUT/gen/${proto%.proto}.sha256"
  sum=$(sha256sum "$proto" | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sum" ]; then
    protoc -I. --cpp_out="$OUT/gen" "$proto" || exit 1
    echo "$sum" >"$stamp"
  fi
done
# simdjson's -D flags (SIMDJSON_THREADS_ENABLED) as the Bazel build has them.
FLAGS=(-std=c++17 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -I. -I"$OUT/gen"
       $(pkg-config --cflags simdjson))
SRCS=(policy/phone_number.cc policy/quality.cc policy/policy_profile.cc policy/conversations.cc
      policy/message_content.cc policy/templates.cc policy/message_compliance.cc policy/consent.cc
      policy/decision.cc policy/number_status.cc policy/number_directory.cc
      policy/frequency_cap.cc policy/opt_out_keywords.cc policy/topic_registry.cc
      policy/tier_rules.cc policy/send_decision.cc policy/number_snapshot.cc
      policy/record_codec.cc policy/profile_migration.cc
      policy/event_ids.cc policy/platform_word.cc policy/template_quality.cc policy/marketing_hold.cc
      policy/us_marketing.cc policy/scaling_path.cc policy/shadow_mode.cc
      policy/internal/event_effects.cc
      policy/internal/engine_shard.cc policy/internal/shard_state.cc
      policy/campaign_plan.cc policy/internal/engine_shard_campaign.cc
      policy/internal/engine_shard_portfolio.cc policy/internal/business_freeze.cc
      policy/policy_engine.cc server/proto_convert.cc
      server/http/webhook_json.cc server/http/webhook_payload.cc
      "$OUT/gen/proto/wapolicy/v1/policy.pb.cc" "$OUT/gen/proto/wapolicy/state/v1/records.pb.cc"
      "$OUT/gen/proto/wapolicy/v1/webhook.pb.cc")
LIBS="-lphonenumber "$(pkg-config --libs icu-uc icu-i18n absl_status absl_statusor absl_strings absl_str_format absl_time \
       absl_hash absl_raw_hash_set absl_btree absl_flat_hash_map absl_cord protobuf grpc++ simdjson)
compile() {
  local src=$1 obj="$OUT/obj/$(echo "$1" | tr '/' '_').o"
  # Rebuild when the source, any project header or any generated header is newer.
  if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] ||
     [ -n "$(find policy server "$OUT/gen" -newer "$obj" -name '*.h' | head -1)" ]; then
    mkdir -p "$(dirname "$obj")"
    clang++ "${FLAGS[@]}" -fsanitize=fuzzer-no-link -c "$src" -o "$obj" || return 1
  fi
  echo "$obj"
}
OBJS=()
for s in "${SRCS[@]}"; do
  o=$(compile "$s") || { echo "fuzz: build FAILED ($s)"; exit 1; }
  OBJS+=("$o")
done
rc=0
for t in "${TARGETS[@]}"; do
  if ! clang++ "${FLAGS[@]}" -fsanitize=fuzzer "fuzz/$t.cc" "${OBJS[@]}" $LIBS -o "$OUT/$t"; then
    echo "fuzz: $t FAILED (build)"; rc=1; continue
  fi
  mkdir -p "$OUT/corpus-$t"
  seeds=()
  [ "$t" = webhook_fuzzer ] && seeds=(tests/webhooks)
  if "$OUT/$t" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
       -artifact_prefix="$OUT/crash-$t-" "$OUT/corpus-$t" "fuzz/corpus/$t" "fuzz/regressions/$t" \
       "${seeds[@]}" >"$OUT/$t.log" 2>&1; then
    echo "fuzz: $t PASSED ($(grep -o 'stat::number_of_executed_units: *[0-9]*' "$OUT/$t.log" | grep -o '[0-9]*$') runs in ${SECS}s)"
  else
    echo "fuzz: $t FAILED: $(grep -m1 -E 'ERROR|runtime error|deadly signal' "$OUT/$t.log"); input: $(ls -t "$OUT"/crash-$t-* 2>/dev/null | head -1)"
    rc=1
  fi
done
exit $rc
