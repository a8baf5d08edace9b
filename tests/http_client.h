// A small HTTP client for tests and benchmarks (libcurl's easy interface): one
// keep-alive connection, a request with headers and a body, the status, the
// response headers and body back.
//
//   HttpClient http("http://127.0.0.1:" + std::to_string(server.http_port()));
//   HttpClient::Response r = http.Post("/v1/check", R"({"businessNumber":"+1..."})");
//   EXPECT_EQ(r.status, 200);
#ifndef WAPOLICY_TESTS_HTTP_CLIENT_H_
#define WAPOLICY_TESTS_HTTP_CLIENT_H_

#include <curl/curl.h>

#include <string>
#include <utility>
#include <vector>

namespace wapolicy {

class HttpClient {
 public:
  struct Response {
    long status = 0;  // 0: no answer (connection refused, reset...).
    std::string body;
    std::string headers;  // Raw header lines.
    std::string error;    // curl's message when status is 0.
  };

  // `base` like "http://127.0.0.1:8080"; `ca_file`: trust this PEM for https.
  explicit HttpClient(std::string base, std::string ca_file = "")
      : base_(std::move(base)), ca_file_(std::move(ca_file)) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    curl_ = curl_easy_init();
  }
  ~HttpClient() { curl_easy_cleanup(curl_); }
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  Response Get(const std::string& path, const std::vector<std::string>& headers = {}) {
    return Send("GET", path, "", headers);
  }
  Response Post(const std::string& path, const std::string& body,
                const std::vector<std::string>& headers = {}) {
    return Send("POST", path, body, headers);
  }

  Response Send(const std::string& method, const std::string& path, const std::string& body,
                std::vector<std::string> headers) {
    Response r;
    const std::string url = base_ + path;
    curl_easy_reset(curl_);  // Keeps the connection cache.
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, method.c_str());
    if (method != "GET") {
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.data());
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    }
    headers.push_back("Content-Type: application/json");
    headers.push_back("Expect:");  // No 100-continue round trip.
    curl_slist* list = nullptr;
    for (const std::string& h : headers) list = curl_slist_append(list, h.c_str());
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &Append);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, &Append);
    curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &r.headers);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    if (!ca_file_.empty()) curl_easy_setopt(curl_, CURLOPT_CAINFO, ca_file_.c_str());
    const CURLcode rc = curl_easy_perform(curl_);
    if (rc == CURLE_OK) {
      curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &r.status);
    } else {
      r.error = curl_easy_strerror(rc);
    }
    curl_slist_free_all(list);
    return r;
  }

 private:
  static size_t Append(char* data, size_t size, size_t n, void* out) {
    static_cast<std::string*>(out)->append(data, size * n);
    return size * n;
  }
  std::string base_;
  std::string ca_file_;
  CURL* curl_;
};

}  // namespace wapolicy

#endif  // WAPOLICY_TESTS_HTTP_CLIENT_H_
