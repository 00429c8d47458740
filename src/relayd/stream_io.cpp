#include "relayd/stream_io.hpp"

#include <sys/socket.h>

#include <cerrno>

#include "relayd/tls_context.hpp"

namespace tern::relayd {

StreamIo::StreamIo() = default;
StreamIo::~StreamIo() = default;
StreamIo::StreamIo(StreamIo&&) noexcept = default;
StreamIo& StreamIo::operator=(StreamIo&&) noexcept = default;

Result<StreamIo> StreamIo::make(io::UniqueFd fd, const TlsContext* tls) {
  StreamIo s;
  s.raw_fd_ = fd.get();
  if (tls) {
    auto session = tls->accept(std::move(fd));
    if (!session) return fail(session.error().message);
    s.tls_ = std::move(*session);
  } else {
    s.fd_ = std::move(fd);
  }
  return s;
}

StreamIo::Outcome StreamIo::read(MutableBytes into) {
  if (tls_) return tls_->read(into);
  ssize_t n = ::recv(fd_.get(), into.data(), into.size(), MSG_DONTWAIT);
  if (n > 0) return {kOk, static_cast<size_t>(n)};
  if (n == 0) return {kClosed};
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return {kWouldBlock};
  return {kError};
}

StreamIo::Outcome StreamIo::write(Bytes data) {
  if (tls_) return tls_->write(data);
  ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  if (n >= 0) return {kOk, static_cast<size_t>(n)};
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return {kWouldBlock};
  return {kError};
}

bool StreamIo::wants_write() const {
  return tls_ && tls_->wants_write();
}

}  // namespace tern::relayd
