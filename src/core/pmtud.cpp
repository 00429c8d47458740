#include "core/pmtud.hpp"

#include <algorithm>

namespace tern::core {

std::string_view pmtud_state_name(PmtudState s) {
  switch (s) {
    case PmtudState::kDisabled:
      return "disabled";
    case PmtudState::kBase:
      return "base";
    case PmtudState::kSearching:
      return "searching";
    case PmtudState::kSearchComplete:
      return "search_complete";
    case PmtudState::kError:
      return "error";
  }
  return "unknown";
}

size_t underlay_max_path_mtu(std::span<const UnderlayLink> links, size_t fallback) {
  constexpr size_t kLargest = 65535;  // the 16-bit IP total length
  size_t best = 0;
  for (const UnderlayLink& l : links) {
    if (l.up && !l.loopback && !l.ours) best = std::max(best, std::min(l.mtu, kLargest));
  }
  return best != 0 ? best : fallback;
}

Pmtud::Pmtud(const PmtudConfig& config) : config_(config) {
  config_.max_mtu = std::max(config_.max_mtu, config_.base_mtu);
  config_.max_probes = std::max(config_.max_probes, 1u);
  mtu_ = config_.base_mtu;
  ceiling_ = config_.max_mtu + 1;
}

void Pmtud::start(Instant now) {
  if (state_ != PmtudState::kDisabled) return;
  ceiling_ = config_.max_mtu + 1;
  ptb_hint_.reset();
  enter_base(now);
}

void Pmtud::disable() {
  state_ = PmtudState::kDisabled;
  hinted_ = false;
  clear_probe();
  confirm_deadline_.reset();
  raise_deadline_.reset();
  set_mtu(config_.base_mtu);
}

// ---- The five verbs ----

void Pmtud::handle_timeout(Instant now) {
  if (probe_deadline_ && now >= *probe_deadline_) {
    probe_deadline_.reset();
    on_probe_timer(now);
  }
  if (raise_deadline_ && now >= *raise_deadline_) {
    raise_deadline_.reset();
    if (state_ == PmtudState::kSearchComplete) {
      // The path may have grown: forget this search's failures and search upward.
      ceiling_ = config_.max_mtu + 1;
      ptb_hint_.reset();
      enter_searching(now);
    }
  }
  if (confirm_deadline_ && now >= *confirm_deadline_) {
    confirm_deadline_.reset();
    on_confirmation_timer(now);
  }
}

std::optional<Instant> Pmtud::poll_timeout() const {
  std::optional<Instant> next;
  for (const auto& d : {probe_deadline_, confirm_deadline_, raise_deadline_}) {
    if (d && (!next || *d < *next)) next = d;
  }
  return next;
}

std::optional<size_t> Pmtud::poll_probe() {
  std::optional<size_t> p = pending_probe_;
  pending_probe_.reset();
  return p;
}

std::optional<PmtudEvent> Pmtud::poll_event() {
  if (!event_) return std::nullopt;
  PmtudEvent e = *event_;
  event_.reset();
  return e;
}

std::optional<size_t> Pmtud::probed_size() const {
  if (probed_ == 0) return std::nullopt;
  return probed_;
}

// ---- Inputs ----

bool Pmtud::on_probe_acked(size_t size, Instant now) {
  if (probed_ == 0 || size != probed_) return false;
  if (checking_) {  // the size in use still passes: the search step goes on where it was
    checking_ = false;
    probed_ = search_size_;
    probe_count_ = search_count_;
    retry_or_give_up(now);
    return true;
  }
  clear_probe();
  switch (state_) {
    case PmtudState::kBase:
    case PmtudState::kError:
      enter_searching(now);
      break;
    case PmtudState::kSearching:
      hinted_ = false;  // a hinted size is confirmed: search upward from it, below the hint
      set_mtu(size);
      search_next(now);
      break;
    case PmtudState::kSearchComplete:
      confirm_deadline_ = now + config_.confirmation_timer;
      break;
    case PmtudState::kDisabled:
      break;
  }
  return true;
}

bool Pmtud::on_packet_too_big(size_t mtu, Instant now) {
  if (state_ == PmtudState::kDisabled) return false;
  const size_t size = std::max(mtu, config_.base_mtu);
  if (state_ == PmtudState::kSearching && probed_ != 0 && size >= mtu_ && size < probed_) {
    // The probe was too large; the size in use still holds. Probe the reported size next.
    ceiling_ = std::min(ceiling_, size + 1);
    ptb_hint_ = size;
    clear_probe();
    search_next(now);
    return true;
  }
  if (size < mtu_) {
    // Packets of the size in use are too big: back to the base at once, then search from
    // the reported size (RFC 8899 §4.6.2: a PTB never sets the MTU by itself).
    ceiling_ = size + 1;
    ptb_hint_ = size;
    enter_base(now);
    return true;
  }
  return false;  // at or above what we send: inconsistent, ignored
}

bool Pmtud::on_too_big_locally(size_t size, Instant now) {
  if (state_ == PmtudState::kDisabled) return false;
  if (probed_ != 0 && size == probed_ && state_ != PmtudState::kSearchComplete && !checking_) {
    switch (state_) {
      case PmtudState::kSearching:
        if (hinted_) {  // the hinted size is refused too: the next step down
          enter_hinted(probed_, now);
          return true;
        }
        ceiling_ = std::min(ceiling_, probed_);
        clear_probe();
        search_next(now);
        return true;
      case PmtudState::kBase:
        enter_error(now);  // not even the base leaves this host
        return true;
      case PmtudState::kError:
        clear_probe();
        confirm_deadline_ = now + config_.confirmation_timer;
        return true;
      case PmtudState::kSearchComplete:
      case PmtudState::kDisabled:
        break;
    }
  }
  // Data (or the confirmation probe) of the size in use, or smaller, no longer fits.
  if (size > mtu_ || mtu_ <= config_.base_mtu) return false;
  enter_hinted(size, now);
  return true;
}

// ---- Transitions ----

void Pmtud::set_mtu(size_t mtu) {
  if (mtu == mtu_) return;
  if (event_) {
    event_->new_mtu = mtu;
  } else {
    event_ = MtuChanged{mtu_, mtu};
  }
  if (event_->old_mtu == event_->new_mtu) event_.reset();  // changed and changed back
  mtu_ = mtu;
}

void Pmtud::enter_base(Instant now) {
  state_ = PmtudState::kBase;
  hinted_ = false;
  set_mtu(config_.base_mtu);
  confirm_deadline_.reset();
  raise_deadline_.reset();
  probe(config_.base_mtu, now);
}

void Pmtud::enter_searching(Instant now) {
  state_ = PmtudState::kSearching;
  hinted_ = false;
  confirm_deadline_.reset();
  raise_deadline_.reset();
  search_next(now);
}

void Pmtud::enter_search_complete(Instant now) {
  state_ = PmtudState::kSearchComplete;
  hinted_ = false;
  clear_probe();
  confirm_deadline_ = now + config_.confirmation_timer;
  raise_deadline_ = now + config_.raise_timer;
}

void Pmtud::enter_error(Instant now) {
  state_ = PmtudState::kError;
  hinted_ = false;
  clear_probe();
  raise_deadline_.reset();
  set_mtu(config_.base_mtu);
  confirm_deadline_ = now + config_.confirmation_timer;
}

void Pmtud::enter_hinted(size_t refused, Instant now) {
  ceiling_ = std::max(std::min(ceiling_, refused), config_.base_mtu + 1);
  ptb_hint_.reset();
  const size_t step = step_below(refused);
  if (step <= config_.base_mtu) {
    enter_base(now);
    return;
  }
  // SEARCHING with the size in use unconfirmed: its ack confirms it and the search goes on
  // upward (below `refused`); its loss is a black hole (the base); its refusal, a step down.
  state_ = PmtudState::kSearching;
  hinted_ = true;
  confirm_deadline_.reset();
  raise_deadline_.reset();
  set_mtu(step);
  probe(step, now);
}

void Pmtud::enter_black_hole(Instant now) {
  // The old ceiling is forgotten, so a burst of loss costs probes, never a smaller MTU for long.
  ceiling_ = config_.max_mtu + 1;
  ptb_hint_.reset();
  enter_base(now);
}

void Pmtud::clear_probe() {
  probed_ = 0;
  probe_count_ = 0;
  checking_ = false;
  pending_probe_.reset();
  probe_deadline_.reset();
}

void Pmtud::probe(size_t size, Instant now) {
  probed_ = size;
  probe_count_ = 0;
  checking_ = false;
  send_probe(now);
}

void Pmtud::check_in_use(Instant now) {
  search_size_ = probed_;
  search_count_ = probe_count_;
  data_sent_ = false;
  probe(mtu_, now);
  checking_ = true;
}

void Pmtud::send_probe(Instant now) {
  ++probe_count_;
  pending_probe_ = probed_;
  probe_deadline_ = now + config_.probe_timer;
}

std::optional<size_t> Pmtud::next_candidate() const {
  auto fits = [&](size_t s) { return s > mtu_ && s < ceiling_ && s <= config_.max_mtu; };
  if (ptb_hint_ && fits(*ptb_hint_)) return ptb_hint_;
  for (size_t c : kPmtudCandidates) {
    if (fits(c)) return c;
  }
  // An interface MTU that is not in the table (1450, 9001, ...) is the last step.
  if (fits(config_.max_mtu)) return config_.max_mtu;
  return std::nullopt;
}

size_t Pmtud::step_below(size_t size) const {
  size_t step = config_.base_mtu;
  for (size_t c : kPmtudCandidates) {
    if (c < size && c <= config_.max_mtu) step = std::max(step, c);
  }
  if (config_.max_mtu < size) step = std::max(step, config_.max_mtu);
  return step;
}

void Pmtud::search_next(Instant now) {
  const std::optional<size_t> next = next_candidate();
  if (!next) {
    enter_search_complete(now);
    return;
  }
  if (ptb_hint_ == next) ptb_hint_.reset();
  probe(*next, now);
}

void Pmtud::on_probe_timer(Instant now) {
  if (state_ == PmtudState::kSearching && !hinted_) {
    if (checking_) {
      if (probe_count_ < config_.max_probes) {
        send_probe(now);
      } else {
        enter_black_hole(now);  // the size in use no longer passes either
      }
      return;
    }
    // A lost search probe says nothing of the size in use, which data may be losing as well.
    if (mtu_ > config_.base_mtu && (data_sent_ || !config_.confirm_only_after_data)) {
      check_in_use(now);
      return;
    }
  }
  retry_or_give_up(now);
}

void Pmtud::retry_or_give_up(Instant now) {
  if (probe_count_ < config_.max_probes) {
    send_probe(now);
    return;
  }
  // MAX_PROBES probes of this size went unanswered.
  switch (state_) {
    case PmtudState::kBase:
      enter_error(now);
      break;
    case PmtudState::kSearching:
      ceiling_ = std::min(ceiling_, probed_);
      clear_probe();
      if (hinted_) {
        // Not even the hinted size passes: a black hole below the hint; from the base.
        ptb_hint_.reset();
        enter_base(now);
        break;
      }
      search_next(now);
      break;
    case PmtudState::kSearchComplete:
      enter_black_hole(now);  // the size in use no longer passes: start over from the base
      break;
    case PmtudState::kError:
      clear_probe();
      confirm_deadline_ = now + config_.confirmation_timer;
      break;
    case PmtudState::kDisabled:
      break;
  }
}

void Pmtud::on_confirmation_timer(Instant now) {
  switch (state_) {
    case PmtudState::kSearchComplete:
      if (config_.confirm_only_after_data && !data_sent_) {
        confirm_deadline_ = now + config_.confirmation_timer;
        return;
      }
      data_sent_ = false;
      probe(mtu_, now);
      break;
    case PmtudState::kError:
      probe(config_.base_mtu, now);
      break;
    case PmtudState::kDisabled:
    case PmtudState::kBase:
    case PmtudState::kSearching:
      break;
  }
}

}  // namespace tern::core
