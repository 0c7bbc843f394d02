// Postgres' md5 password authentication: the stored secret and the response to
// AuthenticationMD5Password. See https://www.postgresql.org/docs/current/auth-password.html.
//
//   stored   = "md5" + hex(md5(password + user))
//   response = "md5" + hex(md5(hex(md5(password + user)) + salt))
//
// md5 is what Postgres offers to old clients; prefer SCRAM (router/auth/scram.h). To check a
// client's response, compare it with md5ResponseFromStored using constantTimeEqual.
//
// Thread-safety: pure functions, safe to call from any thread.
#pragma once

#include <string>
#include <string_view>

namespace shardline::auth {

inline constexpr size_t kMd5SaltLength = 4;  // bytes in AuthenticationMD5Password

// True if `text` is Postgres' stored md5 form: "md5" followed by 32 lowercase hex digits.
bool isMd5Stored(std::string_view text);

// Postgres' stored md5 form for a password: "md5" + hex(md5(password + user)).
// Empty if OpenSSL fails.
std::string md5Stored(std::string_view password, std::string_view user);

// The PasswordMessage payload (without its terminating NUL) answering
// AuthenticationMD5Password with the 4-byte `salt4`. Empty if salt4 is not 4 bytes.
std::string md5Response(std::string_view password, std::string_view user, std::string_view salt4);

// Same, from a stored "md5<32 hex>" secret (what the router keeps for clients).
// Empty if storedMd5 is not in that form or salt4 is not 4 bytes.
std::string md5ResponseFromStored(std::string_view storedMd5, std::string_view salt4);

}  // namespace shardline::auth
