#include "server/portfolio_gate.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace wapolicy {
namespace {

// Status payloads (absl::Status::SetPayload); never sent as they are: the
// doors turn them into metadata and headers (server/business_route.h).
constexpr char kOwnerPayload[] = "type.wapolicy/wapolicy.PortfolioOwner";
constexpr char kOwnerHttpPayload[] = "type.wapolicy/wapolicy.PortfolioOwnerHttp";
constexpr char kRetryPayload[] = "type.wapolicy/wapolicy.PortfolioRetryAfterMs";

}  // namespace

const SingleNodeGate* SingleNodeGate::Get() {
  static const SingleNodeGate* const gate = new SingleNodeGate();
  return gate;
}

absl::Status NotOwnerError(absl::string_view business, absl::string_view owner_address) {
  absl::Status s = absl::FailedPreconditionError(
      absl::StrCat("x-wapolicy-business: business '", business,
                   "' is not served by this node; its owner is ", owner_address));
  s.SetPayload(kOwnerPayload, absl::Cord(owner_address));
  return s;
}

absl::Status NotOwnerError(absl::string_view business, absl::string_view owner_address,
                           absl::string_view owner_http_address) {
  absl::Status s = NotOwnerError(business, owner_address);
  if (!owner_http_address.empty()) s.SetPayload(kOwnerHttpPayload, absl::Cord(owner_http_address));
  return s;
}

absl::Status NodeNotServingError(absl::string_view why, absl::Duration retry_after) {
  const int64_t ms = std::max<int64_t>(0, absl::ToInt64Milliseconds(retry_after));
  absl::Status s = absl::UnavailableError(
      absl::StrCat("this node decides for no business now: ", why, "; retry after ", ms, " ms"));
  s.SetPayload(kRetryPayload, absl::Cord(absl::StrCat(ms)));
  return s;
}

absl::Status PortfolioMovingError(absl::string_view business, absl::Duration retry_after) {
  const int64_t ms = std::max<int64_t>(0, absl::ToInt64Milliseconds(retry_after));
  absl::Status s =
      absl::UnavailableError(absl::StrCat("x-wapolicy-business: business '", business,
                                          "' is moving between nodes; retry after ", ms, " ms"));
  s.SetPayload(kRetryPayload, absl::Cord(absl::StrCat(ms)));
  return s;
}

std::optional<std::string> OwnerAddressOf(const absl::Status& s) {
  auto p = s.GetPayload(kOwnerPayload);
  if (!p) return std::nullopt;
  return std::string(*p);
}

std::optional<std::string> OwnerHttpAddressOf(const absl::Status& s) {
  auto p = s.GetPayload(kOwnerHttpPayload);
  if (!p) return std::nullopt;
  return std::string(*p);
}

std::optional<absl::Duration> RetryAfterOf(const absl::Status& s) {
  auto p = s.GetPayload(kRetryPayload);
  int64_t ms = 0;
  if (!p || !absl::SimpleAtoi(std::string(*p), &ms)) return std::nullopt;
  return absl::Milliseconds(ms);
}

}  // namespace wapolicy
