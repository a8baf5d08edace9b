// policy_server: the WhatsApp Business send-policy engine over gRPC, with its
// state in an embedded RocksDB.

#include <pthread.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>

#include "absl/container/flat_hash_set.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "cluster/cluster_gate.h"
#include "cluster/membership.h"
#include "cluster/portfolio_service.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/resource_quota.h"
#include "policy/clock.h"
#include "policy/policy_engine.h"
#include "server/alert_hooks.h"
#include "server/business_route.h"
#include "server/campaign_service.h"
#include "server/events_service.h"
#include "server/http/dashboard.h"
#include "server/http/http_errors.h"
#include "server/http/http_server.h"
#include "server/http/json_api.h"
#include "server/http/webhook_apps.h"
#include "server/http/webhook_endpoint.h"
#include "server/decision_log.h"
#include "server/metrics_registry.h"
#include "server/policy_service.h"
#include "server/profile_config.h"
#include "server/proto_convert.h"
#include "server/server_metrics.h"
#include "server/token_authority.h"
#include "server/state_events.h"
#include "storage/record_log.h"
#include "storage/state_store.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "Address to listen on (port 0 picks a free one).");
ABSL_FLAG(std::string, data_dir, "./data", "RocksDB directory (created if missing).");
ABSL_FLAG(std::string, durability, "process",
          "process: WAL write before each answer (survives kill -9); machine: WAL fsync too.");
ABSL_FLAG(std::string, profile, "brief-2023",
          "Base policy profile: brief-2023 or platform-2025-10.");
ABSL_FLAG(std::string, config, "",
          "ProfileConfig file (protobuf text format) over the base profile.");
ABSL_FLAG(bool, migrate_profile, false,
          "Start on a data directory written under another profile: place every pool's limit on "
          "this profile's ladder (nearest level, ties to the lower) and record this profile.");
ABSL_FLAG(
    std::string, fake_clock, "",
    "Test mode: start a fake clock at this RFC 3339 time and allow PolicyAdmin.AdvanceClock.");
ABSL_FLAG(int, max_batch, 10000, "Most checks in one CheckBatch.");
ABSL_FLAG(absl::Duration, event_time_skew, absl::Minutes(5),
          "An event's occurred_at may be at most this far ahead of the server's clock.");
ABSL_FLAG(absl::Duration, event_id_retention, absl::Hours(24 * 7),
          "How long applied event ids are remembered (the platform retries for up to 7 days).");
ABSL_FLAG(int64_t, max_event_ids, int64_t{4} << 20,
          "Most event ids remembered in all (a busy business may use what others leave; the "
          "oldest are forgotten first). About 120 bytes each, whatever the id's length.");
ABSL_FLAG(int, max_numbers, 65536, "Most business phone numbers the server will register.");
ABSL_FLAG(int64_t, memtable_budget_mb, 64,
          "Memory for RocksDB's memtables, all families together (MiB).");
ABSL_FLAG(int, max_message_bytes, 4 << 20,
          "Largest request accepted (bytes); larger ones get RESOURCE_EXHAUSTED.");
ABSL_FLAG(int, max_inflight, 256,
          "Calls (and stream messages) worked on at once; more get RESOURCE_EXHAUSTED.");
ABSL_FLAG(int64_t, memory_quota_mb, 1024,
          "gRPC's memory quota for buffers in flight (MiB); past it calls are refused.");
ABSL_FLAG(absl::Duration, sweep_interval, absl::Seconds(60),
          "How often expired conversations and windows are garbage-collected.");
ABSL_FLAG(std::string, port_file, "", "Write the bound port here once serving (for tests).");
ABSL_FLAG(
    std::string, tokens_file, "",
    "Callers' tokens (SHA-256 hashes, one per line: '<hash> admin' or '<hash> business <id>'). "
    "Empty: no authentication (every caller is an admin), for loopback development.");
ABSL_FLAG(std::string, tls_cert_file, "",
          "PEM certificate chain: serve TLS (with --tls_key_file).");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key for --tls_cert_file.");
ABSL_FLAG(std::string, http_listen, "127.0.0.1:8080",
          "host:port of the HTTP listener (JSON API, /webhooks/whatsapp); TLS with "
          "--tls_cert_file / --tls_key_file. Empty: no HTTP listener.");
ABSL_FLAG(std::string, webhook_apps, "",
          "The platform's apps whose webhooks /webhooks/whatsapp takes: app secrets, verify "
          "tokens and each app's businesses by WABA id (a WebhookAppsConfig text proto; mode "
          "0600, owned by the server's user). Empty: the endpoint refuses every POST.");
