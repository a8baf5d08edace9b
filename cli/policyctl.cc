// policyctl: the operators' and testers' command line for policy_server.
//
//   policyctl [--server=HOST:PORT] [--json] COMMAND [--flags]
//
// Commands:
//   check     --number --customer (--template=NAME --language=LANG | --session=TYPE) [--dry_run]
//             [--message_id=ID] [--pace]
//   event     --number --customer --type=inbound|delivered|failed|blocked|reported|opt_in|opt_out
//             [--reason=spam|no_longer_needed|didnt_sign_up|offensive_messages|no_reason]
//             [--source=sms|missed_call|website|in_app|ivr|email|whatsapp_thread]
//             [--at=2026-11-30T09:15:00Z] [--event_id=ID] [--message_id=ID] [--error_code=N]
//   state     --number
//   explain   ID                 (a decision from the decision log, by its decision id)
//   business  --business --verified --official
//   register  --number --business [--current_limit=N]  (N: the platform's limit; -1 unlimited)
//   sync      --number [--limit=N] [--quality=green|yellow|red] [--flagged=true|false]
//             [--throughput=MPS] [--restricted_until=RFC3339|none] [--disabled=true|false]
//             [--at=RFC3339]     (the platform's word on a number)
//   template  --business --name --language --category=marketing|utility|authentication
//             --status=approved|pending|rejected|paused|disabled
//   untemplate --business --name --language
//   template-quality --business --name --language [--template_quality=green|yellow|red]
//             [--unpause] [--reinstate]   (the platform's word on a template)
//   advance   --seconds          (servers started with --fake_clock only)
//   plan      --number --template_name --customers=FILE [--start=RFC3339] [--step=1m]
//             [--per_customer]   (a campaign's plan: cli/campaign_commands.h)
//   reserve   --number --template_name --customers=FILE   (admit them all now, or none)
//   info
//   link      --number --text    (click-to-chat links; no server needed)
//   hash-token --token           (the line to put in the server's --tokens_file)
//   cluster status|move|add-node|drain --etcd=HOST:PORT [--cluster_prefix]
//             [--business --to | --node [--address]]   (moving portfolios: cli/cluster_commands.h)
//
// --token sends 'authorization: Bearer <token>'; --tls_ca_file connects with TLS.
// --business, when given, is also sent with every command as
// 'x-wapolicy-business: <id>' (the business the call is for; servers with
// --require_business_header refuse calls on a business without it).
//
// check also takes --params (template parameters), --text (session text),
// --mime/--bytes/--caption (session media) and --marketing; event takes
// --text (inbound) and --topics (opt_in); template takes --topic,
// --header_text, --body, --footer and --buttons.

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "cli/campaign_commands.h"
#include "cli/cluster_commands.h"
#include "policy/click_to_chat.h"
#include "proto/wapolicy/v1/policy.grpc.pb.h"
#include "server/token_authority.h"

ABSL_FLAG(std::string, server, "127.0.0.1:50051", "policy_server address.");
ABSL_FLAG(bool, json, false, "Print responses as JSON.");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(5), "Deadline for each call.");
ABSL_FLAG(std::string, token, "",
          "Bearer token for a server started with --tokens_file (hash-token: the token to hash).");
ABSL_FLAG(std::string, tls_ca_file, "", "Connect with TLS, trusting this PEM CA / certificate.");
ABSL_FLAG(std::string, number, "", "Business phone number, E.164.");
ABSL_FLAG(std::string, customer, "", "Customer phone number, E.164.");
ABSL_FLAG(std::string, template_name, "", "Template name (check); --name works too.");
ABSL_FLAG(std::string, name, "", "Template name (template, untemplate).");
ABSL_FLAG(std::string, language, "en_US", "Template language.");
ABSL_FLAG(std::string, session, "", "Session message type: text, image, video, ... (check).");
ABSL_FLAG(bool, dry_run, false, "Decide without taking a conversation slot (check).");
ABSL_FLAG(bool, pace, false,
          "Over the throughput or pair rate, answer with the time to send and keep it (check).");
ABSL_FLAG(std::string, type, "", "Event type (event).");
ABSL_FLAG(absl::Time, at, absl::InfinitePast(),
          "When the event took place, RFC 3339 (event; default: when the server receives it).");
ABSL_FLAG(std::string, message_id, "",
          "The pipeline's id of the message (check; event --type=delivered|failed).");
ABSL_FLAG(
    int32_t, error_code, 0,
    "The platform's error of a failed message (event --type=failed; 131049 holds marketing).");
