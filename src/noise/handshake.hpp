// The WireGuard handshake, Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s (whitepaper §5.4):
//   initiator -> responder: e, es, s, ss, {t}      (initiation, 148 bytes)
//   responder -> initiator: e, ee, se, psk, {}     (response, 92 bytes)
// then both derive the transport keys. mac1/mac2 are not written or checked here:
// they belong to the cookie layer (noise/cookie.hpp), which runs before and after.
//
// Receiving an initiation takes two steps, as in the kernel's consume_initiation:
//   1. open_initiation(identity, msg): e, es, s. Needs only our identity and yields
//      the initiator's static key, so the caller can find the peer.
//   2. peer.handshake.consume_initiation(opened): ss, {t}, using the static-static DH
//      the peer's Handshake precomputed. Unknown peers thus cost one DH, not two.
// Then the caller checks the timestamp with accept_timestamp() (replay defence),
// applies its own flood limit, and answers with create_response().
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "base/bytes.hpp"
#include "crypto/key.hpp"
#include "noise/identity.hpp"
#include "noise/session_keys.hpp"
#include "wire/tai64n.hpp"
#include "wire/wireguard.hpp"

namespace tern::noise {

// Step 1 of receiving an initiation. Holds secret handshake state; wiped on destruction.
struct OpenedInitiation {
  uint32_t sender_index = 0;
  crypto::Key initiator_static{};  // look the peer up by this key
  crypto::Key remote_ephemeral{};
  crypto::Key chaining_key{};
  crypto::Key hash{};
  std::array<uint8_t, 12 + wire::kAuthTagSize> encrypted_timestamp{};

  OpenedInitiation() = default;
  OpenedInitiation(const OpenedInitiation&) = default;
  OpenedInitiation& operator=(const OpenedInitiation&) = default;
  ~OpenedInitiation() { wipe(); }
  void wipe();
};

// A fully authenticated initiation, ready for create_response(). Wiped on destruction.
struct ConsumedInitiation {
  uint32_t sender_index = 0;
  crypto::Key initiator_static{};
  wire::Tai64n timestamp{};
  crypto::Key remote_ephemeral{};
  crypto::Key chaining_key{};
  crypto::Key hash{};

  ConsumedInitiation() = default;
  ConsumedInitiation(const ConsumedInitiation&) = default;
  ConsumedInitiation& operator=(const ConsumedInitiation&) = default;
  ~ConsumedInitiation() { wipe(); }
  void wipe();
};

// Step 1: e, es, s. `msg` is a whole 148-byte initiation (macs are ignored here).
// nullopt if the size or type is wrong, the ephemeral is a low-order point, or the
// static key does not decrypt (the message was not made for our public key).
[[nodiscard]] std::optional<OpenedInitiation> open_initiation(const LocalIdentity& local,
                                                              Bytes msg);

// The handshake state with one peer. Holds a copy of our identity, so when the
// device's private key changes call set_local_identity(). Secrets are wiped on
// destruction and whenever a handshake completes or is abandoned.
class Handshake {
 public:
  Handshake(const LocalIdentity& local, const crypto::Key& remote_static,
            const crypto::Key& preshared_key = {});
  Handshake(const Handshake&) = default;
  Handshake& operator=(const Handshake&) = default;
  ~Handshake();

  void set_local_identity(const LocalIdentity& local);
  void set_preshared_key(const crypto::Key& preshared_key);
  const crypto::Key& remote_static() const { return remote_static_; }
  // False when the remote static key is a low-order point (DH(s, S) is all zeros):
  // no handshake with this peer can succeed.
  bool has_valid_static() const { return static_static_valid_; }

  // ---- Initiator ----
  // Writes a 148-byte initiation to out[0..148) with mac1 and mac2 zeroed (the
  // cookie layer adds them). Starts a new attempt, abandoning any previous one.
  // False if `out` is smaller than 148 bytes or a DH fails.
  [[nodiscard]] bool create_initiation(uint32_t local_index, const wire::Tai64n& now,
                                       MutableBytes out);
  // Deterministic variant for known-answer tests: the ephemeral private key is given.
  [[nodiscard]] bool create_initiation(uint32_t local_index, const wire::Tai64n& now,
                                       MutableBytes out, const crypto::Key& ephemeral_private);
  bool has_pending_initiation() const { return pending_initiation_; }
  uint32_t pending_local_index() const { return local_index_; }
  // Completes the handshake we started. nullopt unless an initiation is pending, the
  // response's receiver index is ours and it authenticates (wrong psk fails here).
  // On success the pending state is wiped; on failure it is kept (the response
  // may be forged; the genuine one can still arrive).
  [[nodiscard]] std::optional<SessionKeys> consume_response(const wire::Response& msg);
  // Forgets a pending initiation (e.g. REKEY_ATTEMPT_TIME passed).
  void clear();

  // ---- Responder ----
  // Step 2: ss, {t}. nullopt if `opened` is for another peer or the timestamp does
  // not decrypt. Does not look at the timestamp's value: see accept_timestamp().
  [[nodiscard]] std::optional<ConsumedInitiation> consume_initiation(
      const OpenedInitiation& opened) const;
  // Replay defence: true (and remembered) only if `t` is newer than every timestamp
  // accepted before. Call after consume_initiation() succeeded.
  [[nodiscard]] bool accept_timestamp(const wire::Tai64n& t);
  const wire::Tai64n& latest_timestamp() const { return latest_timestamp_; }
  // e, ee, se, psk, {}: writes a 92-byte response to out[0..92) with zero macs and
  // returns the session keys. Abandons any initiation of ours that is pending (one
  // handshake per peer at a time, as the kernel and wireguard-go).
  [[nodiscard]] std::optional<SessionKeys> create_response(const ConsumedInitiation& initiation,
                                                           uint32_t local_index, MutableBytes out);
  // Deterministic variant for known-answer tests.
  [[nodiscard]] std::optional<SessionKeys> create_response(const ConsumedInitiation& initiation,
                                                           uint32_t local_index, MutableBytes out,
                                                           const crypto::Key& ephemeral_private);

 private:
  void precompute_static_static();

  LocalIdentity local_;
  crypto::Key remote_static_{};
  crypto::Key preshared_key_{};
  crypto::Key static_static_{};        // DH(our static, their static), computed once
  crypto::Key initiator_hash_base_{};  // HASH(Hi || remote_static): start of our initiations
  bool static_static_valid_ = false;

  // The initiation we sent and await a response to.
  bool pending_initiation_ = false;
  uint32_t local_index_ = 0;
  crypto::Key ephemeral_private_{};
  crypto::Key chaining_key_{};
  crypto::Key hash_{};

  wire::Tai64n latest_timestamp_{};
};

}  // namespace tern::noise
