#include "server/alert_hooks.h"

#include <curl/curl.h>

#include <algorithm>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "policy/policy_engine.h"
#include "policy/state_watch.h"
#include "proto/wapolicy/v1/config.pb.h"
#include "server/http/webhook_signature.h"
#include "server/private_file.h"

namespace wapolicy {
namespace {

constexpr size_t kMaxFileBytes = 1 << 20;

std::string CursorKey(const AlertHook& h) { return absl::StrCat("alert/", h.name); }

// The cursor's stored form: the next position to send, decimal.
uint64_t ParseCursor(const std::string& s) {
  uint64_t v = 0;
  return absl::SimpleAtoi(s, &v) ? v : 0;
}

size_t Discard(char*, size_t size, size_t n, void*) { return size * n; }

// POSTs `body`; the HTTP status, or 0 with `error` set when there was no answer.
long Post(const AlertHook& hook, const std::string& body, absl::Duration timeout,
          std::string* error) {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    *error = "curl_easy_init failed";
    return 0;
  }
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/json");
  const std::string signature =
      absl::StrCat(kWebhookSignatureHeader, ": ", SignWebhookBody(hook.secret, body));
  headers = curl_slist_append(headers, signature.c_str());
  headers = curl_slist_append(headers, "User-Agent: wapolicy-alerts/1");
  curl_easy_setopt(curl, CURLOPT_URL, hook.url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(absl::ToInt64Milliseconds(timeout)));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Discard);
  long status = 0;
  const CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  } else {
    *error = curl_easy_strerror(rc);
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return status;
}

}  // namespace

absl::StatusOr<std::vector<AlertHook>> ParseAlertHooks(absl::string_view text) {
  v1::AlertHooksConfig config;
  if (!google::protobuf::TextFormat::ParseFromString(std::string(text), &config)) {
    return absl::InvalidArgumentError("not an AlertHooksConfig in text format");
  }
  absl::flat_hash_set<std::string> known, names;
  for (int k = 1; k <= kStateEventKindMax; ++k) {
    known.insert(std::string(StateEventKindName(static_cast<StateEventKind>(k))));
  }
  std::vector<AlertHook> hooks;
  for (int i = 0; i < config.hook_size(); ++i) {
    const v1::AlertHook& h = config.hook(i);
    const std::string where = absl::StrCat("hook[", i, "]");
    if (h.name().empty()) return absl::InvalidArgumentError(absl::StrCat(where, ".name: empty"));
    if (!names.insert(h.name()).second) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".name: ", h.name(), " is repeated"));
    }
    if (!h.business_id().empty()) {
      if (absl::Status s = ValidateBusinessId(h.business_id()); !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(where, ".business_id: ", s.message()));
      }
    }
    if (!absl::StartsWith(h.url(), "http://") && !absl::StartsWith(h.url(), "https://")) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".url: '", h.url(), "' is not an http:// or https:// URL"));
    }
    if (h.secret().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".secret: empty (bodies are signed)"));
    }
    AlertHook hook{h.name(), h.business_id(), h.url(), h.secret(), {}};
    for (const std::string& k : h.kinds()) {
      if (!known.contains(k)) {
        return absl::InvalidArgumentError(absl::StrCat(where, ".kinds: unknown kind ", k));
      }
      hook.kinds.insert(k);
    }
    hooks.push_back(std::move(hook));
  }
  return hooks;
}

absl::StatusOr<std::vector<AlertHook>> LoadAlertHooks(const std::string& path) {
  absl::StatusOr<std::string> text = ReadPrivateFile(path, kMaxFileBytes, "alert hook secrets");
  if (!text.ok()) return text.status();
  absl::StatusOr<std::vector<AlertHook>> hooks = ParseAlertHooks(*text);
  if (!hooks.ok()) {
    return absl::Status(hooks.status().code(), absl::StrCat(path, ": ", hooks.status().message()));
  }
  return hooks;
}

AlertSender::AlertSender(StateEventLog* events, RecordLog* log, std::vector<AlertHook> hooks,
                         Options options)
    : events_(events), log_(log), hooks_(std::move(hooks)), options_(options) {
  for (size_t i = 0; i < hooks_.size(); ++i) stats_.push_back(std::make_unique<Stats>());
}

void AlertSender::Start() {
  if (hooks_.empty()) return;
  curl_global_init(CURL_GLOBAL_DEFAULT);  // Before the threads: it is not thread-safe.
  for (size_t i = 0; i < hooks_.size(); ++i) threads_.emplace_back([this, i] { Run(i); });
}

void AlertSender::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

void AlertSender::Run(size_t index) {
  const AlertHook& hook = hooks_[index];
  Stats& stats = *stats_[index];
  const Caller caller{hook.business_id.empty(), hook.business_id};
  uint64_t cursor = 0;
  if (absl::StatusOr<std::optional<std::string>> m = log_->GetMark(CursorKey(hook));
      m.ok() && m->has_value()) {
    cursor = ParseCursor(**m);
  }
  if (cursor == 0) cursor = events_->next_position();  // A new hook: from now on.
  uint64_t saved = cursor;
  auto save = [&](uint64_t c) {
    if (c == saved) return;
    if (log_->Append({}, absl::Now(), {{CursorKey(hook), absl::StrCat(c)}}).ok()) saved = c;
  };
  absl::BitGen random;
  absl::Duration backoff = options_.first_backoff;
  while (!stop_.HasBeenNotified()) {
    absl::StatusOr<StateEventLog::Page> page = events_->Read(cursor, options_.max_events, caller);
    if (!page.ok()) {
      stop_.WaitForNotificationWithTimeout(options_.first_backoff);
      continue;
    }
    v1::ListStateEventsResponse body;
    for (v1::StateEvent& e : page->events) {
      if (hook.kinds.empty() || hook.kinds.contains(e.kind())) *body.add_events() = std::move(e);
    }
    if (body.events_size() == 0) {
      cursor = page->next;
      save(cursor);
      if (cursor >= events_->next_position()) {
        events_->WaitFor(cursor, absl::Now() + absl::Milliseconds(200));
      }
      continue;
    }
    body.set_next_position(page->next);
    std::string json;
    google::protobuf::util::JsonPrintOptions print;
    print.always_print_primitive_fields = true;
    (void)google::protobuf::util::MessageToJsonString(body, &json, print);
    std::string error;
    const long status = Post(hook, json, options_.timeout, &error);
    if (status >= 200 && status < 300) {
      stats.delivered.fetch_add(1);
      stats.events.fetch_add(body.events_size());
      cursor = page->next;
      save(cursor);
      backoff = options_.first_backoff;
      continue;
    }
    stats.failed.fetch_add(1);
    if (stats.failed.load() <= 3 || stats.failed.load() % 100 == 0) {
      std::fprintf(stderr, "policy_server: alert hook %s: %s (retrying in about %s)\n",
                   hook.name.c_str(),
                   status == 0 ? error.c_str() : absl::StrCat("HTTP ", status).c_str(),
                   absl::FormatDuration(backoff).c_str());
    }
    // Jittered: between half the back-off and all of it.
    const absl::Duration wait = backoff * absl::Uniform(random, 0.5, 1.0);
    stop_.WaitForNotificationWithTimeout(wait);
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
  save(cursor);
}

}  // namespace wapolicy
