#include "server/token_authority.h"

#include <openssl/evp.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "policy/policy_engine.h"

namespace wapolicy {

std::string TokenAuthority::HashToken(absl::string_view token) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(token.data(), token.size(), md, &len, EVP_sha256(), nullptr);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(md), len));
}

absl::StatusOr<std::unique_ptr<TokenAuthority>> TokenAuthority::Parse(absl::string_view text) {
  auto auth = std::make_unique<TokenAuthority>();
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    line = absl::StripAsciiWhitespace(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    std::vector<absl::string_view> f =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat("tokens file line ", line_no, ": ", why));
    };
    const std::string hash = absl::AsciiStrToLower(f[0]);
    if (hash.size() != 64 ||
        !std::all_of(hash.begin(), hash.end(), [](char c) { return absl::ascii_isxdigit(c); })) {
      return bad(
          "expected the token's SHA-256 as 64 hex digits (tokens are never stored in clear)");
    }
    Caller c;
    if (f.size() == 2 && f[1] == "admin") {
      c.admin = true;
    } else if (f.size() == 3 && f[1] == "business") {
      if (absl::Status s = ValidateBusinessId(f[2]); !s.ok()) return bad(s.message());
      c.business_id = std::string(f[2]);
    } else {
      return bad("expected '<hash> admin' or '<hash> business <id>'");
    }
    if (!auth->callers_.emplace(hash, c).second) return bad("the same token appears twice");
  }
  return auth;
}

absl::StatusOr<std::unique_ptr<TokenAuthority>> TokenAuthority::LoadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read tokens file ", path));
  std::stringstream text;
  text << in.rdbuf();
  return Parse(text.str());
}

absl::StatusOr<Caller> TokenAuthority::AuthenticateToken(absl::string_view token) const {
  auto it = callers_.find(HashToken(token));
  if (it == callers_.end()) return absl::UnauthenticatedError("unknown token");
  return it->second;
}

absl::StatusOr<Caller> TokenAuthority::Authenticate(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) const {
  auto it = metadata.find("authorization");
  if (it == metadata.end()) {
    return absl::UnauthenticatedError("missing 'authorization: Bearer <token>' metadata");
  }
  absl::string_view value(it->second.data(), it->second.size());
  if (!absl::ConsumePrefix(&value, "Bearer ") || value.empty()) {
    return absl::UnauthenticatedError("authorization metadata must be 'Bearer <token>'");
  }
  return AuthenticateToken(value);
}

}  // namespace wapolicy
