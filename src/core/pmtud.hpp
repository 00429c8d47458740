// DPLPMTUD (RFC 8899) for one path, sans-I/O: finds the largest packet the path carries
// without relying on ICMP, with padded probes the caller sends (path probes, docs/path-probes.md)
// and acknowledgements it reports. It starts from a base size, searches upward through a table
// of common MTUs, keeps checking the size found (a black hole drops it back to the base within
// seconds) and searches upward again every PMTU_RAISE_TIMER.
//
// Unit: every size here is a path MTU, i.e. the whole outer IP packet on the wire (IP header +
// UDP header + UDP payload), as an interface MTU is counted. The caller turns a probe size into
// a probe message size by subtracting IP and UDP headers (28 for IPv4, 48 for IPv6) and any
// relay framing (TURN ChannelData 4, Send indication 36), and the current MTU into an overlay
// MTU by subtracting the encapsulation overhead.
//
// States (RFC 8899 §5.2):
//   DISABLED         before start() and after disable(); current MTU = base
//   BASE             probing the base size; acked -> SEARCHING, MAX_PROBES lost -> ERROR
//   SEARCHING        probing the next larger candidate; acked -> raise the MTU and go on,
//                    MAX_PROBES lost or nothing left -> SEARCH_COMPLETE. While data flows,
//                    each lost candidate probe is followed by a probe of the size in use
//                    (acked -> the candidate again; MAX_PROBES lost -> black hole -> BASE),
//                    so a path that shrinks during a failing step is left as quickly as
//                    after one. After refused data
//                    (EMSGSIZE) the step below it is in use while its probe confirms it:
//                    acked -> search on upward, refused -> the next step down, MAX_PROBES
//                    lost -> BASE
//   SEARCH_COMPLETE  confirm the MTU every CONFIRMATION_TIMER (MAX_PROBES lost -> black hole
//                    -> BASE); PMTU_RAISE_TIMER -> SEARCHING
//   ERROR            the base is not confirmed; current MTU = base, retry every
//                    CONFIRMATION_TIMER; acked -> SEARCHING
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <variant>

#include "base/time.hpp"

namespace tern::core {

// The search steps: common MTUs (IPv6 minimum 1280, tunnels 1400-1480, PPPoE 1492, Ethernet
// 1500), then jumbo steps. Those between the base and max_mtu are probed in order; max_mtu
// itself is the last step when it is not in the table.
inline constexpr size_t kPmtudCandidates[] = {1280, 1400, 1420, 1440, 1460, 1480,
                                              1492, 1500, 2000, 4000, 8000, 9000};

struct PmtudConfig {
  size_t base_mtu = 1280;   // BASE_PLPMTU, also the floor: the IPv6 minimum link MTU
  size_t max_mtu = 1500;    // MAX_PLPMTU: the interface MTU (or less)
  unsigned max_probes = 3;  // MAX_PROBES: unacknowledged probes of one size before giving up
  // PROBE_TIMER. RFC 8899 requires >= 1 s and suggests 15 s; 1 s lets a black hole be left
  // within seconds, and a few probes per second at most are nothing next to the data.
  Duration probe_timer = std::chrono::seconds(1);
  // CONFIRMATION_TIMER: WireGuard acknowledges nothing, so the MTU in use is re-probed this
  // often. A black hole is left within confirmation_timer + max_probes * probe_timer (5 s),
  // or probe_timer + max_probes * probe_timer (4 s) if the path shrinks while a search step
  // is failing.
  Duration confirmation_timer = std::chrono::seconds(2);
  Duration raise_timer = std::chrono::seconds(600);  // PMTU_RAISE_TIMER
  // RFC 8899 §5.1.1 allows skipping confirmation while no data is sent: an idle path costs
  // nothing. The caller then reports sends with on_data_sent(); without them no
  // confirmation probe goes out.
  bool confirm_only_after_data = true;
};

// An interface of this host, as the largest path MTU worth searching for sees it.
struct UnderlayLink {
  size_t mtu = 0;
  bool up = false;
  bool loopback = false;
  bool ours = false;  // the tunnel's own interface
};
// The largest path MTU to search for (PmtudConfig::max_mtu): the largest MTU among the up
// interfaces that can carry the tunnel's datagrams (not loopback, not the tunnel's own), at
// most 65535; `fallback` when there is none. A route through a smaller interface refuses the
// larger probes at once (EMSGSIZE, on_too_big_locally), so the largest costs no waiting.
size_t underlay_max_path_mtu(std::span<const UnderlayLink> links, size_t fallback = 1500);

enum class PmtudState : uint8_t { kDisabled, kBase, kSearching, kSearchComplete, kError };
std::string_view pmtud_state_name(PmtudState s);

struct MtuChanged {
  size_t old_mtu = 0;
  size_t new_mtu = 0;
  bool operator==(const MtuChanged&) const = default;
};
using PmtudEvent = std::variant<MtuChanged>;

class Pmtud {
 public:
  // max_mtu below base_mtu is raised to base_mtu.
  explicit Pmtud(const PmtudConfig& config = {});

