// Seeds a policy_server for the benchmarks and writes the request files the
// peers' `load` client reads (each request prefixed by its 4-byte
// little-endian length).
//
//   make_requests --server=ADDR --seed            business, numbers, template, opt-ins
//                 [--fresh_numbers=N]             and N numbers the request files never use
//   make_requests --server=ADDR --admit           a conversation for every (number, customer)
//   make_requests --out=DIR                       check.reqs, batch.reqs, decide.reqs,
//                                                 batch_brief.reqs, decide_brief.reqs (brief
//                                                 answers), floor_single.req, floor_batch.req
//
// The request mix follows the Redis peer: request k goes from number k % NUMBERS
// to customer (k * 2654435761) % CUSTOMERS, so the first pass over the file is
// mostly new unique customers and later passes are repeats.

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "proto/wapolicy/v1/policy.grpc.pb.h"

ABSL_FLAG(std::string, server, "127.0.0.1:50051", "policy_server to seed.");
ABSL_FLAG(bool, seed, false, "Register the business, numbers and template; opt every customer in.");
ABSL_FLAG(bool, admit, false, "Admit a conversation for every (number, customer) pair.");
ABSL_FLAG(std::string, out, "", "Directory to write request files into.");
ABSL_FLAG(int, numbers, 100, "Business numbers.");
ABSL_FLAG(int, fresh_numbers, 0,
          "With --seed: this many more numbers after them, which no request file uses (for "
          "bench/event_load's new-admission shapes).");
ABSL_FLAG(int, customers, 100000, "Opted-in customers.");
ABSL_FLAG(int, requests, 1000000, "Checks in the request files.");
ABSL_FLAG(int, batch, 100, "Checks per CheckBatch / Decide message.");

