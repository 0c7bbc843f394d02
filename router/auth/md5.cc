#include "router/auth/md5.h"

#include <openssl/evp.h>

#include <array>
#include <string>

namespace shardline::auth {
namespace {

constexpr std::string_view kPrefix = "md5";
constexpr size_t kHexLength = 32;  // an md5 digest in hex

// Lowercase hex of md5(data), as Postgres writes it; empty if OpenSSL fails.
std::string md5Hex(std::string_view data) {
  constexpr std::string_view kDigits = "0123456789abcdef";
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_md5(), nullptr) != 1) {
    return {};
  }
  std::string hex;
  hex.reserve(size_t{length} * 2);
  for (unsigned int i = 0; i < length; ++i) {
    hex += kDigits[digest[i] >> 4];
    hex += kDigits[digest[i] & 0xF];
  }
  return hex;
}

}  // namespace

bool isMd5Stored(std::string_view text) {
  if (text.size() != kPrefix.size() + kHexLength || text.substr(0, kPrefix.size()) != kPrefix) {
    return false;
  }
  for (char c : text.substr(kPrefix.size())) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

std::string md5Stored(std::string_view password, std::string_view user) {
  std::string input;
  input.reserve(password.size() + user.size());
  input.append(password).append(user);
  std::string hex = md5Hex(input);
  return hex.empty() ? std::string() : std::string(kPrefix) + hex;
}

std::string md5Response(std::string_view password, std::string_view user, std::string_view salt4) {
  std::string stored = md5Stored(password, user);
  return stored.empty() ? std::string() : md5ResponseFromStored(stored, salt4);
}

std::string md5ResponseFromStored(std::string_view storedMd5, std::string_view salt4) {
  if (!isMd5Stored(storedMd5) || salt4.size() != kMd5SaltLength) {
    return {};
  }
  std::string input(storedMd5.substr(kPrefix.size()));
  input.append(salt4);
  std::string hex = md5Hex(input);
  return hex.empty() ? std::string() : std::string(kPrefix) + hex;
}

}  // namespace shardline::auth
