// Policy-routing rules over rtnetlink: RTM_NEWRULE / RTM_DELRULE with a struct fib_rule_hdr
// and FRA_* attributes, as `ip rule add` / `ip rule del` send them.
#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>

#include <fmt/core.h>

#include "io/netlink.hpp"
#include "io/netlink_conn.hpp"

namespace tern::io {
namespace {

nlmsghdr* rule_message(detail::Conn& conn, uint16_t type, uint16_t flags, const RoutingRule& rule) {
  auto [nlh, frh] = detail::start_request<fib_rule_hdr>(conn, type, flags);
  frh->family = detail::family_of(rule.family);
  frh->action = FR_ACT_TO_TBL;
  // Table ids above 255 fit only in FRA_TABLE; the header then says RT_TABLE_UNSPEC.
  frh->table = static_cast<uint8_t>(rule.table < 256 ? rule.table : uint32_t{RT_TABLE_UNSPEC});
  frh->flags = rule.invert ? FIB_RULE_INVERT : 0;
  mnl_attr_put_u32(nlh, FRA_TABLE, rule.table);
  // Without FRA_FWMASK the kernel compares all 32 bits of the mark.
  if (rule.fwmark) mnl_attr_put_u32(nlh, FRA_FWMARK, *rule.fwmark);
  if (rule.suppress_prefixlength) {
    mnl_attr_put_u32(nlh, FRA_SUPPRESS_PREFIXLEN, *rule.suppress_prefixlength);
  }
  if (rule.priority) mnl_attr_put_u32(nlh, FRA_PRIORITY, *rule.priority);
  return nlh;
}

int on_rule_attr(const nlattr* attr, void* data) {
  if (mnl_attr_get_type(attr) == FRA_PRIORITY && mnl_attr_validate(attr, MNL_TYPE_U32) == 0) {
    static_cast<RoutingRule*>(data)->priority = mnl_attr_get_u32(attr);
  }
  return MNL_CB_OK;
}

// The kernel's echo of the rule just added (NLM_F_ECHO): it carries the chosen priority.
int on_rule(const nlmsghdr* nlh, void* data) {
  if (nlh->nlmsg_type == RTM_NEWRULE && nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(fib_rule_hdr))) {
    mnl_attr_parse(nlh, sizeof(fib_rule_hdr), on_rule_attr,
                   static_cast<detail::Reply*>(data)->user);
  }
  return MNL_CB_OK;
}

}  // namespace

std::string RoutingRule::to_string() const {
  std::string text = family == IpAddress::Family::kV4 ? "IPv4 rule `" : "IPv6 rule `";
  if (priority) text += fmt::format("{}: ", *priority);
  if (invert) text += "not ";
  if (fwmark) text += fmt::format("fwmark {:#x} ", *fwmark);
  text += table == kMainTable ? std::string("lookup main") : fmt::format("lookup {}", table);
  if (suppress_prefixlength)
    text += fmt::format(" suppress_prefixlength {}", *suppress_prefixlength);
  return text + "`";
}

Result<RoutingRule> Netlink::add_rule(const RoutingRule& rule) {
  nlmsghdr* nlh =
      rule_message(impl_->conn, RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO, rule);
  RoutingRule added = rule;
  detail::Reply reply;
  reply.user = &added;
  auto st = detail::transact(impl_->conn, nlh, on_rule, reply, "adding " + rule.to_string());
  if (!st) return tl::unexpected(st.error());
  return added;
}

Status Netlink::delete_rule(const RoutingRule& rule) {
  nlmsghdr* nlh = rule_message(impl_->conn, RTM_DELRULE, 0, rule);
  return detail::simple_request(impl_->conn, nlh, "deleting " + rule.to_string(), ENOENT);
}

}  // namespace tern::io