ABSL_FLAG(std::string, event_id, "",
          "The event's id (event): a repeat is answered as the first time and changes nothing.");
ABSL_FLAG(std::string, reason, "no_reason", "Block reason (event --type=blocked).");
ABSL_FLAG(std::string, source, "website", "Opt-in source (event --type=opt_in).");
ABSL_FLAG(std::string, business, "",
          "Business id (business, register, template...). When set it is also sent with every "
          "command as the x-wapolicy-business header: the server checks the command's number "
          "is that business's, and --require_business_header servers need it.");
ABSL_FLAG(std::string, template_quality, "",
          "The platform's quality rating of a template: green, yellow, red (template-quality).");
ABSL_FLAG(bool, unpause, false, "The platform lifted a template's pause (template-quality).");
ABSL_FLAG(bool, reinstate, false, "The platform reinstated a template (template-quality).");
ABSL_FLAG(std::string, current_limit, "",
          "The platform's current messaging limit of a number that already sends (register).");
ABSL_FLAG(std::string, limit, "", "Messaging limit the platform reports; -1 = unlimited (sync).");
ABSL_FLAG(std::string, quality, "",
          "Quality rating the platform reports: green, yellow, red (sync).");
ABSL_FLAG(std::string, flagged, "", "Flagged as the platform reports it: true or false (sync).");
ABSL_FLAG(std::string, throughput, "", "Messages per second the platform allows (sync).");
ABSL_FLAG(std::string, restricted_until, "",
          "Business-initiated messaging restricted until (RFC 3339), or none (sync).");
ABSL_FLAG(std::string, disabled, "", "The platform disabled the account: true or false (sync).");
ABSL_FLAG(uint64_t, from, 0,
          "First event position to send (watch): one past the last seen to resume; 0: new "
          "events only.");
ABSL_FLAG(int64_t, count, 0, "Stop after this many events (watch); 0: until interrupted.");
ABSL_FLAG(std::string, shadow, "",
          "Reason families the business runs in shadow mode: all, or comma-separated of consent, "
          "template, content, service_window, limit, frequency_cap, marketing, account, rates "
          "(business).");
ABSL_FLAG(bool, verified, true, "Business verification done (business).");
ABSL_FLAG(bool, official, false, "Official Business Account (business).");
ABSL_FLAG(std::string, category, "utility", "Template category (template).");
ABSL_FLAG(std::string, status, "approved", "Template status (template).");
ABSL_FLAG(int64_t, seconds, 0, "Seconds to move the fake clock (advance).");
ABSL_FLAG(std::string, text, "",
          "Text: link pre-fill, inbound message text, or session text body.");
ABSL_FLAG(std::vector<std::string>, topics, {},
          "Opt-in topics, comma-separated (event --type=opt_in).");
ABSL_FLAG(std::vector<std::string>, params, {},
          "Template body parameters, comma-separated (check).");
ABSL_FLAG(bool, marketing, false, "Declare a session message promotional (check).");
ABSL_FLAG(std::string, mime, "",
          "Media MIME type (check --session=image|video|audio|document|sticker).");
ABSL_FLAG(int64_t, bytes, 0, "Media size in bytes (check).");
ABSL_FLAG(std::string, caption, "", "Media caption (check).");
ABSL_FLAG(std::string, topic, "", "Template opt-in topic (template).");
ABSL_FLAG(std::string, header_text, "", "Template text header (template).");
ABSL_FLAG(std::string, body, "", "Template body (template).");
ABSL_FLAG(std::string, footer, "", "Template footer (template).");
ABSL_FLAG(
    std::vector<std::string>, buttons, {},
    "Template buttons, comma-separated: quick:TEXT, url:TEXT:URL, phone:TEXT:NUMBER (template).");

namespace {

using namespace wapolicy;
namespace pb = google::protobuf;

int Usage(const std::string& why) {
  std::fprintf(stderr, "policyctl: %s\nRun 'policyctl --help' for commands and flags.\n",
               why.c_str());
  return 2;
}

// Looks an enum value up by its lower-case name ("spam" -> SPAM).
template <typename E>
bool ParseEnum(const pb::EnumDescriptor* d, const std::string& text, E* out) {
  const pb::EnumValueDescriptor* v = d->FindValueByName(absl::AsciiStrToUpper(text));
  if (v == nullptr || v->number() == 0) return false;
  *out = static_cast<E>(v->number());
  return true;
}

void Print(const pb::Message& m) {
  std::string out;
  if (absl::GetFlag(FLAGS_json)) {
    pb::util::JsonPrintOptions o;
    o.always_print_primitive_fields = true;
    (void)pb::util::MessageToJsonString(m, &out, o);
    out += "\n";
  } else {
    pb::TextFormat::PrintToString(m, &out);
  }
  std::fputs(out.c_str(), stdout);
}

std::string When(int64_t ms) {
  return ms == 0 ? "-"
                 : absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::FromUnixMillis(ms),
                                    absl::UTCTimeZone());
}

