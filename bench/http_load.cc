// Closed-loop HTTP load for the benchmarks (bench/compare.sh): THREADS x
// INFLIGHT keep-alive connections (libcurl), each sending its next request as
// soon as the last is answered, for SECONDS. Prints one line:
//   rps=... p50_us=... p99_us=... items_per_s=... bytes_per_s=... errors=...
//
//   http_load --mode=webhook --url=http://127.0.0.1:8080/webhooks/whatsapp --secret=S
//   http_load --mode=check --url=http://127.0.0.1:8080/v1/check
//
// webhook: signed bodies of --statuses delivered statuses each (the
// platform's batch is 1,000), from the benchmark's numbers (make_requests
// --seed) to fresh customers, every wamid new: --bodies of them are built
// before the clock starts and then reused (a reused body is all duplicates).
// check: the JSON twin of make_requests' check file (number k % 100 to
// customer k * 2654435761 % 100,000, template bench_update).
#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "server/http/webhook_signature.h"

ABSL_FLAG(std::string, mode, "webhook", "webhook or check.");
ABSL_FLAG(std::string, url, "", "The endpoint.");
ABSL_FLAG(std::string, secret, "bench-app-secret", "App secret signing webhook bodies.");
ABSL_FLAG(std::string, waba, "300000000000777", "WABA id in webhook bodies.");
ABSL_FLAG(int, threads, 2, "Client threads.");
ABSL_FLAG(int, inflight, 8, "Connections (requests in flight) per thread.");
ABSL_FLAG(int, seconds, 10, "Duration.");
ABSL_FLAG(int, statuses, 1000, "Statuses per webhook body.");
ABSL_FLAG(int, bodies, 600, "Distinct webhook bodies built before the run.");
ABSL_FLAG(int, numbers, 100, "Business numbers (make_requests --seed).");
ABSL_FLAG(int, customers, 100000, "Opted-in customers (make_requests --seed), for check.");

namespace {

struct Request {
  std::string body;
  std::string signature;  // Header line, or empty.
  int items = 1;
};

std::vector<Request> WebhookBodies() {
  std::vector<Request> out;
  const int statuses = absl::GetFlag(FLAGS_statuses);
  const int64_t t0 = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  // Each run its own wamids and customers (a run after another is not all
  // duplicates): from the clock.
  int64_t customer = (t0 % 50) * 1000000;
  for (int b = 0; b < absl::GetFlag(FLAGS_bodies); ++b) {
    const int n = b % absl::GetFlag(FLAGS_numbers);
    std::string body = absl::StrCat(
        R"({"object":"whatsapp_business_account","entry":[{"id":")", absl::GetFlag(FLAGS_waba),
        R"(","changes":[{"field":"messages","value":{"messaging_product":"whatsapp",)",
        R"("metadata":{"display_phone_number":"1415555)", 1000 + n,
        R"(","phone_number_id":"200000000000001"},"statuses":[)");
    body.reserve(static_cast<size_t>(statuses) * 200 + 512);
    for (int s = 0; s < statuses; ++s, ++customer) {
      absl::StrAppend(&body, s ? "," : "", R"({"id":"wamid.HBgLMTIzNDU2Nzg5MBUCABIY)", t0, "x", b,
                      "x", s,
                      R"(","status":"delivered","timestamp":")", t0, R"(","recipient_id":")",
                      5511900000000 + customer,
                      R"(","pricing":{"billable":true,"pricing_model":"PMP","type":"regular",)",
                      R"("category":"utility"}})");
    }
    body += "]}}]}]}";
    Request r;
    r.signature = absl::StrCat("X-Hub-Signature-256: ",
                               wapolicy::SignWebhookBody(absl::GetFlag(FLAGS_secret), body));
    r.body = std::move(body);
    r.items = statuses;
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<Request> CheckBodies() {
  std::vector<Request> out;
  for (uint64_t k = 0; k < 100000; ++k) {
    const int n = static_cast<int>(k % absl::GetFlag(FLAGS_numbers));
    const int64_t c = static_cast<int64_t>((k * 2654435761ULL) % absl::GetFlag(FLAGS_customers));
    Request r;
    r.body = absl::StrCat(R"({"businessNumber":"+1415555)", 1000 + n, R"(","customer":"+44770)",
                          1000000 + c,
                          R"(","templateMessage":{"name":"bench_update","language":"en"}})");
    out.push_back(std::move(r));
  }
  return out;
}

size_t Discard(char*, size_t size, size_t n, void*) { return size * n; }

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const bool webhook = absl::GetFlag(FLAGS_mode) == "webhook";
  if (!webhook && absl::GetFlag(FLAGS_mode) != "check") {
    std::fprintf(stderr, "http_load: --mode must be webhook or check\n");
    return 2;
  }
  const std::vector<Request> requests = webhook ? WebhookBodies() : CheckBodies();
  const std::string url = absl::GetFlag(FLAGS_url);
  const int conns = absl::GetFlag(FLAGS_threads) * absl::GetFlag(FLAGS_inflight);
  std::atomic<uint64_t> next{0};
  std::atomic<bool> stop{false};
  std::atomic<int64_t> errors{0}, items{0}, bytes{0};
  std::vector<std::vector<int64_t>> latencies(conns);
  std::vector<std::thread> workers;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < conns; ++i) {
    workers.emplace_back([&, i] {
      CURL* curl = curl_easy_init();
      curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
      curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Discard);
      curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
      curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
      while (!stop.load(std::memory_order_relaxed)) {
        const Request& r = requests[next.fetch_add(1) % requests.size()];
        curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
        headers = curl_slist_append(headers, "Expect:");
        if (!r.signature.empty()) headers = curl_slist_append(headers, r.signature.c_str());
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, r.body.data());
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
        const auto t = std::chrono::steady_clock::now();
        const CURLcode rc = curl_easy_perform(curl);
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now() - t)
                            .count();
        long status = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        curl_slist_free_all(headers);
        if (rc != CURLE_OK || status != 200) {
          if (errors.fetch_add(1) < 3) {
            std::fprintf(stderr, "http_load: %s status %ld\n", curl_easy_strerror(rc), status);
          }
          continue;
        }
        latencies[i].push_back(us);
        items.fetch_add(r.items, std::memory_order_relaxed);
        bytes.fetch_add(static_cast<int64_t>(r.body.size()), std::memory_order_relaxed);
      }
      curl_easy_cleanup(curl);
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(absl::GetFlag(FLAGS_seconds)));
  stop = true;
  for (std::thread& t : workers) t.join();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<int64_t> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) {
    return all.empty() ? int64_t{0} : all[std::min(all.size() - 1, size_t(p * all.size()))];
  };
  const size_t distinct = std::min<size_t>(requests.size(), next.load());
  std::fprintf(stderr, "http_load: %zu requests of %zu distinct bodies\n", all.size(), distinct);
  std::printf("rps=%.0f p50_us=%lld p99_us=%lld items_per_s=%.0f bytes_per_s=%.0f errors=%lld\n",
              all.size() / secs, static_cast<long long>(pct(0.5)),
              static_cast<long long>(pct(0.99)), items.load() / secs, bytes.load() / secs,
              static_cast<long long>(errors.load()));
  return 0;
}