namespace {

using namespace wapolicy;

std::string Number(int n) { return absl::StrCat("+1415555", 1000 + n); }
std::string Customer(int64_t c) { return absl::StrCat("+44770", 1000000 + c); }

v1::CheckRequest Request(uint64_t k) {
  const int n = static_cast<int>(k % absl::GetFlag(FLAGS_numbers));
  const int64_t c = static_cast<int64_t>((k * 2654435761ULL) % absl::GetFlag(FLAGS_customers));
  v1::CheckRequest r;
  r.set_business_number(Number(n));
  r.set_customer(Customer(c));
  r.mutable_template_message()->set_name("bench_update");
  r.mutable_template_message()->set_language("en");
  return r;
}

void Append(std::ofstream& out, const std::string& bytes) {
  const uint32_t n = static_cast<uint32_t>(bytes.size());
  const char len[4] = {static_cast<char>(n & 0xff), static_cast<char>((n >> 8) & 0xff),
                       static_cast<char>((n >> 16) & 0xff), static_cast<char>((n >> 24) & 0xff)};
  out.write(len, 4);
  out.write(bytes.data(), bytes.size());
}

bool Ok(const grpc::Status& s, const std::string& what) {
  if (!s.ok())
    std::fprintf(stderr, "make_requests: %s: %s\n", what.c_str(), s.error_message().c_str());
  return s.ok();
}

int Seed(v1::PolicyService::Stub& svc, v1::PolicyAdmin::Stub& admin) {
  {
    grpc::ClientContext c;
    v1::UpsertBusinessRequest b;
    b.set_business_id("bench");
    b.set_verified(true);
    v1::UpsertBusinessResponse r;
    if (!Ok(admin.UpsertBusiness(&c, b, &r), "UpsertBusiness")) return 1;
  }
  for (int n = 0; n < absl::GetFlag(FLAGS_numbers) + absl::GetFlag(FLAGS_fresh_numbers); ++n) {
    grpc::ClientContext c;
    v1::RegisterNumberRequest req;
    req.set_business_number(Number(n));
    req.set_business_id("bench");
    v1::RegisterNumberResponse r;
    if (!Ok(admin.RegisterNumber(&c, req, &r), "RegisterNumber")) return 1;
  }
  {
    grpc::ClientContext c;
    v1::Template t;
    t.set_business_id("bench");
    t.set_name("bench_update");
    t.set_language("en");
    t.set_category(v1::UTILITY);
    t.set_status(v1::APPROVED);
    t.set_body("Your order {{1}} has shipped");
    v1::PutTemplateResponse r;
    if (!Ok(admin.PutTemplate(&c, t, &r), "PutTemplate")) return 1;
  }
  const int customers = absl::GetFlag(FLAGS_customers);
  for (int start = 0; start < customers; start += 1000) {
    v1::EventBatchRequest batch;
    for (int c = start; c < std::min(customers, start + 1000); ++c) {
      v1::EventRequest* e = batch.add_events();
      e->set_business_number(Number(0));  // Consent is per business: all its numbers.
      e->set_customer(Customer(c));
      e->mutable_opt_in()->set_source(v1::WEBSITE);
    }
    grpc::ClientContext ctx;
    v1::EventBatchResponse r;
    if (!Ok(svc.ReportEvents(&ctx, batch, &r), "ReportEvents")) return 1;
  }
  std::fprintf(stderr, "make_requests: seeded %d numbers and %d opted-in customers\n",
               absl::GetFlag(FLAGS_numbers) + absl::GetFlag(FLAGS_fresh_numbers), customers);
  return 0;
}

int Admit(v1::PolicyService::Stub& svc) {
  const int numbers = absl::GetFlag(FLAGS_numbers), customers = absl::GetFlag(FLAGS_customers);
  int64_t allowed = 0;
  for (int n = 0; n < numbers; ++n) {
    for (int start = 0; start < customers; start += 1000) {
      v1::CheckBatchRequest batch;
      for (int c = start; c < std::min(customers, start + 1000); ++c) {
        v1::CheckRequest* r = batch.add_checks();
        r->set_business_number(Number(n));
        r->set_customer(Customer(c));
        r->mutable_template_message()->set_name("bench_update");
        r->mutable_template_message()->set_language("en");
      }
      grpc::ClientContext ctx;
      v1::CheckBatchResponse resp;
      if (!Ok(svc.CheckBatch(&ctx, batch, &resp), "CheckBatch")) return 1;
      for (const auto& r : resp.results()) allowed += r.decision().allowed();
    }
  }
  std::fprintf(stderr, "make_requests: admitted %lld conversations\n",
               static_cast<long long>(allowed));
  return 0;
}

int Write(const std::string& dir) {
  const int requests = absl::GetFlag(FLAGS_requests), batch = absl::GetFlag(FLAGS_batch);
  std::ofstream check(dir + "/check.reqs", std::ios::binary),
      batches(dir + "/batch.reqs", std::ios::binary),
      decide(dir + "/decide.reqs", std::ios::binary),
      batches_brief(dir + "/batch_brief.reqs", std::ios::binary),
      decide_brief(dir + "/decide_brief.reqs", std::ios::binary);
  size_t batch_bytes = 0, single_bytes = 0;
  for (int k = 0; k < requests; ++k) Append(check, Request(k).SerializeAsString());
  for (int k = 0; k < requests; k += batch) {
    v1::CheckBatchRequest b;
    v1::DecideRequest d;
    for (int i = k; i < k + batch; ++i) {
      *b.add_checks() = Request(i);
      *d.add_checks() = Request(i);
    }
    const std::string bytes = b.SerializeAsString();
    batch_bytes = bytes.size();
    Append(batches, bytes);
    Append(decide, d.SerializeAsString());
    b.set_brief(true);
    d.set_brief(true);
    Append(batches_brief, b.SerializeAsString());
    Append(decide_brief, d.SerializeAsString());
  }
  single_bytes = Request(0).SerializeAsString().size();
  // The floor's requests: a Blob of the same byte size as ours.
  auto blob = [](size_t size) {
    // floorbench.Blob { bytes data = 1; }: tag, varint length, bytes.
    std::string data(size > 4 ? size - 4 : size, 'x');
    std::string out = "\x0a";
    size_t n = data.size();
    while (n >= 0x80) {
      out.push_back(static_cast<char>((n & 0x7f) | 0x80));
      n >>= 7;
    }
    out.push_back(static_cast<char>(n));
    return out + data;
  };
  std::ofstream(dir + "/floor_single.req", std::ios::binary) << blob(single_bytes);
  std::ofstream(dir + "/floor_batch.req", std::ios::binary) << blob(batch_bytes);
  std::fprintf(stderr,
               "make_requests: wrote %d checks (%zu bytes each, batches of %d = %zu bytes) to %s\n",
               requests, single_bytes, batch, batch_bytes, dir.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  auto channel =
      grpc::CreateChannel(absl::GetFlag(FLAGS_server), grpc::InsecureChannelCredentials());
  auto svc = v1::PolicyService::NewStub(channel);
  auto admin = v1::PolicyAdmin::NewStub(channel);
  if (absl::GetFlag(FLAGS_seed) && Seed(*svc, *admin) != 0) return 1;
  if (absl::GetFlag(FLAGS_admit) && Admit(*svc) != 0) return 1;
  if (!absl::GetFlag(FLAGS_out).empty()) return Write(absl::GetFlag(FLAGS_out));
  return 0;
}