// To the millisecond: rates wait milliseconds.
std::string WhenMs(int64_t ms) {
  return ms == 0 ? "-"
                 : absl::FormatTime("%Y-%m-%d %H:%M:%E3S UTC", absl::FromUnixMillis(ms),
                                    absl::UTCTimeZone());
}

void PrintDecision(const v1::Decision& d) {
  if (absl::GetFlag(FLAGS_json)) return Print(d);
  std::printf("%s  %s\n", d.allowed() ? "ALLOW" : "HOLD", v1::ReasonCode_Name(d.reason()).c_str());
  if (!d.detail().empty()) std::printf("  why:        %s\n", d.detail().c_str());
  if (d.shadow_reason() != v1::REASON_CODE_UNSPECIFIED) {
    std::printf("  shadow:     would HOLD %s: %s\n", v1::ReasonCode_Name(d.shadow_reason()).c_str(),
                d.shadow_detail().c_str());
  }
  if (d.platform_error_code() != 0)
    std::printf("  platform:   error %d\n", d.platform_error_code());
  if (d.allowed())
    std::printf("  effect:     %s\n", v1::ConversationEffect_Name(d.effect()).c_str());
  std::printf("  limit:      %lld used of %s\n", static_cast<long long>(d.used()),
              d.limit() < 0 ? "unlimited" : absl::StrCat(d.limit()).c_str());
  if (d.next_slot_free_unix_ms())
    std::printf("  next slot:  %s\n", When(d.next_slot_free_unix_ms()).c_str());
  if (d.service_window_ends_unix_ms()) {
    std::printf("  window:     open until %s\n", When(d.service_window_ends_unix_ms()).c_str());
  }
  if (d.retry_after_unix_ms())
    std::printf("  retry after: %s\n", WhenMs(d.retry_after_unix_ms()).c_str());
  if (d.send_at_unix_ms()) std::printf("  send at:    %s\n", WhenMs(d.send_at_unix_ms()).c_str());
  std::printf("  decision:   %s (%s rev %lld)\n", d.decision_id().c_str(), d.profile_name().c_str(),
              static_cast<long long>(d.profile_revision()));
}

// A decision from the decision log: what was asked, when, and the answer.
void PrintLoggedDecision(const v1::LoggedDecision& r) {
  if (absl::GetFlag(FLAGS_json)) return Print(r);
  std::printf("decision %s at %s\n", r.decision().decision_id().c_str(),
              WhenMs(r.decided_at_unix_ms()).c_str());
  std::printf("  number:     %s to %s\n", r.business_number().c_str(), r.customer().c_str());
  std::string message;
  if (!r.template_name().empty()) {
    message = absl::StrCat("template ", r.template_name(), " (", r.template_language(), ")");
    if (r.template_category() != v1::TEMPLATE_CATEGORY_UNSPECIFIED) {
      absl::StrAppend(&message, ", ", v1::TemplateCategory_Name(r.template_category()),
                      " as registered now");
    }
  } else {
    message = absl::StrCat("session ", v1::SessionType_Name(r.session_type()),
                           r.marketing() ? ", declared marketing" : "");
  }
  if (r.dry_run()) absl::StrAppend(&message, "; dry run");
  if (r.pace()) absl::StrAppend(&message, "; paced");
  if (!r.message_id().empty()) absl::StrAppend(&message, "; message id ", r.message_id());
  std::printf("  message:    %s\n", message.c_str());
  if (!r.written()) std::printf("  (not on disk yet: the log's writer takes up to a second)\n");
  PrintDecision(r.decision());
}

