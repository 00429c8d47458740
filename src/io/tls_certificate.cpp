#include "io/tls_certificate.hpp"

#include <openssl/asn1.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>

#include <fmt/core.h>

#include "base/ip.hpp"

namespace tern::io {

namespace {

std::string name_text(const X509_NAME* name) {
  if (name == nullptr) return {};
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return {};
  X509_NAME_print_ex(bio, name, 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len > 0 ? len : 0));
  BIO_free(bio);
  // XN_FLAG_ONELINE spells "CN = x, O = y"; tighten to "CN=x, O=y".
  std::string tight;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out.compare(i, 3, " = ") == 0) {
      tight += '=';
      i += 2;
    } else {
      tight += out[i];
    }
  }
  return tight;
}

WallTime wall_of(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return WallTime{};
  return WallTime{static_cast<int64_t>(timegm(&tm)) * 1'000'000'000};
}

std::vector<std::string> alt_names(X509* cert) {
  std::vector<std::string> out;
  auto* sans =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (sans == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans, i);
    if (gn->type == GEN_DNS) {
      const ASN1_IA5STRING* s = gn->d.dNSName;
      out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                       static_cast<size_t>(ASN1_STRING_length(s)));
    } else if (gn->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* s = gn->d.iPAddress;
      const uint8_t* p = ASN1_STRING_get0_data(s);
      int len = ASN1_STRING_length(s);
      if (len == 4) {
        out.push_back(IpAddress::v4({p[0], p[1], p[2], p[3]}).to_string());
      } else if (len == 16) {
        std::array<uint8_t, 16> b{};
        std::copy(p, p + 16, b.begin());
        out.push_back(IpAddress::v6(b).to_string());
      }
    }
  }
  GENERAL_NAMES_free(sans);
  return out;
}

std::string common_name(X509* cert) {
  const X509_NAME* subject = X509_get_subject_name(cert);
  int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (idx < 0) return {};
  const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names)
    out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "no name" : out;
}

}  // namespace

std::string format_utc(WallTime t) {
  std::time_t secs = static_cast<std::time_t>(t.unix_ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

TlsCertificateFacts certificate_facts(x509_st* cert, long verify_result, const std::string& host) {
  TlsCertificateFacts f;
  if (cert == nullptr) return f;
  f.subject = name_text(X509_get_subject_name(cert));
  f.issuer = name_text(X509_get_issuer_name(cert));
  f.names = alt_names(cert);
  if (f.names.empty()) {
    if (std::string cn = common_name(cert); !cn.empty()) f.names.push_back(cn);
  }
  f.not_before = wall_of(X509_get0_notBefore(cert));
  f.not_after = wall_of(X509_get0_notAfter(cert));
  f.expired = X509_cmp_current_time(X509_get0_notAfter(cert)) < 0;
  f.not_yet_valid = X509_cmp_current_time(X509_get0_notBefore(cert)) > 0;
  f.self_signed = X509_check_issued(cert, cert) == X509_V_OK;
  f.chain_trusted = verify_result == X509_V_OK;
  if (!f.chain_trusted) f.verify_error = X509_verify_cert_error_string(verify_result);
  if (!host.empty()) {
    if (IpAddress::parse(host)) {
      f.name_matches = X509_check_ip_asc(cert, host.c_str(), 0) == 1;
    } else {
      f.name_matches = X509_check_host(cert, host.data(), host.size(), 0, nullptr) == 1;
    }
  }
  return f;
}

std::string certificate_problem(const TlsCertificateFacts& f, const std::string& host) {
  // The order matters: an expired certificate is the cause to fix first, whatever else is wrong.
  if (f.expired) {
    return fmt::format(
        "the server's certificate expired on {}: renew it on the server (if it did not expire, "
        "this host's clock is wrong)",
        format_utc(f.not_after));
  }
  if (f.not_yet_valid) {
    return fmt::format(
        "the server's certificate is not valid before {}: this host's clock or the server's is "
        "wrong",
        format_utc(f.not_before));
  }
  if (!host.empty() && !f.name_matches) {
    return fmt::format(
        "the server's certificate is for {}, not {}: connect by one of those names, or issue a "
        "certificate that includes {}",
        joined(f.names), host, host);
  }
  if (!f.chain_trusted) {
    if (f.self_signed) {
      return fmt::format(
          "the server's certificate ({}) is self-signed, so this host cannot trust it: give its "
          "CA with --ca-file, or use a certificate from a public CA",
          f.subject);
    }
    return fmt::format(
        "the server's certificate chain is not trusted ({}; issuer {}): install the full chain "
        "(certificate + intermediates) on the server, or give the CA with --ca-file",
        f.verify_error, f.issuer);
  }
  return {};
}

}  // namespace tern::io
