// Closed-loop load on the Decide stream: THREADS streams, each keeping
// INFLIGHT batch messages outstanding, for SECONDS. Prints the peers' line
// (calls = stream messages) plus decisions per second.
//
//   stream_load ADDR @REQFILE THREADS SECONDS INFLIGHT

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "proto/wapolicy/v1/policy.grpc.pb.h"

using Clock = std::chrono::steady_clock;
using namespace wapolicy;

int main(int argc, char** argv) {
  if (argc < 6 || argv[2][0] != '@') {
    std::fprintf(stderr, "usage: stream_load ADDR @REQFILE THREADS SECONDS INFLIGHT\n");
    return 2;
  }
  const std::string addr = argv[1];
  std::ifstream f(argv[2] + 1, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string all = ss.str();
  std::vector<v1::DecideRequest> reqs;
  for (size_t i = 0; i + 4 <= all.size();) {
    uint32_t n;
    std::memcpy(&n, all.data() + i, 4);
    i += 4;
    reqs.emplace_back();
    reqs.back().ParseFromArray(all.data() + i, static_cast<int>(n));
    i += n;
  }
  if (reqs.empty()) {
    std::fprintf(stderr, "stream_load: no requests in %s\n", argv[2] + 1);
    return 2;
  }
  const int threads = std::stoi(argv[3]);
  const double secs = std::stod(argv[4]);
  const int inflight = std::stoi(argv[5]);
  std::atomic<long> next{0}, messages{0}, decisions{0}, errors{0};
  std::mutex mu;
  std::vector<double> lat;
  const auto deadline = Clock::now() + std::chrono::duration<double>(secs);
  const auto t0 = Clock::now();
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      grpc::ChannelArguments a;
      a.SetInt("grpc.channel_id", t);  // One connection per stream.
      auto ch = grpc::CreateCustomChannel(addr, grpc::InsecureChannelCredentials(), a);
      auto stub = v1::PolicyService::NewStub(ch);
      grpc::ClientContext ctx;
      auto stream = stub->Decide(&ctx);
      std::mutex m;
      std::condition_variable cv;
      std::deque<Clock::time_point> sent;
      std::vector<double> mine;
      std::thread reader([&] {
        v1::DecideResponse resp;
        while (stream->Read(&resp)) {
          Clock::time_point start;
          {
            std::lock_guard<std::mutex> g(m);
            start = sent.front();
            sent.pop_front();
          }
          cv.notify_all();
          mine.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
          messages++;
          decisions += resp.results_size();
          for (const auto& r : resp.results()) errors += r.has_error();
        }
      });
      while (Clock::now() < deadline) {
        {
          std::unique_lock<std::mutex> l(m);
          cv.wait(l, [&] { return static_cast<int>(sent.size()) < inflight; });
          sent.push_back(Clock::now());
        }
        if (!stream->Write(reqs[next.fetch_add(1) % reqs.size()])) break;
      }
      {
        std::unique_lock<std::mutex> l(m);
        cv.wait(l, [&] { return sent.empty(); });
      }
      stream->WritesDone();
      reader.join();
      grpc::Status s = stream->Finish();
      if (!s.ok()) {
        errors++;
        std::fprintf(stderr, "stream error: %s\n", s.error_message().c_str());
      }
      std::lock_guard<std::mutex> g(mu);
      lat.insert(lat.end(), mine.begin(), mine.end());
    });
  }
  for (auto& t : ts) t.join();
  const double el = std::chrono::duration<double>(Clock::now() - t0).count();
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) {
    return lat.empty() ? 0 : lat[std::min(lat.size() - 1, static_cast<size_t>(p * lat.size()))];
  };
  std::printf(
      "calls=%ld errors=%ld rps=%.0f p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f "
      "decisions_per_s=%.0f\n",
      messages.load(), errors.load(), messages / el, pct(0.5), pct(0.9), pct(0.99), pct(0.999),
      lat.empty() ? 0 : lat.back(), decisions / el);
  return errors > 0 ? 1 : 0;
}
