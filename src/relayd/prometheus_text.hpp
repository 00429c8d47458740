// Prometheus text exposition lines for `tern relay`'s own metrics (the relay core renders its
// counters itself: relay/metrics.hpp): a family's # HELP and # TYPE lines, and its samples.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tern::relayd {

// "# HELP name help\n# TYPE name type\n"; `type` is "counter" or "gauge".
void append_family(std::string& out, std::string_view name, std::string_view type,
                   std::string_view help);

// "name{labels} value\n"; `labels` without braces, empty for none: `loop="0"`.
void append_sample(std::string& out, std::string_view name, std::string_view labels,
                   uint64_t value);

// A family of one unlabelled sample.
void append_metric(std::string& out, std::string_view name, std::string_view type,
                   std::string_view help, uint64_t value);

}  // namespace tern::relayd
