// Closed-loop load made as it is sent, never repeating: THREADS x INFLIGHT
// callers, each sending a batch of BATCH and waiting for the answer, for
// SECONDS. Prints the peers' line (calls = batches) plus events (or
// decisions) per second.
//
//   event_load ADDR THREADS SECONDS INFLIGHT [plain|ids|checks_new|decide_new] [BATCH=100] [START=0]
//
// plain, ids: ReportEvents batches of customer messages (below).
// checks_new, decide_new: CheckBatch calls, or Decide stream messages (one
// stream per caller, one message outstanding on each), of checks that each
// open a new conversation: pair k is number 100 + k % 100 (make_requests
// --seed --fresh_numbers=100 registers them; the other shapes use numbers
// 0-99) and customer k / 100 % 100,000, so the first 10,000,000 pairs from
// START are all new. Give each round its own START.
//
// Customers follow make_requests' mix (event k: number k % 100, customer
// (k * 2654435761) % 100,000). `ids` gives every event what a webhook's has:
// its own id ("wamid.<run>.<k>:message", never repeated, so none is answered
// as a duplicate) and the platform's time, one second before the client's.
// The events are made as they are sent, so a long run never wraps around to
// ids already seen. The server's clock moves, so every message moves its
// customer's service window and is written, with or without an id.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "proto/wapolicy/v1/policy.grpc.pb.h"

using Clock = std::chrono::steady_clock;
using namespace wapolicy;

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: event_load ADDR THREADS SECONDS INFLIGHT [plain|ids] [BATCH]\n");
    return 2;
  }
  const std::string addr = argv[1];
  const int threads = std::stoi(argv[2]);
  const double secs = std::stod(argv[3]);
  const int inflight = std::stoi(argv[4]);
  const std::string mode = argc > 5 ? argv[5] : "plain";
  const bool ids = mode == "ids";
  const bool checks = mode == "checks_new" || mode == "decide_new";
  if (mode != "plain" && !ids && !checks) {
    std::fprintf(stderr, "event_load: unknown mode %s\n", mode.c_str());
    return 2;
  }
  const int batch = argc > 6 ? std::stoi(argv[6]) : 100;
  const long start = argc > 7 ? std::stol(argv[7]) : 0;
  const std::string run = absl::StrCat(absl::ToUnixMicros(absl::Now()));
  std::atomic<long> next{start}, calls{0}, events{0}, errors{0};
  std::mutex mu;
  std::vector<double> lat;
  const auto deadline = Clock::now() + std::chrono::duration<double>(secs);
  const auto t0 = Clock::now();
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    grpc::ChannelArguments a;
    a.SetInt("grpc.channel_id", t);  // One connection per load thread, as the peers' load.
    auto ch = grpc::CreateCustomChannel(addr, grpc::InsecureChannelCredentials(), a);
    for (int c = 0; c < inflight; ++c) {
      ts.emplace_back([&, ch] {
        auto stub = v1::PolicyService::NewStub(ch);
        std::vector<double> mine;
        if (checks) {
          // One new conversation a check: number 100 + k % 100, customer k / 100.
          auto fill = [&](auto add_check) {
            const long first = next.fetch_add(batch);
            for (long k = first; k < first + batch; ++k) {
              v1::CheckRequest* r = add_check();
              r->set_business_number(absl::StrCat("+1415555", 1000 + 100 + k % 100));
              r->set_customer(absl::StrCat("+44770", 1000000 + (k / 100) % 100000));
              r->mutable_template_message()->set_name("bench_update");
              r->mutable_template_message()->set_language("en");
            }
          };
          grpc::ClientContext sctx;
          std::unique_ptr<grpc::ClientReaderWriter<v1::DecideRequest, v1::DecideResponse>> stream;
          if (mode == "decide_new") stream = stub->Decide(&sctx);
          v1::CheckBatchRequest breq;
          v1::CheckBatchResponse bresp;
          v1::DecideRequest dreq;
          v1::DecideResponse dresp;
          while (Clock::now() < deadline) {
            const auto t = Clock::now();
            int results = 0;
            if (stream) {
              dreq.Clear();
              fill([&] { return dreq.add_checks(); });
              if (!stream->Write(dreq) || !stream->Read(&dresp)) {
                errors++;
                break;
              }
              results = dresp.results_size();
              for (const auto& r : dresp.results()) errors += r.has_error();
            } else {
              breq.Clear();
              fill([&] { return breq.add_checks(); });
              grpc::ClientContext ctx;
              grpc::Status s = stub->CheckBatch(&ctx, breq, &bresp);
              if (!s.ok()) {
                errors++;
                std::fprintf(stderr, "event_load: %s\n", s.error_message().c_str());
                continue;
              }
              results = bresp.results_size();
              for (const auto& r : bresp.results()) errors += r.has_error();
            }
            mine.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t).count());
            calls++;
            events += results;
          }
          if (stream) {
            stream->WritesDone();
            grpc::Status s = stream->Finish();
            if (!s.ok()) {
              errors++;
              std::fprintf(stderr, "event_load: %s\n", s.error_message().c_str());
            }
          }
          std::lock_guard<std::mutex> g(mu);
          lat.insert(lat.end(), mine.begin(), mine.end());
          return;
        }
        v1::EventBatchRequest req;
        v1::EventBatchResponse resp;
        while (Clock::now() < deadline) {
          req.Clear();
          const long first = next.fetch_add(batch);
          const int64_t at_ms = absl::ToUnixMillis(absl::Now()) - 1000;
          for (long k = first; k < first + batch; ++k) {
            v1::EventRequest* e = req.add_events();
            e->set_business_number(absl::StrCat("+1415555", 1000 + k % 100));
            e->set_customer(absl::StrCat(
                "+44770", 1000000 + static_cast<int64_t>((k * 2654435761ULL) % 100000)));
            e->mutable_inbound();
            if (ids) {
              e->set_event_id(absl::StrCat("wamid.", run, ".", k, ":message"));
              e->set_occurred_at_unix_ms(at_ms);
            }
          }
          grpc::ClientContext ctx;
          const auto start = Clock::now();
          grpc::Status s = stub->ReportEvents(&ctx, req, &resp);
          mine.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
          if (!s.ok()) {
            errors++;
            std::fprintf(stderr, "event_load: %s\n", s.error_message().c_str());
            continue;
          }
          calls++;
          events += resp.results_size();
          for (const auto& r : resp.results()) errors += r.has_error();
        }
        std::lock_guard<std::mutex> g(mu);
        lat.insert(lat.end(), mine.begin(), mine.end());
      });
    }
  }
  for (auto& t : ts) t.join();
  const double el = std::chrono::duration<double>(Clock::now() - t0).count();
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) {
    return lat.empty() ? 0 : lat[std::min(lat.size() - 1, static_cast<size_t>(p * lat.size()))];
  };
  std::printf(
      "calls=%ld errors=%ld rps=%.0f p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f "
      "events_per_s=%.0f\n",
      calls.load(), errors.load(), calls / el, pct(0.5), pct(0.9), pct(0.99), pct(0.999),
      lat.empty() ? 0 : lat.back(), events / el);
  return errors > 0 ? 1 : 0;
}
