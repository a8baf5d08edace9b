// Who is calling policy_server: bearer tokens checked against a file of their
// SHA-256 hashes (--tokens_file), each token an admin or one business.
//
//   absl::StatusOr<std::unique_ptr<TokenAuthority>> auth = TokenAuthority::LoadFile(path);
//   if (!auth.ok()) return Fail(std::string(auth.status().message()));
//   absl::StatusOr<Caller> caller = (*auth)->Authenticate(ctx->client_metadata());
//   if (caller.ok() && !caller->admin) { /* only caller->business_id's numbers */ }
#ifndef WAPOLICY_SERVER_TOKEN_AUTHORITY_H_
#define WAPOLICY_SERVER_TOKEN_AUTHORITY_H_

#include <map>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/support/string_ref.h"

namespace wapolicy {

// Who is calling: an operator with every right, or one business (its own
// numbers only, no admin calls).
struct Caller {
  bool admin = false;
  std::string business_id;
  // The business the call says it is for (its x-wapolicy-business header;
  // empty: not sent), set by BusinessRoute::Name (server/business_route.h)
  // once checked against the token. Not an identity: it routes.
  std::string routed_business;
};

// The callers' tokens, read from a file at start and kept only as SHA-256
// hashes. A caller presents `authorization: Bearer <token>` in gRPC metadata.
//
// File format, one token a line ('#' starts a comment):
//   <sha256 of the token, 64 hex digits> admin
//   <sha256 of the token, 64 hex digits> business <business id>
// `policyctl hash-token --token=...` prints a token's hash.
class TokenAuthority {
 public:
  static absl::StatusOr<std::unique_ptr<TokenAuthority>> Parse(absl::string_view text);
  static absl::StatusOr<std::unique_ptr<TokenAuthority>> LoadFile(const std::string& path);

  // UNAUTHENTICATED if no token was presented or it is unknown.
  absl::StatusOr<Caller> Authenticate(
      const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) const;
  absl::StatusOr<Caller> AuthenticateToken(absl::string_view token) const;

  static std::string HashToken(absl::string_view token);  // Lower-case hex SHA-256.
  size_t size() const { return callers_.size(); }

 private:
  absl::flat_hash_map<std::string, Caller> callers_;  // By token hash.
};

}  // namespace wapolicy

#endif  // WAPOLICY_SERVER_TOKEN_AUTHORITY_H_
