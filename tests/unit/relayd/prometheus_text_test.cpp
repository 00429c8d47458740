#include "relayd/prometheus_text.hpp"

#include <gtest/gtest.h>

#include "relayd/stream_server.hpp"

namespace tern::relayd {
namespace {

TEST(PrometheusText, FamilySampleAndMetric) {
  std::string out;
  append_metric(out, "tern_relay_truncated_total", "counter", "Datagrams too large.", 7);
  append_family(out, "tern_relay_loop_allocations", "gauge", "Allocations per loop.");
  append_sample(out, "tern_relay_loop_allocations", "loop=\"0\"", 3);
  append_sample(out, "tern_relay_loop_allocations", "loop=\"1\"", 18446744073709551615u);
  EXPECT_EQ(out,
            "# HELP tern_relay_truncated_total Datagrams too large.\n"
            "# TYPE tern_relay_truncated_total counter\n"
            "tern_relay_truncated_total 7\n"
            "# HELP tern_relay_loop_allocations Allocations per loop.\n"
            "# TYPE tern_relay_loop_allocations gauge\n"
            "tern_relay_loop_allocations{loop=\"0\"} 3\n"
            "tern_relay_loop_allocations{loop=\"1\"} 18446744073709551615\n");
}

TEST(PrometheusText, StreamMetricsLabelEachTransport) {
  EXPECT_EQ(stream_metrics_text({nullptr, nullptr}), "");
  StreamStats tls;
  tls.transport = relay::Transport::kTls;
  tls.connections = 2;
  tls.counters.accepted = 5;
  tls.counters.refused = 1;
  tls.counters.closed_tls = 2;
  tls.counters.dropped_frames = 9;
  const std::string text = stream_metrics_text({nullptr, &tls});
  EXPECT_EQ(text,
            "# HELP tern_relay_connections TCP and TLS client connections open.\n"
            "# TYPE tern_relay_connections gauge\n"
            "tern_relay_connections{transport=\"tls\"} 2\n"
            "# HELP tern_relay_connections_total TCP and TLS connections accepted.\n"
            "# TYPE tern_relay_connections_total counter\n"
            "tern_relay_connections_total{transport=\"tls\"} 5\n"
            "# HELP tern_relay_connections_closed_total Connections the relay closed: refused "
            "over --max-connections, idle, out of step (not STUN or ChannelData, or a frame too "
            "large), or a failed TLS handshake.\n"
            "# TYPE tern_relay_connections_closed_total counter\n"
            "tern_relay_connections_closed_total{transport=\"tls\",reason=\"refused\"} 1\n"
            "tern_relay_connections_closed_total{transport=\"tls\",reason=\"idle\"} 0\n"
            "tern_relay_connections_closed_total{transport=\"tls\",reason=\"framing\"} 0\n"
            "tern_relay_connections_closed_total{transport=\"tls\",reason=\"tls\"} 2\n"
            "# HELP tern_relay_stream_dropped_total Frames for a connection dropped whole: its "
            "output queue was full or it had closed.\n"
            "# TYPE tern_relay_stream_dropped_total counter\n"
            "tern_relay_stream_dropped_total{transport=\"tls\"} 9\n");
}

}  // namespace
}  // namespace tern::relayd
