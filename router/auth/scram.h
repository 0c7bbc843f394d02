// SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL speaks it, on both sides of the router:
// ScramServer verifies a client against a stored verifier, ScramClient authenticates the router
// to a backend. See https://www.postgresql.org/docs/current/sasl-authentication.html.
//
// Postgres' dialect: no channel binding is offered (the router never advertises
// SCRAM-SHA-256-PLUS), the username inside the SCRAM messages is ignored in favour of the
// startup packet's user, and an authorization identity ("a=") is refused.
//
// Thread-safety: the free functions are safe to call from any thread. A ScramServer or
// ScramClient holds the state of one exchange on one connection; it belongs to that connection
// and must not be shared between threads.
//
// Cost: ScramClient::handleServerFirst runs PBKDF2 with the backend's iteration count (about a
// millisecond at 4096) unless the client was built from keys; ScramServer does no PBKDF2.
//
// Errors are values: bad input yields std::nullopt (or false) and a reason in *error.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace shardline::auth {

using Bytes = std::string;  // raw bytes

inline constexpr std::string_view kScramSha256 = "SCRAM-SHA-256";  // SASL mechanism name
inline constexpr int kScramDefaultIterations = 4096;   // Postgres' default scram_iterations
inline constexpr size_t kScramDefaultSaltLength = 16;  // bytes, as Postgres generates
inline constexpr size_t kScramKeyLength = 32;          // SHA-256 output, bytes

// What Postgres keeps in pg_authid.rolpassword for a SCRAM-SHA-256 password.
struct ScramVerifier {
  int iterations = 0;  // PBKDF2 iteration count, > 0
  Bytes salt;          // raw salt bytes, non-empty
  Bytes storedKey;     // H(ClientKey), kScramKeyLength bytes
  Bytes serverKey;     // HMAC(SaltedPassword, "Server Key"), kScramKeyLength bytes
};

// Parses Postgres' stored form "SCRAM-SHA-256$<iter>:<base64 salt>$<base64 StoredKey>:<base64
// ServerKey>". Returns std::nullopt for anything else (including an md5 secret).
std::optional<ScramVerifier> parseScramVerifier(std::string_view text);

// Builds that stored form from a password (used by tools and tests). `salt` is raw bytes.
// Returns an empty string if iterations <= 0, salt is empty, or OpenSSL fails.
std::string makeScramVerifier(std::string_view password, std::string_view salt, int iterations);

// Same, with a fresh random salt of kScramDefaultSaltLength bytes and kScramDefaultIterations.
std::string makeScramVerifier(std::string_view password);

// Standard base64 (RFC 4648 section 4) with padding. Decoding is strict: no whitespace, length a
// multiple of 4, padding only at the end, and unused trailing bits zero.
std::string base64Encode(std::string_view data);
std::optional<Bytes> base64Decode(std::string_view text);

// Constant-time comparison of equal-length inputs; inputs of different lengths compare unequal
// (the length is not treated as secret).
bool constantTimeEqual(std::string_view a, std::string_view b);

// Server side of SCRAM-SHA-256: the router verifying a client.
class ScramServer {
 public:
  explicit ScramServer(ScramVerifier verifier);
  // For tests and known-answer vectors: a fixed server nonce (appended to the client's).
  ScramServer(ScramVerifier verifier, std::string serverNonce);

  // Selects SCRAM-SHA-256-PLUS: the client must bind to the TLS channel with
  // tls-server-end-point, whose data (the hash of the server certificate) is given.
  void expectChannelBinding(Bytes endPointHash) { endPointHash_ = std::move(endPointHash); }

  // data = SASLInitialResponse payload (client-first-message). Returns server-first-message.
  std::optional<std::string> handleClientFirst(std::string_view data, std::string* error);

  // data = SASLResponse payload (client-final-message). Returns server-final-message "v=..."
  // when the proof is right; a wrong proof is an error ("password authentication failed").
  std::optional<std::string> handleClientFinal(std::string_view data, std::string* error);

  // True once handleClientFinal accepted the client's proof.
  bool succeeded() const { return state_ == State::Done; }

  // After a successful exchange: the client's ClientKey recovered from its proof (ClientProof
  // XOR ClientSignature). Empty before that.
  const Bytes& clientKey() const { return clientKey_; }

 private:
  enum class State {
    ExpectClientFirst,  // nothing received yet
    ExpectClientFinal,  // server-first-message sent
    Done,               // proof verified, server-final-message sent
    Failed,             // an error was returned; the exchange is over
  };

  std::optional<std::string> fail(std::string* error, std::string reason);

  ScramVerifier verifier_;
  State state_ = State::ExpectClientFirst;
  std::string serverNonce_;      // empty: generate one in handleClientFirst
  std::string gs2Header_;        // "n,," or "y,,", as the client sent it
  Bytes endPointHash_;           // set for SCRAM-SHA-256-PLUS
  std::string clientFirstBare_;  // client-first-message-bare, verbatim
  std::string serverFirst_;      // server-first-message as sent
  std::string nonce_;            // client nonce + server nonce
  Bytes clientKey_;
};

// Client side of SCRAM-SHA-256: the router authenticating to a Postgres backend.
class ScramClient {
 public:
  explicit ScramClient(std::string password);
  // For tests and known-answer vectors: a fixed client nonce, and the username to send in "n="
  // (Postgres ignores it; libpq sends it empty).
  ScramClient(std::string password, std::string nonce, std::string_view user = {});
  ~ScramClient();  // wipes the password and keys
  ScramClient(ScramClient&&) = default;
  ScramClient& operator=(ScramClient&&) = default;

  // Authenticates with keys instead of a password: the ClientKey a ScramServer recovered from a
  // client, plus that client's verifier. Works only if the backend stores the same verifier (same
  // salt and iteration count); handleServerFirst fails otherwise.
  static ScramClient fromKeys(const ScramVerifier& verifier, Bytes clientKey);

  // The SASLInitialResponse payload: "n,,n=,r=<nonce>". Empty if called a second time or if no
  // random nonce could be made; the exchange has then failed.
  std::string clientFirst();

  // data = AuthenticationSASLContinue payload. Returns client-final-message.
  std::optional<std::string> handleServerFirst(std::string_view data, std::string* error);

  // data = AuthenticationSASLFinal payload. True when the server proved it knows the verifier.
  bool verifyServerFinal(std::string_view data, std::string* error);

 private:
  enum class State {
    Initial,            // clientFirst not called yet
    ExpectServerFirst,  // client-first-message sent
    ExpectServerFinal,  // client-final-message sent
    Done,               // server signature verified
    Failed,             // an error was returned; the exchange is over
  };

  bool fail(std::string* error, std::string reason);
  bool deriveKeys(std::string_view salt, int iterations, std::string* error);

  std::string password_;     // empty when built from keys
  std::string user_;         // saslname sent in "n=", already escaped
  std::string clientNonce_;  // empty: generate one in clientFirst
  State state_ = State::Initial;
  std::optional<ScramVerifier> keysVerifier_;  // set by fromKeys: what the backend must use
  Bytes clientKey_;  // known up front (fromKeys) or derived from the password
  Bytes serverKey_;
  std::string clientFirstBare_;  // as sent
  Bytes expectedServerSignature_;
};

}  // namespace shardline::auth