void PrintState(const v1::NumberState& s) {
  if (absl::GetFlag(FLAGS_json)) return Print(s);
  std::printf("%s  (business %s%s%s)\n", s.business_number().c_str(), s.business_id().c_str(),
              s.verified() ? ", verified" : ", unverified",
              s.official_business_account() ? ", OBA" : "");
  std::printf("  status:     %s\n", v1::NumberStatus_Name(s.status()).c_str());
  const std::string quality_from =
      s.platform_quality() != v1::QUALITY_RATING_UNSPECIFIED
          ? absl::StrCat("platform's, since ", When(s.platform_quality_at_unix_ms()), "; estimate ",
                         v1::QualityRating_Name(s.estimated_quality()))
          : "estimate";
  std::printf("  quality:    %s (%s; score %.2f)\n", v1::QualityRating_Name(s.quality()).c_str(),
              quality_from.c_str(), s.quality_score());
  const auto& c = s.signals_7d();
  std::printf(
      "  signals 7d: no_longer_needed=%lld didnt_sign_up=%lld spam=%lld offensive=%lld "
      "no_reason=%lld reports=%lld\n",
      (long long)c.no_longer_needed(), (long long)c.didnt_sign_up(), (long long)c.spam(),
      (long long)c.offensive_messages(), (long long)c.no_reason(), (long long)c.reports());
  std::printf("  limit:      %s (%s, level %d%s), used %lld, pending %lld\n",
              s.limit() < 0 ? "unlimited" : absl::StrCat(s.limit()).c_str(),
              v1::MessagingTier_Name(s.tier()).c_str(), s.tier_level(),
              s.per_portfolio_limit() ? ", shared by the portfolio" : "", (long long)s.used(),
              (long long)s.pending());
  if (s.has_platform_limit()) {
    std::printf("  limit from: platform's, since %s; estimate %s\n",
                When(s.platform_limit_at_unix_ms()).c_str(),
                s.estimated_limit() < 0 ? "unlimited" : absl::StrCat(s.estimated_limit()).c_str());
  }
  if (s.throughput_limit_mps() != 0) {
    std::printf("  throughput: %d/s%s, %lld used this second%s\n", s.throughput_limit_mps(),
                s.throughput_mps() != 0 ? " (platform's)" : "", (long long)s.throughput_used(),
                s.throughput_free_at_unix_ms() != 0
                    ? absl::StrCat(", next at ", When(s.throughput_free_at_unix_ms())).c_str()
                    : "");
  }
  if (s.pairs_in_burst() != 0) {
    std::printf("  pair rate:  %lld customers in a burst, %lld held\n",
                (long long)s.pairs_in_burst(), (long long)s.pairs_held());
  }
  if (s.marketing_holds() != 0) {
    std::printf("  marketing:  %lld customers held (131049)\n", (long long)s.marketing_holds());
    for (const v1::MarketingHold& h : s.first_marketing_holds()) {
      std::printf("    %s until %s\n", h.customer().c_str(), When(h.until_unix_ms()).c_str());
    }
  }
  for (const v1::PausedTemplate& t : s.paused_templates()) {
    std::printf("  template:   %s (%s) %s\n", t.name().c_str(), t.language().c_str(),
                t.until_unix_ms() != 0
                    ? absl::StrCat("paused until ", When(t.until_unix_ms())).c_str()
                : t.disabled() ? "disabled"
                               : "paused");
  }
  if (s.restricted_until_unix_ms() != 0) {
    std::printf("  restricted: business-initiated messaging until %s\n",
                When(s.restricted_until_unix_ms()).c_str());
  }
  if (s.disabled()) std::printf("  disabled:   the platform disabled the account\n");
  std::printf("  unique 7d:  %lld\n", (long long)s.unique_customers_7d());
  if (s.volume_path_customers() != 0) {
    std::printf("  path:       %lld unique customers with GREEN templates in 30 days\n",
                (long long)s.volume_path_customers());
  }
  if (s.reached_by_volume()) std::printf("  path:       lifted by volume (unverified): climbs as a verified business\n");
  if (s.upgrade_pending()) {
    std::printf("  upgrade:    to %lld at %s\n", (long long)s.upgrade_limit(),
                When(s.upgrade_at_unix_ms()).c_str());
  }
  if (s.flagged()) {
    std::printf("  flagged:    since %s, settles %s\n", When(s.flagged_since_unix_ms()).c_str(),
                When(s.flag_settles_at_unix_ms()).c_str());
  }
  if (s.next_slot_free_unix_ms())
    std::printf("  next slot:  %s\n", When(s.next_slot_free_unix_ms()).c_str());
}