  // The path can carry packets (e.g. a handshake or a pong arrived): start at BASE.
  void start(Instant now);
  // The path is gone: back to DISABLED, nothing more is sent.
  void disable();

  // ---- The five verbs ----
  void handle_timeout(Instant now);
  std::optional<Instant> poll_timeout() const;
  // A probe of this size should be sent now (each returned size once).
  std::optional<size_t> poll_probe();
  std::optional<PmtudEvent> poll_event();

  // ---- Inputs ----
  // A probe of `size` was acknowledged. Acks for any size but the probe in flight are stale
  // and ignored; returns whether it was used.
  bool on_probe_acked(size_t size, Instant now);
  // A validated ICMP Packet Too Big / fragmentation-needed reporting `mtu` (in path-MTU units).
  // Used only as a hint for the next probe, never to set the MTU directly (RFC 8899 §4.6.2);
  // below the base it counts as the base. Returns whether it changed anything.
  bool on_packet_too_big(size_t mtu, Instant now);
  // A datagram of `size` could not leave this host: the outgoing interface refused it
  // (EMSGSIZE). The probe in flight of that size counts as lost at once, without waiting for
  // its timer. Data at or below the size in use is a hint that the path shrank: the largest
  // step below `size` is used at once and confirmed by a probe; refused, the next one down;
  // lost (MAX_PROBES), the base. Unlike a PTB from the network (which RFC 8899 §4.6.2 sends
  // to the base), this is this host's own word, and no flow is held at the base for a probe
  // round it does not need. Returns whether it changed anything.
  bool on_too_big_locally(size_t size, Instant now);
  // Data was sent on the path since the last call (cheap: call it for every batch).
  void on_data_sent() { data_sent_ = true; }

  // ---- State ----
  size_t current_mtu() const { return mtu_; }
  PmtudState state() const { return state_; }
  // The probe in flight, if any.
  std::optional<size_t> probed_size() const;
  const PmtudConfig& config() const { return config_; }

 private:
  void set_mtu(size_t mtu);
  void enter_base(Instant now);
  void enter_searching(Instant now);
  void enter_search_complete(Instant now);
  void enter_error(Instant now);
  // Data of `refused` bytes did not leave: the step below it in use, confirmed by a probe.
  void enter_hinted(size_t refused, Instant now);
  // The largest search step (or max_mtu) below `size`; the base when there is none.
  size_t step_below(size_t size) const;
  // Starts a fresh round of probes of `size` (count reset) / sends one more of the same.
  void probe(size_t size, Instant now);
  void send_probe(Instant now);
  void clear_probe();
  // The next size to search, or nothing when the search is done.
  std::optional<size_t> next_candidate() const;
  void search_next(Instant now);
  void on_probe_timer(Instant now);
  // The probe in flight went unanswered: one more of it, or MAX_PROBES are lost.
  void retry_or_give_up(Instant now);
  // SEARCHING: the candidate probe was lost while data flows; the size in use is probed
  // before the candidate again (checking_).
  void check_in_use(Instant now);
  // The size in use no longer passes: from the base, with this search's failures forgotten.
  void enter_black_hole(Instant now);
  void on_confirmation_timer(Instant now);

  PmtudConfig config_;
  PmtudState state_ = PmtudState::kDisabled;
  size_t mtu_;                      // PLPMTU: the size in use
  size_t probed_ = 0;               // PROBED_SIZE of the probe in flight; 0 = none
  unsigned probe_count_ = 0;        // probes of probed_ sent without an ack
  size_t ceiling_;                  // sizes >= this failed in this search (exclusive bound)
  std::optional<size_t> ptb_hint_;  // next search point learned from a PTB
  std::optional<size_t> pending_probe_;
  std::optional<Instant> probe_deadline_;    // PROBE_TIMER
  std::optional<Instant> confirm_deadline_;  // CONFIRMATION_TIMER (and ERROR retries)
  std::optional<Instant> raise_deadline_;    // PMTU_RAISE_TIMER
  std::optional<MtuChanged> event_;          // coalesced until polled
  bool data_sent_ = false;
  bool hinted_ = false;  // SEARCHING: mtu_ is a local hint that its probe has yet to confirm
  // SEARCHING: the probe in flight checks the size in use; the candidate and its count wait.
  bool checking_ = false;
  size_t search_size_ = 0;
  unsigned search_count_ = 0;
};

}  // namespace tern::core
