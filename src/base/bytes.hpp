// Bounds-checked reading and writing of byte buffers. Every parser of network
// input reads through ByteReader: a read past the end fails, it never overruns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>

namespace tern {

using Bytes = std::span<const uint8_t>;
using MutableBytes = std::span<uint8_t>;

class ByteReader {
 public:
  explicit ByteReader(Bytes data) : data_(data) {}

  size_t remaining() const { return data_.size() - pos_; }
  size_t position() const { return pos_; }
  bool empty() const { return remaining() == 0; }

  std::optional<uint8_t> u8() {
    if (remaining() < 1) return std::nullopt;
    return data_[pos_++];
  }
  std::optional<uint16_t> u16_be() {
    if (remaining() < 2) return std::nullopt;
    uint16_t v = static_cast<uint16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
    pos_ += 2;
    return v;
  }
  std::optional<uint32_t> u32_be() {
    if (remaining() < 4) return std::nullopt;
    uint32_t v = (uint32_t{data_[pos_]} << 24) | (uint32_t{data_[pos_ + 1]} << 16) |
                 (uint32_t{data_[pos_ + 2]} << 8) | uint32_t{data_[pos_ + 3]};
    pos_ += 4;
    return v;
  }
  std::optional<uint32_t> u32_le() {
    if (remaining() < 4) return std::nullopt;
    uint32_t v = uint32_t{data_[pos_]} | (uint32_t{data_[pos_ + 1]} << 8) |
                 (uint32_t{data_[pos_ + 2]} << 16) | (uint32_t{data_[pos_ + 3]} << 24);
    pos_ += 4;
    return v;
  }
  std::optional<uint64_t> u64_le() {
    auto lo = u32_le();
    if (!lo) return std::nullopt;
    auto hi = u32_le();
    if (!hi) return std::nullopt;
    return (uint64_t{*hi} << 32) | *lo;
  }
  std::optional<Bytes> take(size_t n) {
    if (remaining() < n) return std::nullopt;
    Bytes out = data_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  Bytes rest() {
    Bytes out = data_.subspan(pos_);
    pos_ = data_.size();
    return out;
  }

 private:
  Bytes data_;
  size_t pos_ = 0;
};

// Writes into a caller-owned buffer; ok() turns false on the first write that
// would not fit, and nothing is written past the end.
class ByteWriter {
 public:
  explicit ByteWriter(MutableBytes out) : out_(out) {}

  bool ok() const { return ok_; }
  size_t size() const { return pos_; }
  Bytes written() const { return Bytes(out_.data(), pos_); }

  void u8(uint8_t v) { put(&v, 1); }
  void u16_be(uint16_t v) {
    uint8_t b[2] = {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
    put(b, 2);
  }
  void u32_be(uint32_t v) {
    uint8_t b[4] = {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
                    static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
    put(b, 4);
  }
  void u32_le(uint32_t v) {
    uint8_t b[4] = {static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8),
                    static_cast<uint8_t>(v >> 16), static_cast<uint8_t>(v >> 24)};
    put(b, 4);
  }
  void u64_le(uint64_t v) {
    u32_le(static_cast<uint32_t>(v));
    u32_le(static_cast<uint32_t>(v >> 32));
  }
  void bytes(Bytes b) { put(b.data(), b.size()); }
  void zeros(size_t n) {
    if (!reserve(n)) return;
    std::memset(out_.data() + pos_, 0, n);
    pos_ += n;
  }

 private:
  bool reserve(size_t n) {
    if (!ok_ || out_.size() - pos_ < n) {
      ok_ = false;
      return false;
    }
    return true;
  }
  void put(const uint8_t* p, size_t n) {
    if (!reserve(n)) return;
    if (n) std::memcpy(out_.data() + pos_, p, n);
    pos_ += n;
  }

  MutableBytes out_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace tern
