// What a TLS peer's certificate says, for reports (`tern doctor relay` over turns:) and for
// handshake errors that name the cause: expired or not yet valid, issued for other names,
// signed by a CA this host does not trust.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/time.hpp"

struct x509_st;  // OpenSSL's X509

namespace tern::io {

struct TlsCertificateFacts {
  std::string subject;             // "CN=turn.example.org"
  std::string issuer;              // "CN=R11, O=Let's Encrypt, C=US"
  std::vector<std::string> names;  // DNS and IP subjectAltNames; the CN when there are none
  WallTime not_before;
  WallTime not_after;
  bool expired = false;        // now is after not_after
  bool not_yet_valid = false;  // now is before not_before
  bool self_signed = false;
  bool chain_trusted = false;  // verification succeeded against the trusted CAs
  std::string verify_error;    // why it did not ("certificate has expired"), else empty
  bool name_matches = false;   // the name we connected to is one the certificate covers
};

// Facts about `cert` (its dates compared with the wall clock now); `verify_result` is OpenSSL's
// X509_V_* code for the chain, `host` the name or address the client asked for (empty: not checked,
// name_matches false).
TlsCertificateFacts certificate_facts(x509_st* cert, long verify_result, const std::string& host);

// "2026-11-24 05:00:00 UTC".
std::string format_utc(WallTime t);

// Why verification failed, with the fix, e.g. "the server's certificate expired on ...: renew
// it on the server (or check this host's clock)". Empty when the facts show no problem.
std::string certificate_problem(const TlsCertificateFacts& facts, const std::string& host);

}  // namespace tern::io
