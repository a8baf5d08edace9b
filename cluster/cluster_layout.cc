#include "cluster/cluster_layout.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"

namespace wapolicy::cluster {

ClusterLayout::ClusterLayout(std::string prefix) : prefix_(std::move(prefix)) {
  while (absl::EndsWith(prefix_, "/")) prefix_.pop_back();
}

std::string ClusterLayout::MemberKey(absl::string_view node_id) const {
  return absl::StrCat(MembersPrefix(), node_id);
}

std::string ClusterLayout::RingNodeKey(absl::string_view node_id) const {
  return absl::StrCat(RingPrefix(), node_id);
}

std::string ClusterLayout::PortfolioKey(absl::string_view business) const {
  return absl::StrCat(PortfoliosPrefix(), business);
}

ClusterKey ClusterLayout::Parse(absl::string_view key) const {
  struct Section {
    std::string prefix;
    ClusterKey::Kind kind;
  };
  for (const Section& s : {Section{MembersPrefix(), ClusterKey::kMember},
                           Section{RingPrefix(), ClusterKey::kRingNode},
                           Section{PortfoliosPrefix(), ClusterKey::kPortfolio}}) {
    if (absl::StartsWith(key, s.prefix) && key.size() > s.prefix.size()) {
      return {s.kind, std::string(key.substr(s.prefix.size()))};
    }
  }
  return {};
}

std::string EncodeValue(const google::protobuf::Message& value) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(value, &json, options);
  return json;
}

absl::Status DecodeValue(absl::string_view json, google::protobuf::Message* out) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status =
      google::protobuf::util::JsonStringToMessage(std::string(json), out, options);
  if (!status.ok()) {
    return absl::DataLossError(absl::StrCat("bad ", out->GetTypeName(), " value: ",
                                            std::string(status.message())));
  }
  return absl::OkStatus();
}

}  // namespace wapolicy::cluster
