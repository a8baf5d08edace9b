// Check load for a cluster (bench/cluster_compare.sh): every call names its
// business in x-wapolicy-business, as a node behind the router requires.
//
//   cluster_load --server=ROUTER --setup --businesses=30       create them (through the router)
//   cluster_load --server=ADDR --probe=NODE --seconds=10 --threads=16
//
// The load: THREADS threads, each a closed loop of synchronous Check calls
// over the businesses (those --probe answers OK for, if set: one node's
// portfolios), customer k of its business's number. Prints "calls rps errors".

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "proto/wapolicy/v1/policy.grpc.pb.h"

ABSL_FLAG(std::string, server, "127.0.0.1:9090", "Router or node to load.");
ABSL_FLAG(bool, setup, false, "Create the businesses (a number, a template, opted-in customers).");
ABSL_FLAG(int, businesses, 30, "Businesses b0 .. b<N-1>.");
ABSL_FLAG(int, customers, 2000, "Customers per business.");
ABSL_FLAG(std::string, probe, "", "Load only the businesses this address answers OK for.");
ABSL_FLAG(int, threads, 16, "Client threads (one call in flight each).");
ABSL_FLAG(double, seconds, 10, "Load duration.");

namespace {

using namespace wapolicy;

std::string Business(int i) { return absl::StrCat("bench", i); }
std::string Number(int i) { return absl::StrCat("+1415556", 1000 + i); }
std::string Customer(int c) { return absl::StrCat("+44770", 1000000 + c); }

void Name(grpc::ClientContext* c, const std::string& b) { c->AddMetadata("x-wapolicy-business", b); }

v1::CheckRequest CheckOf(int b, int c) {
  v1::CheckRequest r;
  r.set_business_number(Number(b));
  r.set_customer(Customer(c));
  r.mutable_template_message()->set_name("t");
  r.mutable_template_message()->set_language("en");
  return r;
}

bool Setup(v1::PolicyAdmin::Stub& admin, v1::PolicyService::Stub& service, int i) {
  const std::string b = Business(i);
  grpc::ClientContext c1, c2, c3;
  Name(&c1, b), Name(&c2, b), Name(&c3, b);
  v1::UpsertBusinessRequest u;
  u.set_business_id(b);
  u.set_verified(true);
  v1::UpsertBusinessResponse ur;
  v1::RegisterNumberRequest n;
  n.set_business_id(b);
  n.set_business_number(Number(i));
  v1::RegisterNumberResponse nr;
  v1::Template t;
  t.set_business_id(b);
  t.set_name("t");
  t.set_language("en");
  t.set_category(v1::UTILITY);
  t.set_status(v1::APPROVED);
  v1::PutTemplateResponse tr;
  grpc::Status s = admin.UpsertBusiness(&c1, u, &ur);
  if (s.ok()) s = admin.RegisterNumber(&c2, n, &nr);
  if (s.ok()) s = admin.PutTemplate(&c3, t, &tr);
  for (int from = 0; s.ok() && from < absl::GetFlag(FLAGS_customers); from += 1000) {
    grpc::ClientContext c;
    Name(&c, b);
    v1::EventBatchRequest batch;
    for (int k = from; k < std::min(from + 1000, absl::GetFlag(FLAGS_customers)); ++k) {
      v1::EventRequest* e = batch.add_events();
      e->set_business_number(Number(i));
      e->set_customer(Customer(k));
      e->mutable_opt_in()->set_source(v1::WEBSITE);
    }
    v1::EventBatchResponse out;
    s = service.ReportEvents(&c, batch, &out);
  }
  if (!s.ok()) std::fprintf(stderr, "cluster_load: %s: %s\n", b.c_str(), s.error_message().c_str());
  return s.ok();
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  auto channel = grpc::CreateChannel(absl::GetFlag(FLAGS_server), grpc::InsecureChannelCredentials());
  auto service = v1::PolicyService::NewStub(channel);
  auto admin = v1::PolicyAdmin::NewStub(channel);
  const int n = absl::GetFlag(FLAGS_businesses);
  if (absl::GetFlag(FLAGS_setup)) {
    for (int i = 0; i < n; ++i) {
      if (!Setup(*admin, *service, i)) return 1;
    }
    return 0;
  }
  std::vector<int> load;
  {
    auto probe_channel = grpc::CreateChannel(
        absl::GetFlag(FLAGS_probe).empty() ? absl::GetFlag(FLAGS_server) : absl::GetFlag(FLAGS_probe),
        grpc::InsecureChannelCredentials());
    auto probe = v1::PolicyService::NewStub(probe_channel);
    for (int i = 0; i < n; ++i) {
      grpc::ClientContext c;
      Name(&c, Business(i));
      v1::GetNumberStateRequest r;
      r.set_business_number(Number(i));
      v1::NumberState st;
      if (probe->GetNumberState(&c, r, &st).ok()) load.push_back(i);
    }
  }
  if (load.empty()) {
    std::fprintf(stderr, "cluster_load: no business answers\n");
    return 1;
  }
  std::atomic<long> calls{0}, errors{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  const int customers = absl::GetFlag(FLAGS_customers);
  for (int t = 0; t < absl::GetFlag(FLAGS_threads); ++t) {
    threads.emplace_back([&, t] {
      // One channel per thread: separate HTTP/2 connections, as many clients.
      grpc::ChannelArguments args;
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      auto stub = v1::PolicyService::NewStub(grpc::CreateCustomChannel(
          absl::GetFlag(FLAGS_server), grpc::InsecureChannelCredentials(), args));
      for (long k = t; !stop.load(std::memory_order_relaxed); k += 7919) {
        const int b = load[k % load.size()];
        grpc::ClientContext c;
        Name(&c, Business(b));
        v1::Decision d;
        grpc::Status s = stub->Check(&c, CheckOf(b, static_cast<int>(k % customers)), &d);
        (s.ok() ? calls : errors).fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  const auto start = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(absl::GetFlag(FLAGS_seconds)));
  stop = true;
  for (auto& t : threads) t.join();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%ld %.0f %ld %zu\n", calls.load(), calls.load() / secs, errors.load(), load.size());
  return 0;
}
