#include <algorithm>
#include <cstring>

#include "io/sockaddr.hpp"
#include "io/udp_batch_headers.hpp"
#include "io/udp_socket.hpp"

namespace tern::io {

RecvBatch::RecvBatch(size_t count, size_t buffer_size)
    : buffer_size_(std::max<size_t>(buffer_size, 1)), headers_(std::make_unique<Headers>()) {
  count = std::clamp<size_t>(count, 1, kMaxBatch);
  buffers_.resize(count * buffer_size_);
  lens_.resize(count);
  truncated_.resize(count);
  segment_sizes_.resize(count);
  headers_->msgs.resize(count);
  headers_->iovs.resize(count);
  headers_->names.resize(count);
  headers_->controls.resize(count);
  for (size_t i = 0; i < count; ++i) {
    headers_->iovs[i] = iovec{buffers_.data() + i * buffer_size_, buffer_size_};
    std::memset(&headers_->msgs[i], 0, sizeof(mmsghdr));
    headers_->msgs[i].msg_hdr.msg_iov = &headers_->iovs[i];
    headers_->msgs[i].msg_hdr.msg_iovlen = 1;
    headers_->msgs[i].msg_hdr.msg_name = &headers_->names[i];
  }
}

// Moving the vectors keeps their storage, so the iovec and msg_name pointers stay valid.
RecvBatch::~RecvBatch() = default;
RecvBatch::RecvBatch(RecvBatch&&) noexcept = default;
RecvBatch& RecvBatch::operator=(RecvBatch&&) noexcept = default;

Endpoint RecvBatch::from(size_t i) const {
  return from_sockaddr(headers_->names[i]);
}

SendBatch::SendBatch(size_t capacity) : headers_(std::make_unique<Headers>()) {
  capacity = std::clamp<size_t>(capacity, 1, kMaxBatch);
  to_.resize(capacity);
  data_.resize(capacity);
  errors_.resize(capacity);
  headers_->msgs.resize(capacity);
  headers_->iovs.resize(capacity);
  headers_->names.resize(capacity);
  headers_->controls.resize(capacity);
  headers_->first.resize(capacity);
  headers_->count.resize(capacity);
}

SendBatch::~SendBatch() = default;
SendBatch::SendBatch(SendBatch&&) noexcept = default;
SendBatch& SendBatch::operator=(SendBatch&&) noexcept = default;

bool SendBatch::add(const Endpoint& to, Bytes data) {
  if (full()) return false;
  to_[size_] = to;
  data_[size_] = data;
  errors_[size_] = 0;
  ++size_;
  return true;
}

void SendBatch::clear() {
  size_ = 0;
}

}  // namespace tern::io
