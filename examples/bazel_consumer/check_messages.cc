// Checks one message per customer against a policy_server through
// @wapolicy//client:policy_client, all at once (so they share CheckBatch
// calls), waits as each decision says (SendWhenAllowed: a paced message until
// its send_at), and prints each decision and the client's counts.
//
//   bazel run //:check_messages -- --server=127.0.0.1:50051 --number=+14155550100
//       --customers=+447700900001,+447700900002 --template_name=order_update --pace
//
//   +447700900001 ALLOW ALLOWED decision=53789c090f6e3ec0-1
//   +447700900002 ALLOW ALLOWED decision=53789c090f6e3ec0-2 send_at=2026-11-30T10:00:00.5Z waited
//   stats: checks=2 batches=1 retries=0 fail_closed=0 fail_open=0 paced_waits=1 rechecks=0
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/policy_client.h"

ABSL_FLAG(std::string, server, "127.0.0.1:50051", "policy_server's gRPC address");
ABSL_FLAG(std::string, token, "", "Bearer token (servers with --tokens_file)");
ABSL_FLAG(std::string, number, "", "The business number that sends");
ABSL_FLAG(std::vector<std::string>, customers, {}, "Customers to message, comma-separated");
ABSL_FLAG(std::string, template_name, "order_update", "An approved template's name");
ABSL_FLAG(std::string, language, "en", "The template's language");
ABSL_FLAG(bool, pace, false, "Paced checks: over the rate, wait for the slot instead of a hold");
ABSL_FLAG(bool, fail_open, false, "Send when the engine cannot be reached (default: do not)");
ABSL_FLAG(absl::Duration, deadline, absl::Seconds(30), "How long each message may wait");
ABSL_FLAG(absl::Duration, max_wait, absl::Milliseconds(1), "How long a check waits for others");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  wapolicy::PolicyClientOptions options;
  options.token = absl::GetFlag(FLAGS_token);
  options.max_wait = absl::GetFlag(FLAGS_max_wait);
  options.failure_mode = absl::GetFlag(FLAGS_fail_open) ? wapolicy::FailureMode::kFailOpen
                                                        : wapolicy::FailureMode::kFailClosed;
  std::unique_ptr<wapolicy::PolicyClient> client =
      wapolicy::PolicyClient::Connect(absl::GetFlag(FLAGS_server), options);

  const std::vector<std::string> customers = absl::GetFlag(FLAGS_customers);
  const absl::Time deadline = absl::Now() + absl::GetFlag(FLAGS_deadline);
  std::vector<std::string> lines(customers.size());
  std::vector<std::thread> senders;
  for (size_t i = 0; i < customers.size(); ++i) {
    senders.emplace_back([&, i] {
      wapolicy::v1::CheckRequest request;
      request.set_business_number(absl::GetFlag(FLAGS_number));
      request.set_customer(customers[i]);
      request.mutable_template_message()->set_name(absl::GetFlag(FLAGS_template_name));
      request.mutable_template_message()->set_language(absl::GetFlag(FLAGS_language));
      request.set_pace(absl::GetFlag(FLAGS_pace));
      absl::StatusOr<wapolicy::v1::Decision> d = client->SendWhenAllowed(request, deadline);
      const absl::Time returned = absl::Now();
      std::string& line = lines[i];
      if (!d.ok()) {
        line = absl::StrCat(customers[i], " ERROR ", d.status().ToString());
        return;
      }
      line = absl::StrCat(customers[i], d->allowed() ? " ALLOW " : " HOLD ",
                          wapolicy::v1::ReasonCode_Name(d->reason()));
      if (wapolicy::PolicyClient::IsFailOpen(*d)) absl::StrAppend(&line, " (fail-open)");
      if (!d->decision_id().empty()) absl::StrAppend(&line, " decision=", d->decision_id());
      if (d->send_at_unix_ms() > 0) {
        const absl::Time send_at = absl::FromUnixMillis(d->send_at_unix_ms());
        absl::StrAppend(&line, " send_at=", absl::FormatTime(send_at, absl::UTCTimeZone()),
                        returned >= send_at ? " waited" : " EARLY");
      }
      if (!d->allowed() && !d->detail().empty()) absl::StrAppend(&line, " (", d->detail(), ")");
    });
  }
  for (std::thread& t : senders) t.join();
  for (const std::string& line : lines) std::cout << line << "\n";
  const wapolicy::PolicyClientStats s = client->stats();
  std::cout << "stats: checks=" << s.checks << " batches=" << s.batches << " retries=" << s.retries
            << " fail_closed=" << s.fail_closed << " fail_open=" << s.fail_open
            << " paced_waits=" << s.paced_waits << " rechecks=" << s.rechecks << std::endl;
  return 0;
}