int Report(const grpc::Status& s) {
  if (s.ok()) return 0;
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE) {
    std::fprintf(stderr, "policyctl: server %s is not reachable: %s\n",
                 absl::GetFlag(FLAGS_server).c_str(), s.error_message().c_str());
    return 3;
  }
  std::fprintf(stderr, "policyctl: %s: %s\n",
               absl::StatusCodeToString(static_cast<absl::StatusCode>(s.error_code())).c_str(),
               s.error_message().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "policyctl [--server=HOST:PORT] [--json] [--business=ID] check|event|state|explain ID|"
      "business|register|template|untemplate|advance|info|watch|link|hash-token|\n"
      "cluster status|move|add-node|drain [--flags]\n"
      "--business is sent with every command as the x-wapolicy-business header.");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  const std::string cmd = args.size() >= 2 ? args[1] : "";
  const bool with_arg = cmd == "explain" || cmd == "cluster";
  if (args.size() != (with_arg ? 3u : 2u)) {
    if (cmd == "cluster") return Usage("cluster takes one of status, move, add-node, drain");
    return Usage(cmd == "explain" ? "explain takes one decision id: policyctl explain ID"
                                  : "give exactly one command");
  }
  if (cmd == "cluster") {
    return RunClusterCommand(args[2], absl::GetFlag(FLAGS_business), absl::GetFlag(FLAGS_token));
  }

  if (cmd == "hash-token") {
    if (absl::GetFlag(FLAGS_token).empty()) return Usage("hash-token needs --token");
    std::printf("%s\n", TokenAuthority::HashToken(absl::GetFlag(FLAGS_token)).c_str());
    return 0;
  }
  if (cmd == "link") {
    auto a = WaMeLink(absl::GetFlag(FLAGS_number), absl::GetFlag(FLAGS_text));
    auto b = WhatsAppDeepLink(absl::GetFlag(FLAGS_number), absl::GetFlag(FLAGS_text));
    if (!a.ok()) return Usage(absl::StrCat("--number: ", a.status().message()));
    std::printf("%s\n%s\n", a->c_str(), b->c_str());
    return 0;
  }

  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
  if (!absl::GetFlag(FLAGS_tls_ca_file).empty()) {
    std::ifstream in(absl::GetFlag(FLAGS_tls_ca_file));
    if (!in) return Usage("--tls_ca_file: cannot read it");
    std::stringstream pem;
    pem << in.rdbuf();
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = pem.str();
    creds = grpc::SslCredentials(options);
  }
  auto channel = grpc::CreateChannel(absl::GetFlag(FLAGS_server), creds);
  auto svc = v1::PolicyService::NewStub(channel);
  auto admin = v1::PolicyAdmin::NewStub(channel);
  // Every call's metadata: the token, and the business the call is for.
  auto add_metadata = [](grpc::ClientContext* c) {
    if (!absl::GetFlag(FLAGS_token).empty()) {
      c->AddMetadata("authorization", "Bearer " + absl::GetFlag(FLAGS_token));
    }
    if (!absl::GetFlag(FLAGS_business).empty()) {
      c->AddMetadata("x-wapolicy-business", absl::GetFlag(FLAGS_business));
    }
  };
  grpc::ClientContext ctx;
  add_metadata(&ctx);
  ctx.set_deadline(std::chrono::system_clock::now() +
                   absl::ToChronoMicroseconds(absl::GetFlag(FLAGS_timeout)));
  if (cmd == "plan" || cmd == "reserve") return RunCampaignCommand(cmd, channel, &ctx);

  if (cmd == "check") {
    v1::CheckRequest req;
    req.set_business_number(absl::GetFlag(FLAGS_number));
    req.set_customer(absl::GetFlag(FLAGS_customer));
    req.set_dry_run(absl::GetFlag(FLAGS_dry_run));
    req.set_message_id(absl::GetFlag(FLAGS_message_id));
    req.set_pace(absl::GetFlag(FLAGS_pace));
    if (!absl::GetFlag(FLAGS_session).empty()) {
      v1::SessionType t;
      if (!ParseEnum(v1::SessionType_descriptor(), absl::GetFlag(FLAGS_session), &t)) {
        return Usage(
            "--session: unknown type (text, image, video, audio, document, sticker, "
            "contacts, location, interactive_list, reply_buttons, single_product, multi_product)");
      }
      v1::SessionRef* ses = req.mutable_session();
      ses->set_type(t);
      ses->set_marketing(absl::GetFlag(FLAGS_marketing));
      if (t == v1::TEXT && !absl::GetFlag(FLAGS_text).empty()) {
        ses->mutable_text()->set_body(absl::GetFlag(FLAGS_text));
      } else if (t >= v1::IMAGE && t <= v1::STICKER && !absl::GetFlag(FLAGS_mime).empty()) {
        v1::MediaContent* m = ses->mutable_media();
        m->set_type(t);
        m->set_mime_type(absl::GetFlag(FLAGS_mime));
        m->set_bytes(absl::GetFlag(FLAGS_bytes));
        m->set_caption(absl::GetFlag(FLAGS_caption));
      }
    } else {
      const std::string name = absl::GetFlag(FLAGS_template_name).empty()
                                   ? absl::GetFlag(FLAGS_name)
                                   : absl::GetFlag(FLAGS_template_name);
      req.mutable_template_message()->set_name(name);
      req.mutable_template_message()->set_language(absl::GetFlag(FLAGS_language));
      for (const std::string& p : absl::GetFlag(FLAGS_params)) {
        req.mutable_template_message()->add_parameters(p);
      }
    }
    v1::Decision d;
    grpc::Status s = svc->Check(&ctx, req, &d);
    if (s.ok()) PrintDecision(d);
    return Report(s);
  }
  if (cmd == "event") {
    v1::EventRequest req;
    req.set_business_number(absl::GetFlag(FLAGS_number));
    req.set_customer(absl::GetFlag(FLAGS_customer));
    const std::string type = absl::GetFlag(FLAGS_type);
    if (type == "inbound")
      req.mutable_inbound()->set_text(absl::GetFlag(FLAGS_text));
    else if (type == "delivered")
      req.mutable_delivered();
    else if (type == "failed")
      req.mutable_delivery_failed()->set_error_code(absl::GetFlag(FLAGS_error_code));
    else if (type == "reported")
      req.mutable_reported();
    else if (type == "opt_out")
      req.mutable_opt_out();
    else if (type == "blocked") {
      v1::BlockReason r;
      if (!ParseEnum(v1::BlockReason_descriptor(), absl::GetFlag(FLAGS_reason), &r))
        return Usage("--reason: unknown");
      req.mutable_blocked()->set_reason(r);
    } else if (type == "opt_in") {
      v1::OptInSource src;
      if (!ParseEnum(v1::OptInSource_descriptor(), absl::GetFlag(FLAGS_source), &src))
        return Usage("--source: unknown");
      req.mutable_opt_in()->set_source(src);
      for (const std::string& topic : absl::GetFlag(FLAGS_topics))
        req.mutable_opt_in()->add_topics(topic);
    } else {
      return Usage("--type: inbound, delivered, failed, blocked, reported, opt_in or opt_out");
    }
    if (absl::GetFlag(FLAGS_at) != absl::InfinitePast()) {
      req.set_occurred_at_unix_ms(absl::ToUnixMillis(absl::GetFlag(FLAGS_at)));
    }
    req.set_event_id(absl::GetFlag(FLAGS_event_id));
    req.set_message_id(absl::GetFlag(FLAGS_message_id));
    v1::EventResponse r;
    grpc::Status s = svc->ReportEvent(&ctx, req, &r);
    if (s.ok()) {
      if (absl::GetFlag(FLAGS_json))
        Print(r);
      else
        std::printf("ok%s%s\n",
                    r.delivery_outcome()
                        ? absl::StrCat(" ", v1::DeliveryOutcome_Name(r.delivery_outcome())).c_str()
                        : "",
                    r.opted_out() ? " (opt-out keyword: customer opted out)" : "");
    }
    return Report(s);
  }
  if (cmd == "watch") {
    // A stream without the per-call deadline: it runs until --count or Ctrl-C.
    grpc::ClientContext watch_ctx;
    add_metadata(&watch_ctx);
    auto events = v1::PolicyEvents::NewStub(channel);
    v1::WatchEventsRequest req;
    req.set_from_position(absl::GetFlag(FLAGS_from));
    auto reader = events->WatchEvents(&watch_ctx, req);
    v1::StateEvent e;
    int64_t seen = 0;
    const int64_t count = absl::GetFlag(FLAGS_count);
    while ((count <= 0 || seen < count) && reader->Read(&e)) {
      ++seen;
      if (absl::GetFlag(FLAGS_json)) {
        Print(e);
      } else {
        std::printf("#%llu %s %s (%s) %s%s%s%s: %s\n",
                    static_cast<unsigned long long>(e.position()),
                    absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMillis(e.time_unix_ms()),
                                     absl::UTCTimeZone())
                        .c_str(),
                    e.business_number().c_str(), e.business_id().c_str(), e.kind().c_str(),
                    e.old_value().empty() && e.new_value().empty() ? "" : " ",
                    e.old_value().empty() ? "" : (e.old_value() + " -> ").c_str(),
                    e.new_value().c_str(), e.reason().c_str());
      }
      std::fflush(stdout);
    }
    if (count > 0 && seen >= count) {
      watch_ctx.TryCancel();
      reader->Finish();
      return 0;
    }
    return Report(reader->Finish());
  }
  if (cmd == "state") {
    v1::GetNumberStateRequest req;
    req.set_business_number(absl::GetFlag(FLAGS_number));
    v1::NumberState st;
    grpc::Status s = svc->GetNumberState(&ctx, req, &st);
    if (s.ok()) PrintState(st);
    return Report(s);
  }
  if (cmd == "explain") {
    v1::GetDecisionRequest req;
    req.set_decision_id(args[2]);
    v1::LoggedDecision r;
    grpc::Status s = svc->GetDecision(&ctx, req, &r);
    if (s.ok()) PrintLoggedDecision(r);
    return Report(s);
  }
  if (cmd == "business") {
    v1::UpsertBusinessRequest req;
    req.set_business_id(absl::GetFlag(FLAGS_business));
    req.set_verified(absl::GetFlag(FLAGS_verified));
    req.set_official_business_account(absl::GetFlag(FLAGS_official));
    req.set_shadow(absl::GetFlag(FLAGS_shadow));
    v1::UpsertBusinessResponse r;
    grpc::Status s = admin->UpsertBusiness(&ctx, req, &r);
    if (s.ok()) std::printf("ok\n");
    return Report(s);
  }
  if (cmd == "register") {
    v1::RegisterNumberRequest req;
    req.set_business_number(absl::GetFlag(FLAGS_number));
    req.set_business_id(absl::GetFlag(FLAGS_business));
    if (!absl::GetFlag(FLAGS_current_limit).empty()) {
      int64_t limit;
      if (!absl::SimpleAtoi(absl::GetFlag(FLAGS_current_limit), &limit))
        return Usage("--current_limit: a number (-1 for unlimited)");
      req.set_current_limit(limit);
    }
    v1::RegisterNumberResponse r;
    grpc::Status s = admin->RegisterNumber(&ctx, req, &r);
    if (s.ok()) std::printf("ok\n");
    return Report(s);
  }
  if (cmd == "sync") {
    v1::SyncNumberRequest req;
    req.set_business_number(absl::GetFlag(FLAGS_number));
    auto set_bool = [](const std::string& text, auto setter) {
      if (text.empty()) return true;
      bool b;
      if (!absl::SimpleAtob(text, &b)) return false;
      setter(b);
      return true;
    };
    if (!absl::GetFlag(FLAGS_limit).empty()) {
      int64_t limit;
      if (!absl::SimpleAtoi(absl::GetFlag(FLAGS_limit), &limit))
        return Usage("--limit: a number (-1 for unlimited)");
      req.set_messaging_limit(limit);
    }
    const std::string q = absl::AsciiStrToLower(absl::GetFlag(FLAGS_quality));
    if (q == "green" || q == "high") {
      req.set_quality(v1::HIGH);
    } else if (q == "yellow" || q == "medium") {
      req.set_quality(v1::MEDIUM);
    } else if (q == "red" || q == "low") {
      req.set_quality(v1::LOW);
    } else if (!q.empty()) {
      return Usage("--quality: green, yellow or red");
    }
    if (!set_bool(absl::GetFlag(FLAGS_flagged), [&](bool b) { req.set_flagged(b); }))
      return Usage("--flagged: true or false");
    if (!set_bool(absl::GetFlag(FLAGS_disabled), [&](bool b) { req.set_disabled(b); }))
      return Usage("--disabled: true or false");
    if (!absl::GetFlag(FLAGS_throughput).empty()) {
      int32_t mps;
      if (!absl::SimpleAtoi(absl::GetFlag(FLAGS_throughput), &mps))
        return Usage("--throughput: messages per second");
      req.set_throughput_mps(mps);
    }
    const std::string until = absl::GetFlag(FLAGS_restricted_until);
    if (until == "none") {
      req.set_restricted_until_unix_ms(0);
    } else if (!until.empty()) {
      absl::Time t;
      std::string err;
      if (!absl::ParseTime(absl::RFC3339_full, until, &t, &err))
        return Usage("--restricted_until: an RFC 3339 time or none");
      req.set_restricted_until_unix_ms(absl::ToUnixMillis(t));
    }
    if (absl::GetFlag(FLAGS_at) != absl::InfinitePast()) {
      req.set_occurred_at_unix_ms(absl::ToUnixMillis(absl::GetFlag(FLAGS_at)));
    }
    v1::SyncNumberResponse r;
    grpc::Status s = admin->SyncNumber(&ctx, req, &r);
    if (s.ok()) std::printf("ok\n");
    return Report(s);
  }
  if (cmd == "template") {
    v1::Template t;
    t.set_business_id(absl::GetFlag(FLAGS_business));
    t.set_name(absl::GetFlag(FLAGS_name));
    t.set_language(absl::GetFlag(FLAGS_language));
    v1::TemplateCategory c;
    v1::TemplateStatus st;
    if (!ParseEnum(v1::TemplateCategory_descriptor(), absl::GetFlag(FLAGS_category), &c))
      return Usage("--category: unknown");
    if (!ParseEnum(v1::TemplateStatus_descriptor(), absl::GetFlag(FLAGS_status), &st))
      return Usage("--status: unknown");
    t.set_category(c);
    t.set_status(st);
    t.set_topic(absl::GetFlag(FLAGS_topic));
    if (!absl::GetFlag(FLAGS_header_text).empty()) {
      t.set_header_format(v1::HEADER_TEXT);
      t.set_header_text(absl::GetFlag(FLAGS_header_text));
    }
    t.set_body(absl::GetFlag(FLAGS_body));
    t.set_footer(absl::GetFlag(FLAGS_footer));
    for (const std::string& spec : absl::GetFlag(FLAGS_buttons)) {
      std::vector<std::string> parts = absl::StrSplit(spec, absl::MaxSplits(':', 2));
      v1::TemplateButton* b = t.add_buttons();
      if (parts[0] == "quick" && parts.size() >= 2) {
        b->set_kind(v1::TemplateButton::QUICK_REPLY);
        b->set_text(parts[1]);
      } else if (parts[0] == "url" && parts.size() == 3) {
        b->set_kind(v1::TemplateButton::URL);
        b->set_text(parts[1]);
        b->set_url(parts[2]);
      } else if (parts[0] == "phone" && parts.size() == 3) {
        b->set_kind(v1::TemplateButton::PHONE_NUMBER);
        b->set_text(parts[1]);
        b->set_phone_number(parts[2]);
      } else {
        return Usage(absl::StrCat("--buttons: cannot read '", spec,
                                  "' (quick:TEXT, url:TEXT:URL, phone:TEXT:NUMBER)"));
      }
    }
    v1::PutTemplateResponse r;
    grpc::Status s = admin->PutTemplate(&ctx, t, &r);
    if (s.ok()) std::printf("ok\n");
    return Report(s);
  }
  if (cmd == "untemplate") {
    v1::RemoveTemplateRequest req;
    req.set_business_id(absl::GetFlag(FLAGS_business));
    req.set_name(absl::GetFlag(FLAGS_name));
    req.set_language(absl::GetFlag(FLAGS_language));
    v1::RemoveTemplateResponse r;
    grpc::Status s = admin->RemoveTemplate(&ctx, req, &r);
    if (s.ok()) std::printf("ok\n");
    return Report(s);
  }
  if (cmd == "template-quality") {
    v1::UpdateTemplateQualityRequest req;
    req.set_business_id(absl::GetFlag(FLAGS_business));
    req.set_name(absl::GetFlag(FLAGS_name));
    req.set_language(absl::GetFlag(FLAGS_language));
    const std::string q = absl::GetFlag(FLAGS_template_quality);
    if (!q.empty()) {
      v1::TemplateQuality tq;
      if (!v1::TemplateQuality_Parse(absl::AsciiStrToUpper(q), &tq))
        return Usage("--template_quality: green, yellow, red or template_quality_unknown");
      req.set_quality(tq);
    }
    req.set_unpause(absl::GetFlag(FLAGS_unpause));
    req.set_reinstate(absl::GetFlag(FLAGS_reinstate));
    v1::UpdateTemplateQualityResponse r;
    grpc::Status s = admin->UpdateTemplateQuality(&ctx, req, &r);
    if (s.ok()) std::printf("ok\n");
    return Report(s);
  }
  if (cmd == "advance") {
    v1::AdvanceClockRequest req;
    req.set_seconds(absl::GetFlag(FLAGS_seconds));
    v1::AdvanceClockResponse r;
    grpc::Status s = admin->AdvanceClock(&ctx, req, &r);
    if (s.ok()) {
      if (absl::GetFlag(FLAGS_json))
        Print(r);
      else
        std::printf("now %s\n", When(r.now_unix_ms()).c_str());
    }
    return Report(s);
  }
  if (cmd == "info") {
    v1::GetServerInfoResponse r;
    grpc::Status s = admin->GetServerInfo(&ctx, v1::GetServerInfoRequest(), &r);
    if (s.ok()) Print(r);
    return Report(s);
  }
  return Usage(absl::StrCat("unknown command '", cmd, "'"));
}