ABSL_FLAG(int, http_threads, 16, "HTTP worker threads (each serves one connection at a time).");
ABSL_FLAG(std::string, http_port_file, "",
          "Write the bound HTTP port here once serving (for tests).");
ABSL_FLAG(std::string, shadow, "",
          "Shadow mode for every business: reason families answered allowed with the would-be "
          "reason in Decision.shadow_reason (all, or of consent, template, content, "
          "service_window, limit, frequency_cap, marketing, account, rates; comma-separated).");
ABSL_FLAG(absl::Duration, state_events_interval, absl::Seconds(1),
          "How often every number's state is observed for state-change events "
          "(WatchEvents, alerts, the dashboard). 0: no events.");
ABSL_FLAG(absl::Duration, state_event_retention, absl::Hours(24 * 7),
          "State-change events older than this are dropped.");
ABSL_FLAG(int64_t, max_state_events, 1'000'000,
          "Most state-change events kept (the oldest go first); ~200 bytes each.");
ABSL_FLAG(std::string, alert_hooks, "",
          "AlertHooksConfig in text format (mode 0600): URLs that state-change events are "
          "POSTed to, signed, per business. Empty: none.");
ABSL_FLAG(bool, decision_log, true,
          "Keep the decision log (every hold, allows at --decision_log_allow_sample) for "
          "GetDecision, GET /v1/decisions/{id} and policyctl explain; decision ids are its ids.");
ABSL_FLAG(std::string, decision_log_dir, "",
          "The decision log's RocksDB directory. Empty: <data_dir>/decisions.");
ABSL_FLAG(double, decision_log_allow_sample, 1.0,
          "Share of allowed decisions logged: 1 all, 0 none, 0.1 one in ten (holds: all).");
ABSL_FLAG(absl::Duration, decision_log_retention, absl::Hours(24 * 7),
          "How long logged decisions are kept (by the server's clock).");
ABSL_FLAG(int64_t, decision_log_max_blocks, 1000000,
          "Most decision log blocks kept (each up to 1,024 decisions, ~7-17 KB of allows); the "
          "oldest go first. Trimmed every --sweep_interval.");
ABSL_FLAG(absl::Duration, decision_log_write_within, absl::Seconds(1),
          "A logged decision is on disk within this long (a killed server loses at most this much "
          "of the log). Shorter means more, emptier blocks at low load (at most one per interval).");
ABSL_FLAG(bool, require_business_header, false,
          "Refuse (INVALID_ARGUMENT) every call on a business or its numbers that does not name "
          "its business in x-wapolicy-business (gRPC metadata or HTTP header), and webhooks not "
          "at /webhooks/whatsapp/{business}: for a node behind a router that routes by it.");
ABSL_FLAG(std::string, etcd, "",
          "host:port of etcd's client URL: run as a node of a cluster (README \"Scaling out\"): "
          "join, decide only for the portfolios this node owns, answer FAILED_PRECONDITION with "
          "the owner's address for others and UNAVAILABLE while its etcd lease is lost. Forces "
          "--require_business_header. Empty: a single node serving every business.");
ABSL_FLAG(std::string, node_id, "",
          "With --etcd: this node's id (stable across restarts, one process at a time; its "
          "portfolios are pinned to it).");
ABSL_FLAG(std::string, advertise_grpc, "",
          "With --etcd: host:port the router and other nodes reach this node's gRPC listener "
          "at. Empty: the bound --listen address (its host must then not be a wildcard).");
ABSL_FLAG(std::string, advertise_http, "",
          "With --etcd: host:port of this node's HTTP listener for the router. Empty: the bound "
          "--http_listen address.");
ABSL_FLAG(std::string, cluster_prefix, "/wapolicy", "With --etcd: the cluster's etcd key prefix.");
ABSL_FLAG(absl::Duration, cluster_lease_ttl, absl::Seconds(5),
          "With --etcd: the node's lease; cut off from etcd this long, it stops deciding.");
ABSL_FLAG(bool, cluster_join_ring, true,
          "With --etcd: put this node on the portfolio ring (where new businesses are created) "
          "if it is not there. Existing portfolios are pinned, so joining moves none.");
ABSL_FLAG(int, test_delay_before_admit_ms, 0,
          "For tests only, never in production: every PolicyService call sleeps this long "
          "(milliseconds) after it arrives and before its deadline is checked. 0: no delay.");

