// A message many agent streams send at once (a full map's peer list, a delta), as slices of
// immutable buffers shared by reference: each stream queues the slices and its own write
// offset instead of a copy, so two thousand streams opening at one revision hold one
// serialised peer list between them, not two thousand.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tern::control {

struct SharedText {
  std::shared_ptr<const std::string> text;
  size_t begin = 0;
  size_t end = 0;

  size_t size() const { return end - begin; }
  std::string_view view() const {
    return text ? std::string_view(*text).substr(begin, end - begin) : std::string_view();
  }
};

// One message: its slices in order.
using SharedMessage = std::vector<SharedText>;

// A slice covering all of a new buffer (a stream's own text).
[[nodiscard]] inline SharedText own_text(std::string text) {
  auto p = std::make_shared<const std::string>(std::move(text));
  const size_t n = p->size();
  return SharedText{std::move(p), 0, n};
}
[[nodiscard]] inline SharedText whole(std::shared_ptr<const std::string> text) {
  const size_t n = text ? text->size() : 0;
  return SharedText{std::move(text), 0, n};
}

[[nodiscard]] inline size_t message_size(const SharedMessage& m) {
  size_t n = 0;
  for (const auto& part : m)
    n += part.size();
  return n;
}
// The message as one string (tests, logs).
[[nodiscard]] inline std::string joined(const SharedMessage& m) {
  std::string out;
  out.reserve(message_size(m));
  for (const auto& part : m)
    out.append(part.view());
  return out;
}

}  // namespace tern::control
