// Reads a file that holds secrets (webhook app secrets, alert hook secrets):
// refused unless it is a regular file, readable by its owner only (mode
// 0600 or stricter) and owned by this server's user, checked on the open
// file so that what is checked is what is read.
//
//   absl::StatusOr<std::string> text = ReadPrivateFile(path, /*max_bytes=*/1 << 20, "app secrets");
#ifndef WAPOLICY_SERVER_PRIVATE_FILE_H_
#define WAPOLICY_SERVER_PRIVATE_FILE_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace wapolicy {

// NOT_FOUND if it does not exist; FAILED_PRECONDITION naming the path and
// what is wrong otherwise (`holds` says what it holds, for the message).
absl::StatusOr<std::string> ReadPrivateFile(const std::string& path, size_t max_bytes,
                                            absl::string_view holds);

}  // namespace wapolicy

#endif  // WAPOLICY_SERVER_PRIVATE_FILE_H_
