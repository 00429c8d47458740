#include "relayd/prometheus_text.hpp"

namespace tern::relayd {

void append_family(std::string& out, std::string_view name, std::string_view type,
                   std::string_view help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void append_sample(std::string& out, std::string_view name, std::string_view labels,
                   uint64_t value) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
  out += std::to_string(value);
  out += '\n';
}

void append_metric(std::string& out, std::string_view name, std::string_view type,
                   std::string_view help, uint64_t value) {
  append_family(out, name, type, help);
  append_sample(out, name, "", value);
}

}  // namespace tern::relayd
