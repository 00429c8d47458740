// Configuring the TUN interface over rtnetlink (libmnl): link state, MTU, addresses and
// routes. Each call sends one request and waits for its ACK, so an error names what failed.
// Works in whatever network namespace the process is in.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/ip.hpp"
#include "base/result.hpp"

namespace tern::io {

class Netlink {
 public:
  [[nodiscard]] static Result<Netlink> open();
  ~Netlink();
  Netlink(Netlink&&) noexcept;
  Netlink& operator=(Netlink&&) noexcept;

  [[nodiscard]] Result<int> link_index(const std::string& ifname);
  [[nodiscard]] Status set_mtu(int ifindex, uint32_t mtu);
  [[nodiscard]] Status set_up(int ifindex);
  // IPv6 addresses get IFA_F_NODAD, so they are usable at once. Adding an address the
  // interface already has is not an error.
  [[nodiscard]] Status add_address(int ifindex, const IpPrefix& prefix);
  // A route to dst (host bits cleared) through the interface: main table, scope link,
  // RTPROT_BOOT. An identical existing route is not an error.
  [[nodiscard]] Status add_route(int ifindex, const IpPrefix& dst);
  // Deleting a route that does not exist is not an error.
  [[nodiscard]] Status delete_route(int ifindex, const IpPrefix& dst);
  [[nodiscard]] Status delete_link(int ifindex);

 private:
  struct Impl;
  explicit Netlink(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tern::io
