// libFuzzer target for the control API's HTTP/1.1 request parser (control/http.hpp):
// any bytes a client sends, whole or cut short. What it accepts must hold together: the
// consumed length within the input, a body of exactly Content-Length within kMaxBody, a
// path starting with '/', and bytes after the request (the next one) changing nothing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "control/http.hpp"

namespace {

using tern::control::HttpParse;
using tern::control::HttpRequest;
using tern::control::parse_http_request;

void require(bool ok) {
  if (!ok) std::abort();
}

void check(std::string_view in) {
  HttpRequest r;
  const auto p = parse_http_request(in, r);
  require(p.consumed <= in.size());
  if (p.result != HttpParse::kOk) {
    require(p.consumed == 0);
    return;
  }
  require(!r.method.empty() && !r.path.empty() && r.path.front() == '/');
  require(r.body.size() <= tern::control::kMaxBody);
  require(r.headers.size() <= tern::control::kMaxHeaders);
  if (auto cl = r.header("content-length"))
    require(std::to_string(r.body.size()) == *cl || cl->find_first_not_of('0') != 0);
  require(in.substr(p.consumed - r.body.size(), r.body.size()) == r.body);
  // A pipelined request after this one does not change how this one reads.
  std::string more(in.substr(0, p.consumed));
  more += "GET / HTTP/1.1\r\n\r\n";
  HttpRequest again;
  const auto q = parse_http_request(more, again);
  require(q.result == HttpParse::kOk && q.consumed == p.consumed);
  require(again.method == r.method && again.path == r.path && again.body == r.body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  check(in);
  if (size > 0) check(in.substr(0, size / 2));
  return 0;
}
