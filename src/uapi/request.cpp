#include "uapi/request.hpp"

namespace tern::uapi {
namespace {

constexpr std::string_view kSet = "set=1\n";

// Operations that are one line followed by the empty line.
struct LineOperation {
  std::string_view line;
  Request::Operation operation;
};
constexpr LineOperation kLineOperations[] = {
    {"get=1\n", Request::Operation::kGet},
    {"get=tern-status\n", Request::Operation::kTernStatus},  // tern's own: JSON status
};

bool starts_like(std::string_view buffer, std::string_view line) {
  const size_t n = std::min(buffer.size(), line.size());
  return buffer.substr(0, n) == line.substr(0, n);
}

}  // namespace

void RequestFramer::feed(std::string_view bytes) {
  if (failed_ || overflow_) return;  // after a gap the stream cannot be framed again
  // A little beyond the limit is kept, so that a request exactly at it still frames.
  const size_t room = max_bytes_ + 2 > buffer_.size() ? max_bytes_ + 2 - buffer_.size() : 0;
  if (bytes.size() > room) overflow_ = true;
  buffer_.append(bytes.substr(0, room));
}

UapiResult<std::optional<Request>> RequestFramer::next() {
  if (failed_) return tl::unexpected(*failed_);
  auto result = frame();
  // Requests wholly before the dropped bytes are good; the one cut by them is not.
  if (result && !*result && overflow_) {
    failed_ = UapiError{EMSGSIZE, "request larger than " + std::to_string(max_bytes_) + " bytes"};
  }
  if (failed_) {
    buffer_.clear();
    return tl::unexpected(*failed_);
  }
  return result;
}

UapiResult<std::optional<Request>> RequestFramer::frame() {
  auto failure = [&](int errno_value, std::string message) {
    failed_ = UapiError{errno_value, std::move(message)};
    return tl::unexpected(*failed_);
  };

  // The operation line: checked as soon as its bytes are in, so that garbage
  // fails at once rather than after a megabyte.
  const std::string_view buffered(buffer_);
  if (!starts_like(buffered, kSet)) {
    bool maybe = false;
    for (const auto& op : kLineOperations) {
      if (!starts_like(buffered, op.line)) continue;
      maybe = true;
      if (buffered.size() < op.line.size()) continue;
      // wireguard-go wants the empty line right after the operation.
      if (buffered.size() == op.line.size()) return std::optional<Request>();
      if (buffered[op.line.size()] != '\n') {
        return failure(EINVAL, std::string(op.line.substr(0, op.line.size() - 1)) +
                                   " is not followed by an empty line");
      }
      buffer_.erase(0, op.line.size() + 1);
      scanned_ = 0;
      return std::optional<Request>(Request{op.operation, {}});
    }
    if (!maybe) return failure(EINVAL, "unknown operation; expected get=1 or set=1");
    return std::optional<Request>();
  }
  if (buffered.size() < kSet.size()) return std::optional<Request>();

  // set: the body ends at the first empty line, i.e. a '\n' right after a '\n'
  // (the operation line's own '\n' counts, for an empty body).
  size_t from = std::max(scanned_, kSet.size());
  for (size_t i = from; i < buffer_.size(); ++i) {
    if (buffer_[i] == '\n' && buffer_[i - 1] == '\n') {
      Request r{Request::Operation::kSet, buffer_.substr(kSet.size(), i - kSet.size())};
      buffer_.erase(0, i + 1);
      scanned_ = 0;
      return std::optional<Request>(std::move(r));
    }
  }
  scanned_ = buffer_.size();
  if (buffer_.size() > max_bytes_) {
    return failure(EMSGSIZE, "request larger than " + std::to_string(max_bytes_) + " bytes");
  }
  return std::optional<Request>();
}

}  // namespace tern::uapi