namespace {

int Fail(const std::string& msg) {
  std::fprintf(stderr, "policy_server: %s\n", msg.c_str());
  return 2;
}

// The address to advertise for a listener bound from `listen` on `port`:
// `advertised` if set, else listen's host with the bound port.
absl::StatusOr<std::string> Advertised(const std::string& flag, const std::string& advertised,
                                       const std::string& listen, int port) {
  if (!advertised.empty()) return advertised;
  const size_t colon = listen.rfind(':');
  std::string host = colon == std::string::npos ? "" : listen.substr(0, colon);
  if (host.empty() || host == "0.0.0.0" || host == "[::]" || host == "::") {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag, ": required when the listener's host is a wildcard ('", listen, "')"));
  }
  return absl::StrCat(host, ":", port);
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  using namespace wapolicy;
  // Debian's Abseil is built with Mutex deadlock detection on: a graph of
  // every lock's id on each Lock and on each Mutex's destruction, 2-3% of the
  // server's CPU under unary checks (bench/profiles/check.txt). It is a
  // debugging aid; the tests, built without this, keep it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  // SIGTERM / SIGINT are taken by one thread with sigwait (below), not by a
  // handler: block them before any other thread starts so all inherit the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  absl::StatusOr<PolicyProfile> profile = BaseProfile(absl::GetFlag(FLAGS_profile));
  if (!profile.ok()) return Fail(std::string(profile.status().message()));
  if (!absl::GetFlag(FLAGS_config).empty()) {
    std::ifstream in(absl::GetFlag(FLAGS_config));
    if (!in) return Fail(absl::StrCat("--config: cannot read ", absl::GetFlag(FLAGS_config)));
    std::stringstream text;
    text << in.rdbuf();
    profile = ApplyProfileConfig(*profile, text.str());
    if (!profile.ok()) return Fail(std::string(profile.status().message()));
  }
  // How events are taken in (not rules: not part of the stored profile).
  profile->event_time_skew = absl::GetFlag(FLAGS_event_time_skew);
  profile->event_id_retention = absl::GetFlag(FLAGS_event_id_retention);
  if (profile->event_time_skew < absl::ZeroDuration()) {
    return Fail("--event_time_skew must not be negative");
  }
  if (profile->event_id_retention < absl::Hours(24 * 7)) {
    return Fail("--event_id_retention must be at least 7 days (the platform retries that long)");
  }
  if (absl::GetFlag(FLAGS_max_event_ids) < 16) return Fail("--max_event_ids must be at least 16");
  absl::StatusOr<ShadowSet> shadow = ParseShadowSet(absl::GetFlag(FLAGS_shadow));
  if (!shadow.ok()) return Fail(absl::StrCat("--", shadow.status().message()));
  profile->shadow = *shadow;
  profile->max_event_ids = static_cast<size_t>(absl::GetFlag(FLAGS_max_event_ids));

  Durability durability;
  if (absl::GetFlag(FLAGS_durability) == "process") {
    durability = Durability::kProcess;
  } else if (absl::GetFlag(FLAGS_durability) == "machine") {
    durability = Durability::kMachine;
  } else {
    return Fail("--durability must be process or machine");
  }

  SystemClock system_clock;
  std::unique_ptr<ManualClock> fake_clock;
  const Clock* clock = &system_clock;
  if (!absl::GetFlag(FLAGS_fake_clock).empty()) {
    absl::Time start;
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, absl::GetFlag(FLAGS_fake_clock), &start, &err)) {
      return Fail(absl::StrCat("--fake_clock: ", err));
    }
    fake_clock = std::make_unique<ManualClock>(start);
    clock = fake_clock.get();
  }

  const std::string data_dir = absl::GetFlag(FLAGS_data_dir);
  auto store = RocksStateStore::Open(data_dir, durability, absl::GetFlag(FLAGS_memtable_budget_mb));
  if (!store.ok()) return Fail(std::string(store.status().message()));
  // The data must have been written under this profile (or be moved onto it)
  // before any of it is loaded.
  absl::StatusOr<ProfileCheck> profile_check =
      (*store)->CheckProfile(*profile, absl::GetFlag(FLAGS_migrate_profile));
  if (!profile_check.ok()) return Fail(std::string(profile_check.status().message()));
  if (profile_check->outcome == ProfileCheck::Outcome::kMigrated) {
    std::fprintf(
        stderr,
        "policy_server: migrated %s from profile %s: %lld pools, %lld conversations moved\n",
        data_dir.c_str(), profile_check->stored.c_str(),
        static_cast<long long>(profile_check->pools_migrated),
        static_cast<long long>(profile_check->conversations_migrated));
  }
  if (absl::GetFlag(FLAGS_max_numbers) < 1) return Fail("--max_numbers must be at least 1");
  PolicyEngine engine(*profile, clock, store->get(), /*shards=*/16,
                      static_cast<size_t>(absl::GetFlag(FLAGS_max_numbers)));
  absl::StatusOr<int64_t> loaded = (*store)->LoadInto(engine);
  if (!loaded.ok()) return Fail(absl::StrCat("loading state: ", loaded.status().message()));
  // Declared before the service, so it outlives it and writes the last blocks at exit.
  std::unique_ptr<DecisionLog> decision_log;
  if (absl::GetFlag(FLAGS_decision_log)) {
    DecisionLog::Options o;
    o.allow_sample = absl::GetFlag(FLAGS_decision_log_allow_sample);
    o.retention = absl::GetFlag(FLAGS_decision_log_retention);
    o.max_blocks = absl::GetFlag(FLAGS_decision_log_max_blocks);
    o.flush_after = absl::GetFlag(FLAGS_decision_log_write_within);
    o.trim_interval = absl::GetFlag(FLAGS_sweep_interval);
    const std::string dir = absl::GetFlag(FLAGS_decision_log_dir).empty()
                                ? data_dir + "/decisions"
                                : absl::GetFlag(FLAGS_decision_log_dir);
    auto opened = DecisionLog::Open(dir, o, clock, profile->name, profile->revision);
    if (!opened.ok()) return Fail(absl::StrCat("--decision_log: ", opened.status().message()));
    decision_log = *std::move(opened);
  }

  std::unique_ptr<TokenAuthority> auth;
  if (!absl::GetFlag(FLAGS_tokens_file).empty()) {
    auto loaded_auth = TokenAuthority::LoadFile(absl::GetFlag(FLAGS_tokens_file));
    if (!loaded_auth.ok()) return Fail(std::string(loaded_auth.status().message()));
    auth = *std::move(loaded_auth);
  }
  std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
  if (!absl::GetFlag(FLAGS_tls_cert_file).empty() || !absl::GetFlag(FLAGS_tls_key_file).empty()) {
    auto read = [](const std::string& path, std::string* out) {
      std::ifstream in(path);
      if (!in) return false;
      std::stringstream ss;
      ss << in.rdbuf();
      *out = ss.str();
      return true;
    };
    grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
    if (!read(absl::GetFlag(FLAGS_tls_cert_file), &pair.cert_chain) ||
        !read(absl::GetFlag(FLAGS_tls_key_file), &pair.private_key)) {
      return Fail("--tls_cert_file and --tls_key_file must both name readable PEM files");
    }
    grpc::SslServerCredentialsOptions options;
    options.pem_key_cert_pairs.push_back(pair);
    creds = grpc::SslServerCredentials(options);
  }
  if (absl::GetFlag(FLAGS_test_delay_before_admit_ms) < 0) {
    return Fail("--test_delay_before_admit_ms must not be negative");
  }
  if (absl::GetFlag(FLAGS_test_delay_before_admit_ms) > 0) {
    std::fprintf(stderr,
                 "policy_server: --test_delay_before_admit_ms=%d: every call waits that long "
                 "(a test setting)\n",
                 absl::GetFlag(FLAGS_test_delay_before_admit_ms));
  }
  PolicyServiceImpl service(&engine, absl::GetFlag(FLAGS_max_batch), auth.get(),
                            absl::GetFlag(FLAGS_max_inflight),
                            absl::Milliseconds(absl::GetFlag(FLAGS_test_delay_before_admit_ms)));
  service.set_decision_log(decision_log.get());  // Before serving: every id is the log's.
  // x-wapolicy-business on every call (server/business_route.h); one node
  // serves every business (SingleNodeGate) until a cluster brings its gate.
  BusinessRoute::Options route_options;
  route_options.require_header = absl::GetFlag(FLAGS_require_business_header);
  // A cluster's node (--etcd): its gate answers from the membership, which
  // joins once the listeners' ports are known (below); until then every
  // business is UNAVAILABLE. The router routes by the header: required.
  const bool clustered = !absl::GetFlag(FLAGS_etcd).empty();
  std::unique_ptr<cluster::Membership> membership;  // Outlives the gate's users.
  cluster::ClusterGate cluster_gate;
  if (clustered) {
    if (absl::GetFlag(FLAGS_node_id).empty()) return Fail("--node_id: required with --etcd");
    if (absl::GetFlag(FLAGS_cluster_lease_ttl) < absl::Seconds(1)) {
      return Fail("--cluster_lease_ttl: at least 1s");
    }
    route_options.require_header = true;
    route_options.gate = &cluster_gate;
  }
  BusinessRoute route(&engine, route_options);
  service.set_route(&route);
  PolicyAdminImpl admin(&engine, fake_clock.get(), auth.get());
  admin.set_route(&route);
  // State-change events (server/state_events.h): their own RocksDB beside the state's.
  const absl::Duration events_interval = absl::GetFlag(FLAGS_state_events_interval);
  if (events_interval < absl::ZeroDuration()) {
    return Fail("--state_events_interval must not be negative");
  }
  RecordLog::Options event_log_options;
  event_log_options.retention = absl::GetFlag(FLAGS_state_event_retention);
  event_log_options.max_records = absl::GetFlag(FLAGS_max_state_events);
  event_log_options.sync = durability == Durability::kMachine;
  auto event_log = RecordLog::Open(data_dir + "/events", event_log_options);
  if (!event_log.ok()) return Fail(absl::StrCat("--state_event_retention, --max_state_events: ",
                                                event_log.status().message()));
  StateEventLog state_events(&engine, event_log->get());
  if (absl::Status s = state_events.Load(); !s.ok()) {
    return Fail(absl::StrCat("loading state events: ", s.message()));
  }
  EventsServiceImpl events_service(&state_events, auth.get());
  events_service.set_route(&route);
  admin.set_on_registered([&state_events](PhoneNumber n) {
    if (absl::StatusOr<int> s = state_events.ObserveNumber(n); !s.ok()) {
      std::fprintf(stderr, "policy_server: observing %s: %s\n", n.E164().c_str(),
                   std::string(s.status().message()).c_str());
    }
  });
  std::vector<AlertHook> hooks;
  if (!absl::GetFlag(FLAGS_alert_hooks).empty()) {
    auto loaded_hooks = LoadAlertHooks(absl::GetFlag(FLAGS_alert_hooks));
    if (!loaded_hooks.ok()) {
      return Fail(absl::StrCat("--alert_hooks: ", loaded_hooks.status().message()));
    }
    hooks = *std::move(loaded_hooks);
  }
  AlertSender alerts(&state_events, event_log->get(), hooks, {});
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(absl::GetFlag(FLAGS_listen), creds, &port);
  builder.SetMaxReceiveMessageSize(absl::GetFlag(FLAGS_max_message_bytes));
  grpc::ResourceQuota quota("policy_server");
  quota.Resize(static_cast<size_t>(absl::GetFlag(FLAGS_memory_quota_mb)) << 20);
  builder.SetResourceQuota(quota);
  builder.RegisterService(&service);
  builder.RegisterService(&admin);
  builder.RegisterService(&events_service);
  CampaignServiceImpl campaigns(&service);  // PlanCampaign, ReserveCampaign.
  builder.RegisterService(&campaigns);
  // A cluster's node serves PolicyCluster too: its half of moving a
  // portfolio (cluster/portfolio_service.h), for admins only.
  std::unique_ptr<cluster::PortfolioService> portfolio_moves;
  if (clustered) {
    cluster::PortfolioService::Options o;
    o.work_dir = data_dir + "/moving";
    portfolio_moves =
        std::make_unique<cluster::PortfolioService>(&engine, store->get(), auth.get(), o);
    builder.RegisterService(portfolio_moves.get());
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return Fail(absl::StrCat("cannot listen on ", absl::GetFlag(FLAGS_listen)));
  }
  JsonApi json_api(&service, &admin);
  json_api.set_events(&events_service);
  json_api.set_campaigns(&campaigns);
  std::unique_ptr<WebhookApps> webhook_apps;
  if (!absl::GetFlag(FLAGS_webhook_apps).empty()) {
    auto apps = WebhookApps::LoadFile(absl::GetFlag(FLAGS_webhook_apps));
    if (!apps.ok()) return Fail(absl::StrCat("--webhook_apps: ", apps.status().message()));
    webhook_apps = *std::move(apps);
  }
  WebhookEndpoint webhooks(&service, &admin, webhook_apps.get());
  MetricsRegistry registry;
  ServerMetrics metrics(&registry, profile->name);
  service.set_metrics(&metrics);
  if (decision_log != nullptr) AddDecisionLogMetrics(decision_log.get(), &registry);
  registry.AddGauge("wapolicy_calls_in_flight", "Calls being worked on (gRPC and HTTP).", {},
                    [&service] { return static_cast<double>(service.inflight()); });
  registry.AddGauge("wapolicy_numbers", "Registered business numbers.", {},
                    [&engine] { return static_cast<double>(engine.stats().numbers); });
  registry.AddGauge("wapolicy_tracked_conversations", "Conversations the engine tracks.", {},
                    [&engine] { return static_cast<double>(engine.stats().ledger_entries); });
  for (int o = 0; o < kWebhookOutcomes; ++o) {
    registry.AddCounterFunc(
        "wapolicy_webhook_updates_total",
        "Webhook updates by what became of them (applied includes repeats answered as before).",
        {{"outcome", std::string(WebhookOutcomeName(static_cast<WebhookOutcome>(o)))}},
        [&webhooks, o] {
          return static_cast<double>(webhooks.outcome_count(static_cast<WebhookOutcome>(o)));
        });
  }
  for (int k = 0; k < kWebhookIgnoredKinds; ++k) {
    registry.AddCounterFunc(
        "wapolicy_webhook_ignored_total",
        "Parts of webhook bodies left out (unknown fields, events, forms), by kind.",
        {{"kind", std::string(WebhookIgnoredName(static_cast<WebhookIgnored>(k)))}},
        [&webhooks, k] {
          return static_cast<double>(webhooks.ignored_count(static_cast<WebhookIgnored>(k)));
        });
  }
  for (int k = 1; k <= kStateEventKindMax; ++k) {
    registry.AddCounterFunc(
        "wapolicy_state_events_total", "State-change events observed since start, by kind.",
        {{"kind", std::string(StateEventKindName(static_cast<StateEventKind>(k)))}},
        [&state_events, k] {
          return static_cast<double>(state_events.appended(static_cast<StateEventKind>(k)));
        });
  }
  for (size_t h = 0; h < alerts.hooks().size(); ++h) {
    const MetricLabels hook = {{"hook", alerts.hooks()[h].name}};
    registry.AddCounterFunc("wapolicy_alert_posts_total", "Alert POSTs answered 2xx, by hook.",
                            hook, [&alerts, h] { return double(alerts.posts_delivered(h)); });
    registry.AddCounterFunc("wapolicy_alert_events_total", "Events those POSTs carried.", hook,
                            [&alerts, h] { return double(alerts.events_delivered(h)); });
    registry.AddCounterFunc("wapolicy_alert_failures_total",
                            "Alert POSTs that failed (retried with back-off).", hook,
                            [&alerts, h] { return double(alerts.posts_failed(h)); });
  }
  RocksStateStore* const journal = store->get();
  registry.AddCounterFunc("wapolicy_journal_writes_total",
                          "RocksDB writes of the group commit (each one WAL write).", {},
                          [journal] { return static_cast<double>(journal->write_stats().writes); });
  registry.AddCounterFunc(
      "wapolicy_journal_change_sets_total",
      "Change sets those writes carried (change_sets / writes: the average group size).", {},
      [journal] { return static_cast<double>(journal->write_stats().change_sets); });
  registry.AddCounterFunc("wapolicy_journal_records_total", "Records written.", {}, [journal] {
    return static_cast<double>(journal->write_stats().records);
  });
  registry.AddCounterFunc("wapolicy_journal_write_seconds_total",
                          "Time in those writes (over writes: the average commit latency).", {},
                          [journal] { return journal->write_stats().write_seconds; });
  registry.AddGauge("wapolicy_rocksdb_estimated_bytes",
                    "RocksDB's estimate of its live data plus memtables, all families.", {},
                    [journal] { return static_cast<double>(journal->EstimatedBytes()); });
  // Numbers by status, quality and tier: each number's state, as GetNumberState
  // answers it, at scrape time (a lock per number; fine for tens of thousands).
  registry.AddGaugeFamily(
      "wapolicy_numbers_by_state",
      "Registered numbers by status, quality rating (the one the rules use) and messaging tier.",
      [&engine] {
        std::map<std::tuple<std::string, std::string, std::string>, double> counts;
        for (const PhoneNumber& n : engine.Numbers()) {
          absl::StatusOr<NumberSnapshot> s = engine.GetNumberState(n);
          if (!s.ok()) continue;
          v1::NumberState p;
          ToProto(*s, engine.profile(), &p);
          ++counts[{v1::NumberStatus_Name(p.status()), v1::QualityRating_Name(p.quality()),
                    v1::MessagingTier_Name(p.tier())}];
        }
        std::vector<std::pair<MetricLabels, double>> out;
        for (const auto& [k, v] : counts) {
          out.push_back(
              {{{"status", std::get<0>(k)}, {"quality", std::get<1>(k)}, {"tier", std::get<2>(k)}},
               v});
        }
        return out;
      });
  // /metrics: an admin's (any caller's without --tokens_file); no per-number labels.
  auto serve_metrics = [&json_api, &registry](const HttpRequest& r) {
    absl::StatusOr<Caller> caller = json_api.Who(r);
    if (!caller.ok()) return ErrorResponse(caller.status());
    if (!caller->admin) {
      return ErrorResponse(absl::PermissionDeniedError("metrics: an admin token is needed"));
    }
    HttpResponse out = HttpResponse::Text(200, registry.Render());
    out.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return out;
  };
  std::unique_ptr<HttpServer> http;
  if (!absl::GetFlag(FLAGS_http_listen).empty()) {
    HttpServer::Options options;
    options.listen = absl::GetFlag(FLAGS_http_listen);
    options.tls_cert_file = absl::GetFlag(FLAGS_tls_cert_file);
    options.tls_key_file = absl::GetFlag(FLAGS_tls_key_file);
    options.threads = absl::GetFlag(FLAGS_http_threads);
    absl::StatusOr<std::unique_ptr<HttpServer>> started = HttpServer::Start(
        options,
        {{"/v1", [&json_api](const HttpRequest& r) { return json_api.Handle(r); }},
         {"/webhooks/whatsapp", [&webhooks](const HttpRequest& r) { return webhooks.Handle(r); }},
         {"/metrics", serve_metrics},
         {"/", ServeDashboard}});  // Exactly "/": the operator dashboard.
    if (!started.ok()) return Fail(std::string(started.status().message()));
    http = *std::move(started);
  }
  if (clustered) {
    // Join now that the bound ports are known; the port files below then
    // mean "serving as a node".
    cluster::Membership::Options mo;
    mo.etcd_endpoint = absl::GetFlag(FLAGS_etcd);
    mo.prefix = absl::GetFlag(FLAGS_cluster_prefix);
    mo.lease_ttl = absl::GetFlag(FLAGS_cluster_lease_ttl);
    mo.call_timeout = std::min(absl::Seconds(2), mo.lease_ttl / 3);
    mo.add_to_ring = absl::GetFlag(FLAGS_cluster_join_ring);
    mo.self.set_node_id(absl::GetFlag(FLAGS_node_id));
    absl::StatusOr<std::string> grpc_address = Advertised(
        "advertise_grpc", absl::GetFlag(FLAGS_advertise_grpc), absl::GetFlag(FLAGS_listen), port);
    if (!grpc_address.ok()) return Fail(std::string(grpc_address.status().message()));
    mo.self.set_grpc_address(*grpc_address);
    if (http != nullptr) {
      absl::StatusOr<std::string> http_address =
          Advertised("advertise_http", absl::GetFlag(FLAGS_advertise_http),
                     absl::GetFlag(FLAGS_http_listen), http->port());
      if (!http_address.ok()) return Fail(std::string(http_address.status().message()));
      mo.self.set_http_address(*http_address);
    }
    absl::StatusOr<std::unique_ptr<cluster::Membership>> joined = cluster::Membership::Join(mo);
    if (!joined.ok()) return Fail(absl::StrCat("--etcd: joining the cluster: ", joined.status().message()));
    membership = *std::move(joined);
    cluster_gate.Attach(membership.get());
    portfolio_moves->Attach(membership.get());
    // Every business this node holds data for gets its pin (if it has none):
    // one pinned elsewhere is a stale copy here, refused by the gate.
    absl::flat_hash_set<std::string> held_set;
    for (const PhoneNumber& n : engine.Numbers()) {
      if (absl::StatusOr<std::string> b = engine.BusinessOf(n); b.ok()) held_set.insert(*b);
    }
    std::vector<std::string> held(held_set.begin(), held_set.end());
    std::sort(held.begin(), held.end());
    absl::StatusOr<cluster::ClusterGate::PinReport> pins = cluster_gate.PinHeld(held);
    if (!pins.ok()) return Fail(absl::StrCat("--etcd: pinning held businesses: ", pins.status().message()));
    for (const std::string& b : pins->elsewhere) {
      std::fprintf(stderr,
                   "policy_server: business %s is pinned to another node: the copy here is stale "
                   "and is not served\n",
                   b.c_str());
    }
    std::fprintf(stderr,
                 "policy_server: node %s of cluster %s at etcd %s (gRPC %s, HTTP %s): %d "
                 "portfolios pinned now, %d already, %zu elsewhere\n",
                 absl::GetFlag(FLAGS_node_id).c_str(), mo.prefix.c_str(), mo.etcd_endpoint.c_str(),
                 mo.self.grpc_address().c_str(), mo.self.http_address().c_str(), pins->pinned,
                 pins->already_own, pins->elsewhere.size());
  }
  auto write_port = [](const std::string& path, int p) {
    if (path.empty()) return;
    const std::string tmp = path + ".tmp";
    std::ofstream(tmp) << p << "\n";
    std::rename(tmp.c_str(), path.c_str());
  };
  if (http != nullptr) write_port(absl::GetFlag(FLAGS_http_port_file), http->port());
  write_port(absl::GetFlag(FLAGS_port_file), port);
  const EngineStats stats = engine.stats();
  if (profile->shadow != kShadowNone) {
    std::fprintf(stderr,
                 "policy_server: SHADOW MODE for %s: those holds are answered allowed "
                 "(Decision.shadow_reason)\n",
                 ShadowSetName(profile->shadow).c_str());
  }
  if (http != nullptr) {
    std::fprintf(stderr, "policy_server: HTTP%s on %s (port %d)\n", http->tls() ? "S" : "",
                 absl::GetFlag(FLAGS_http_listen).c_str(), http->port());
  }
  std::fprintf(stderr,
               "policy_server: listening on %s (port %d), data dir %s, durability %s, profile %s "
               "rev %lld, %s clock, %s, %s; loaded %lld records: %zu businesses, %zu numbers, %zu "
               "tracked conversations\n",
               absl::GetFlag(FLAGS_listen).c_str(), port, data_dir.c_str(),
               absl::GetFlag(FLAGS_durability).c_str(), profile->name.c_str(),
               static_cast<long long>(profile->revision), fake_clock ? "fake" : "wall",
               auth ? absl::StrCat(auth->size(), " tokens").c_str() : "no authentication",
               absl::GetFlag(FLAGS_tls_cert_file).empty() ? "plaintext" : "TLS",
               static_cast<long long>(*loaded), stats.businesses, stats.numbers,
               stats.ledger_entries);

  absl::Notification stop;
  std::thread signals([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    stop.Notify();
  });
  std::thread sweeper([&] {
    while (!stop.WaitForNotificationWithTimeout(absl::GetFlag(FLAGS_sweep_interval))) {
      if (absl::Status s = engine.Sweep(); !s.ok()) {
        std::fprintf(stderr, "policy_server: sweep: %s\n", std::string(s.message()).c_str());
      }
      if (absl::StatusOr<int64_t> t = state_events.Trim(); !t.ok()) {
        std::fprintf(stderr, "policy_server: trimming state events: %s\n",
                     std::string(t.status().message()).c_str());
      }
    }
  });
  // The observer of state changes; alerts follow what it appends.
  std::thread observer([&] {
    if (events_interval == absl::ZeroDuration()) return;
    do {
      if (absl::StatusOr<int> n = state_events.Observe(); !n.ok()) {
        std::fprintf(stderr, "policy_server: observing state events: %s\n",
                     std::string(n.status().message()).c_str());
      }
    } while (!stop.WaitForNotificationWithTimeout(events_interval));
  });
  alerts.Start();
  stop.WaitForNotification();
  std::fprintf(stderr, "policy_server: shutting down\n");
  // A cluster's node leaves first (its lease revoked): it stops deciding now
  // and the router sees it gone at once rather than after the ttl.
  if (membership != nullptr) (void)membership->Leave();
  // In-flight calls get up to 5 s to finish; everything they answered is in the WAL.
  http.reset();  // Waits for HTTP requests being handled.
  events_service.Stop();  // Watches end now rather than at the shutdown deadline.
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  signals.join();
  sweeper.join();
  observer.join();
  alerts.Stop();
  return 0;
}
