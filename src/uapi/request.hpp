// Frames UAPI requests out of a byte stream: the socket layer feeds whatever
// arrived, in pieces of any size, and takes complete requests out.
//
//   get=1\n\n                      -> Request{kGet}
//   set=1\nkey=value\n...\n\n      -> Request{kSet, "key=value\n..."}
//
// Several requests may follow one another on a connection, as `wg` never does
// but wireguard-go allows. A request larger than the limit, or an operation
// other than get=1 / set=1, is an error: reply with format_errno and close.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "uapi/error.hpp"

namespace tern::uapi {

// Room for thousands of peers in one `wg setconf`, and no more.
inline constexpr size_t kMaxRequestBytes = 1 << 20;

struct Request {
  // kTernStatus: "get=tern-status", tern's extension answered with its status as JSON.
  enum class Operation { kGet, kSet, kTernStatus };
  Operation operation = Operation::kGet;
  std::string body;  // set: the key=value lines, each ending '\n'; get: empty
};

class RequestFramer {
 public:
  explicit RequestFramer(size_t max_request_bytes = kMaxRequestBytes)
      : max_bytes_(max_request_bytes) {}

  // Bytes beyond what a request may hold are not kept: next() reports the overflow.
  void feed(std::string_view bytes);
  // The next complete request; an empty optional while more bytes are needed.
  // After an error every call fails the same way: the connection is done.
  [[nodiscard]] UapiResult<std::optional<Request>> next();

  size_t buffered() const { return buffer_.size(); }

 private:
  UapiResult<std::optional<Request>> frame();

  size_t max_bytes_;
  std::string buffer_;
  size_t scanned_ = 0;  // bytes of buffer_ already searched for the end of a request
  bool overflow_ = false;
  std::optional<UapiError> failed_;
};

}  // namespace tern::uapi
