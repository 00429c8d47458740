// libFuzzer target for the metrics endpoint's request parser (relayd/http_request.hpp):
// any bytes a client sends, whole or cut short. It must never read outside the
// input, and what it accepts must hold: views into the request line, a token
// method, an origin-form path without its query, a head within kMaxHttpHead.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "relayd/http_request.hpp"

namespace {

using tern::relayd::HttpParse;
using tern::relayd::HttpRequestLine;
using tern::relayd::kMaxHttpHead;
using tern::relayd::parse_http_head;

void require(bool ok) {
  if (!ok) std::abort();
}

bool inside(std::string_view part, std::string_view whole) {
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

void check(std::string_view in) {
  HttpRequestLine line;
  const HttpParse r = parse_http_head(in, line);
  const bool ended =
      in.find("\r\n\r\n") != std::string_view::npos || in.find("\n\n") != std::string_view::npos;
  switch (r) {
    case HttpParse::kIncomplete:
      require(!ended && in.size() < kMaxHttpHead);
      break;
    case HttpParse::kTooLarge:
      require(in.size() >= kMaxHttpHead);
      break;
    case HttpParse::kBad:
      require(ended);
      break;
    case HttpParse::kOk: {
      require(ended);
      const std::string_view first = in.substr(0, in.find('\n'));
      require(inside(line.method, first) && inside(line.target, first));
      require(line.method.data() == in.data() && !line.method.empty());
      for (char c : line.method)
        require(tern::relayd::http_detail::is_token_char(c));
      require(!line.target.empty() && line.target.front() == '/');
      require(line.target.find('?') == std::string_view::npos);
      for (char c : line.target)
        require(tern::relayd::http_detail::is_target_char(c));
      // The same request again gives the same answer (nothing is kept between calls).
      HttpRequestLine again;
      require(parse_http_head(in, again) == HttpParse::kOk);
      require(again.method == line.method && again.target == line.target);
      break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  check(in);
  // As the endpoint sees it while the head arrives: every cut of the input.
  if (size > 0) check(in.substr(0, size / 2));
  return 0;
}
