#include <string>

#include "relayd/prometheus_text.hpp"
#include "relayd/stream_server.hpp"

namespace tern::relayd {
namespace {

void sample(std::string& out, std::string_view name, const StreamStats& s, std::string_view extra,
            uint64_t value) {
  std::string labels = "transport=\"";
  labels += relay::transport_name(s.transport);
  labels += '"';
  labels += extra;
  append_sample(out, name, labels, value);
}

}  // namespace

StreamStats& StreamStats::operator+=(const StreamStats& o) {
  connections += o.connections;
  counters.accepted += o.counters.accepted;
  counters.refused += o.counters.refused;
  counters.closed_idle += o.counters.closed_idle;
  counters.closed_framing += o.counters.closed_framing;
  counters.closed_tls += o.counters.closed_tls;
  counters.dropped_frames += o.counters.dropped_frames;
  return *this;
}

std::string stream_metrics_text(std::initializer_list<const StreamStats*> servers) {
  std::string out;
  bool any = false;
  for (const auto* s : servers)
    any = any || s;
  if (!any) return out;
  append_family(out, "tern_relay_connections", "gauge", "TCP and TLS client connections open.");
  for (const auto* s : servers) {
    if (s) sample(out, "tern_relay_connections", *s, "", s->connections);
  }
  append_family(out, "tern_relay_connections_total", "counter",
                "TCP and TLS connections accepted.");
  for (const auto* s : servers) {
    if (s) sample(out, "tern_relay_connections_total", *s, "", s->counters.accepted);
  }
  append_family(out, "tern_relay_connections_closed_total", "counter",
                "Connections the relay closed: refused over --max-connections, idle, out of step "
                "(not STUN or ChannelData, or a frame too large), or a failed TLS handshake.");
  for (const auto* s : servers) {
    if (!s) continue;
    const StreamCounters& c = s->counters;
    sample(out, "tern_relay_connections_closed_total", *s, ",reason=\"refused\"", c.refused);
    sample(out, "tern_relay_connections_closed_total", *s, ",reason=\"idle\"", c.closed_idle);
    sample(out, "tern_relay_connections_closed_total", *s, ",reason=\"framing\"", c.closed_framing);
    sample(out, "tern_relay_connections_closed_total", *s, ",reason=\"tls\"", c.closed_tls);
  }
  append_family(
      out, "tern_relay_stream_dropped_total", "counter",
      "Frames for a connection dropped whole: its output queue was full or it had closed.");
  for (const auto* s : servers) {
    if (s) sample(out, "tern_relay_stream_dropped_total", *s, "", s->counters.dropped_frames);
  }
  return out;
}

}  // namespace tern::relayd
