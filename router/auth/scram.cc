#include "router/auth/scram.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <utility>
#include <vector>

namespace shardline::auth {
namespace {

constexpr std::string_view kVerifierPrefix = "SCRAM-SHA-256$";
constexpr size_t kNonceRawLength = 18;  // random bytes in a nonce, as Postgres and libpq use
constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// --- Crypto primitives. Each returns std::nullopt only if OpenSSL itself fails. ---

std::optional<Bytes> sha256(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &length, EVP_sha256(), nullptr) != 1) {
    return std::nullopt;
  }
  return Bytes(reinterpret_cast<const char*>(out.data()), length);
}

std::optional<Bytes> hmacSha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(),
           &length) == nullptr) {
    return std::nullopt;
  }
  return Bytes(reinterpret_cast<const char*>(out.data()), length);
}

// SaltedPassword := Hi(password, salt, i), which is PBKDF2 with HMAC-SHA-256 (RFC 5802 2.2).
std::optional<Bytes> saltedPassword(std::string_view password, std::string_view salt,
                                    int iterations) {
  Bytes out(kScramKeyLength, '\0');
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()),
                        static_cast<int>(salt.size()), iterations, EVP_sha256(),
                        static_cast<int>(out.size()),
                        reinterpret_cast<unsigned char*>(out.data())) != 1) {
    return std::nullopt;
  }
  return out;
}

// Requires: a.size() == b.size().
Bytes xorBytes(std::string_view a, std::string_view b) {
  Bytes out(a.size(), '\0');
  for (size_t i = 0; i < a.size(); ++i) {
    out[i] = static_cast<char>(a[i] ^ b[i]);
  }
  return out;
}

void wipe(std::string& secret) {
  if (!secret.empty()) {
    OPENSSL_cleanse(secret.data(), secret.size());
  }
}

std::optional<std::string> randomNonce() {
  std::array<unsigned char, kNonceRawLength> raw{};
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) {
    return std::nullopt;
  }
  return base64Encode(std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size()));
}

// The keys a password yields for a salt and iteration count.
struct PasswordKeys {
  Bytes clientKey;
  Bytes serverKey;
  ~PasswordKeys() {
    wipe(clientKey);
    wipe(serverKey);
  }
};

std::optional<PasswordKeys> passwordKeys(std::string_view password, std::string_view salt,
                                         int iterations) {
  // TODO: SASLprep (RFC 4013) for non-ASCII passwords. Postgres maps and NFKC-normalizes them
  // before hashing; we hash the bytes as given, which agrees whenever the password is already
  // normalized (any ASCII password, and the usual precomposed non-ASCII ones). Full
  // normalization needs Unicode tables this module does not carry.
  std::optional<Bytes> salted = saltedPassword(password, salt, iterations);
  if (!salted) {
    return std::nullopt;
  }
  std::optional<Bytes> clientKey = hmacSha256(*salted, "Client Key");
  std::optional<Bytes> serverKey = hmacSha256(*salted, "Server Key");
  wipe(*salted);
  if (!clientKey || !serverKey) {
    return std::nullopt;
  }
  PasswordKeys keys;
  keys.clientKey = std::move(*clientKey);
  keys.serverKey = std::move(*serverKey);
  return keys;
}

// --- Message syntax (RFC 5802 section 7). ---

// SCRAM attribute values never contain ',' (saslnames escape it), so a message splits cleanly
// into its comma-separated fields; the gs2 header contributes empty ones.
std::vector<std::string_view> splitFields(std::string_view message) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (true) {
    size_t comma = message.find(',', start);
    if (comma == std::string_view::npos) {
      fields.push_back(message.substr(start));
      return fields;
    }
    fields.push_back(message.substr(start, comma - start));
    start = comma + 1;
  }
}

// The value of `field` if it reads "<attr>=<value>".
std::optional<std::string_view> attrValue(std::string_view field, char attr) {
  if (field.size() < 2 || field[0] != attr || field[1] != '=') {
    return std::nullopt;
  }
  return field.substr(2);
}

bool isAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// extensions = attr-val *("," attr-val); attr-val = ALPHA "=" value.
bool isExtension(std::string_view field) {
  return field.size() >= 2 && isAlpha(field[0]) && field[1] == '=';
}

// True if fields [begin, end) are all extensions other than `except` (0: no exception).
bool areExtensions(const std::vector<std::string_view>& fields, size_t begin, size_t end,
                   char except = 0) {
  for (size_t i = begin; i < end; ++i) {
    if (!isExtension(fields[i]) || fields[i][0] == except) {
      return false;
    }
  }
  return true;
}

// printable = %x21-2B / %x2D-7E, i.e. visible ASCII except ','.
bool isPrintableNonce(std::string_view nonce) {
  if (nonce.empty()) {
    return false;
  }
  for (char c : nonce) {
    if (c < 0x21 || c > 0x7E || c == ',') {
      return false;
    }
  }
  return true;
}

// A positive decimal int without sign or spaces.
std::optional<int> parseIterations(std::string_view text) {
  if (text.empty() || text[0] < '0' || text[0] > '9') {
    return std::nullopt;
  }
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value <= 0) {
    return std::nullopt;
  }
  return value;
}

// saslname: ',' and '=' are written as "=2C" and "=3D".
std::string escapeSaslName(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == ',') {
      out += "=2C";
    } else if (c == '=') {
      out += "=3D";
    } else {
      out += c;
    }
  }
  return out;
}

std::string malformed(std::string_view message, std::string_view what) {
  return "malformed SCRAM " + std::string(message) + ": " + std::string(what);
}

bool isValidVerifier(const ScramVerifier& v) {
  return v.iterations > 0 && !v.salt.empty() && v.storedKey.size() == kScramKeyLength &&
         v.serverKey.size() == kScramKeyLength;
}

}  // namespace

// --- Encoding, verifiers, comparison. ---

std::string base64Encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t n = (static_cast<uint8_t>(data[i]) << 16) | (static_cast<uint8_t>(data[i + 1]) << 8) |
                 static_cast<uint8_t>(data[i + 2]);
    out += kBase64Alphabet[(n >> 18) & 63];
    out += kBase64Alphabet[(n >> 12) & 63];
    out += kBase64Alphabet[(n >> 6) & 63];
    out += kBase64Alphabet[n & 63];
  }
  size_t rest = data.size() - i;
  if (rest > 0) {
    uint32_t n = static_cast<uint8_t>(data[i]) << 16;
    if (rest == 2) {
      n |= static_cast<uint8_t>(data[i + 1]) << 8;
    }
    out += kBase64Alphabet[(n >> 18) & 63];
    out += kBase64Alphabet[(n >> 12) & 63];
    out += rest == 2 ? kBase64Alphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<Bytes> base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return std::nullopt;
  }
  size_t padding = 0;
  if (!text.empty() && text.back() == '=') {
    padding = text[text.size() - 2] == '=' ? 2 : 1;
  }

  Bytes out;
  out.reserve(text.size() / 4 * 3);
  uint32_t bits = 0;
  size_t dataChars = text.size() - padding;
  for (size_t i = 0; i < dataChars; ++i) {
    size_t value = kBase64Alphabet.find(text[i]);
    if (value == std::string_view::npos) {
      return std::nullopt;  // also catches '=' before the end
    }
    bits = (bits << 6) | static_cast<uint32_t>(value);
    if (i % 4 == 3) {
      out += static_cast<char>((bits >> 16) & 0xFF);
      out += static_cast<char>((bits >> 8) & 0xFF);
      out += static_cast<char>(bits & 0xFF);
      bits = 0;
    }
  }

  // The last quantum: 2 data chars carry 1 byte (4 spare bits), 3 carry 2 bytes (2 spare bits).
  // Spare bits must be zero, so every byte string has exactly one accepted encoding.
  if (padding == 2) {
    if ((bits & 0xF) != 0) {
      return std::nullopt;
    }
    out += static_cast<char>((bits >> 4) & 0xFF);
  } else if (padding == 1) {
    if ((bits & 0x3) != 0) {
      return std::nullopt;
    }
    out += static_cast<char>((bits >> 10) & 0xFF);
    out += static_cast<char>((bits >> 2) & 0xFF);
  }
  return out;
}

bool constantTimeEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::optional<ScramVerifier> parseScramVerifier(std::string_view text) {
  if (text.substr(0, kVerifierPrefix.size()) != kVerifierPrefix) {
    return std::nullopt;
  }
  text.remove_prefix(kVerifierPrefix.size());

  // "<iter>:<salt>$<StoredKey>:<ServerKey>"
  size_t dollar = text.find('$');
  if (dollar == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view params = text.substr(0, dollar);
  std::string_view keys = text.substr(dollar + 1);
  size_t paramsColon = params.find(':');
  size_t keysColon = keys.find(':');
  if (paramsColon == std::string_view::npos || keysColon == std::string_view::npos) {
    return std::nullopt;
  }

  std::optional<int> iterations = parseIterations(params.substr(0, paramsColon));
  std::optional<Bytes> salt = base64Decode(params.substr(paramsColon + 1));
  std::optional<Bytes> storedKey = base64Decode(keys.substr(0, keysColon));
  std::optional<Bytes> serverKey = base64Decode(keys.substr(keysColon + 1));
  if (!iterations || !salt || !storedKey || !serverKey) {
    return std::nullopt;  // a stray '$' or ':' lands in a base64 field and fails there
  }
  ScramVerifier verifier{*iterations, std::move(*salt), std::move(*storedKey),
                         std::move(*serverKey)};
  if (!isValidVerifier(verifier)) {
    return std::nullopt;
  }
  return verifier;
}

std::string makeScramVerifier(std::string_view password, std::string_view salt, int iterations) {
  if (iterations <= 0 || salt.empty()) {
    return {};
  }
  std::optional<PasswordKeys> keys = passwordKeys(password, salt, iterations);
  if (!keys) {
    return {};
  }
  std::optional<Bytes> storedKey = sha256(keys->clientKey);
  if (!storedKey) {
    return {};
  }
  return std::string(kVerifierPrefix) + std::to_string(iterations) + ":" + base64Encode(salt) +
         "$" + base64Encode(*storedKey) + ":" + base64Encode(keys->serverKey);
}

std::string makeScramVerifier(std::string_view password) {
  std::array<unsigned char, kScramDefaultSaltLength> salt{};
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) {
    return {};
  }
  return makeScramVerifier(
      password, std::string_view(reinterpret_cast<const char*>(salt.data()), salt.size()),
      kScramDefaultIterations);
}

// --- ScramServer ---

ScramServer::ScramServer(ScramVerifier verifier) : verifier_(std::move(verifier)) {}

ScramServer::ScramServer(ScramVerifier verifier, std::string serverNonce)
    : verifier_(std::move(verifier)), serverNonce_(std::move(serverNonce)) {}

std::optional<std::string> ScramServer::fail(std::string* error, std::string reason) {
  state_ = State::Failed;
  if (error != nullptr) {
    *error = std::move(reason);
  }
  return std::nullopt;
}

// client-first-message = gs2-header client-first-message-bare
//   gs2-header = gs2-cbind-flag "," [authzid] ","
//   client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
std::optional<std::string> ScramServer::handleClientFirst(std::string_view data,
                                                          std::string* error) {
  constexpr std::string_view kWhat = "client-first-message";
  if (state_ != State::ExpectClientFirst) {
    return fail(error, "unexpected SCRAM client-first-message");
  }
  if (!isValidVerifier(verifier_)) {
    return fail(error, "invalid SCRAM verifier for this user");
  }
  std::vector<std::string_view> fields = splitFields(data);
  if (fields.size() < 4) {
    return fail(error, malformed(kWhat, "too few attributes"));
  }

  // gs2 header: "p=" only with SCRAM-SHA-256-PLUS, which then requires it.
  bool plus = !endPointHash_.empty();
  if (plus && fields[0] != "p=tls-server-end-point") {
    return fail(error, fields[0].substr(0, 2) == "p="
                           ? "unsupported SCRAM channel-binding type"
                           : "channel binding is required with SCRAM-SHA-256-PLUS");
  }
  if (!plus && fields[0].substr(0, 2) == "p=") {
    return fail(error,
                "client requested SCRAM channel binding, but SCRAM-SHA-256-PLUS is not offered");
  }
  if (!plus && fields[0] != "n" && fields[0] != "y") {
    return fail(error, malformed(kWhat, "unexpected channel-binding flag"));
  }
  if (!fields[1].empty()) {
    return fail(error, fields[1].substr(0, 2) == "a="
                           ? "client uses an authorization identity, which is not supported"
                           : malformed(kWhat, "unexpected attribute after channel-binding flag"));
  }

  if (fields[2].substr(0, 2) == "m=") {
    return fail(error, "client requires an unsupported SCRAM extension");
  }
  if (!attrValue(fields[2], 'n')) {
    return fail(error, malformed(kWhat, "expected attribute \"n\""));
  }
  std::optional<std::string_view> clientNonce = attrValue(fields[3], 'r');
  if (!clientNonce) {
    return fail(error, malformed(kWhat, "expected attribute \"r\""));
  }
  if (!isPrintableNonce(*clientNonce)) {
    return fail(error, malformed(kWhat, "empty or non-printable nonce"));
  }
  if (!areExtensions(fields, 4, fields.size())) {
    return fail(error, malformed(kWhat, "garbage after nonce"));
  }

  if (serverNonce_.empty()) {
    std::optional<std::string> nonce = randomNonce();
    if (!nonce) {
      return fail(error, "could not generate a random SCRAM nonce");
    }
    serverNonce_ = std::move(*nonce);
  }
  if (!isPrintableNonce(serverNonce_)) {
    return fail(error, "invalid server nonce");
  }
  gs2Header_ = std::string(fields[0]) + ",,";
  clientFirstBare_ = std::string(data.substr(gs2Header_.size()));
  nonce_ = std::string(*clientNonce) + serverNonce_;
  serverFirst_ = "r=" + nonce_ + ",s=" + base64Encode(verifier_.salt) +
                 ",i=" + std::to_string(verifier_.iterations);
  state_ = State::ExpectClientFinal;
  return serverFirst_;
}

// client-final-message = channel-binding "," nonce ["," extensions] "," proof
std::optional<std::string> ScramServer::handleClientFinal(std::string_view data,
                                                          std::string* error) {
  constexpr std::string_view kWhat = "client-final-message";
  if (state_ != State::ExpectClientFinal) {
    return fail(error, "unexpected SCRAM client-final-message");
  }
  std::vector<std::string_view> fields = splitFields(data);
  if (fields.size() < 3) {
    return fail(error, malformed(kWhat, "too few attributes"));
  }

  std::optional<std::string_view> binding = attrValue(fields[0], 'c');
  if (!binding) {
    return fail(error, malformed(kWhat, "expected attribute \"c\""));
  }
  std::optional<Bytes> bindingData = base64Decode(*binding);
  if (!bindingData || *bindingData != gs2Header_ + endPointHash_) {
    return fail(error, "SCRAM channel binding check failed");
  }
  std::optional<std::string_view> nonce = attrValue(fields[1], 'r');
  if (!nonce) {
    return fail(error, malformed(kWhat, "expected attribute \"r\""));
  }
  if (*nonce != nonce_) {
    return fail(error, "SCRAM nonce does not match");
  }
  if (!areExtensions(fields, 2, fields.size() - 1, 'p')) {
    return fail(error, malformed(kWhat, "unexpected attribute before proof"));
  }
  std::optional<std::string_view> proofText = attrValue(fields.back(), 'p');
  if (!proofText) {
    return fail(error, malformed(kWhat, "expected attribute \"p\" at the end"));
  }
  std::optional<Bytes> proof = base64Decode(*proofText);
  if (!proof || proof->size() != kScramKeyLength) {
    return fail(error, malformed(kWhat, "invalid proof"));
  }

  // AuthMessage := client-first-message-bare "," server-first-message ","
  //                client-final-message-without-proof
  std::string_view withoutProof = data.substr(0, data.size() - fields.back().size() - 1);
  std::string authMessage = clientFirstBare_ + "," + serverFirst_ + "," + std::string(withoutProof);
  std::optional<Bytes> clientSignature = hmacSha256(verifier_.storedKey, authMessage);
  std::optional<Bytes> serverSignature = hmacSha256(verifier_.serverKey, authMessage);
  if (!clientSignature || !serverSignature) {
    return fail(error, "SCRAM computation failed in OpenSSL");
  }

  // ClientKey := ClientProof XOR ClientSignature; the proof holds iff H(ClientKey) == StoredKey.
  Bytes clientKey = xorBytes(*proof, *clientSignature);
  std::optional<Bytes> storedKey = sha256(clientKey);
  if (!storedKey) {
    return fail(error, "SCRAM computation failed in OpenSSL");
  }
  if (!constantTimeEqual(*storedKey, verifier_.storedKey)) {
    return fail(error, "password authentication failed (wrong SCRAM proof)");
  }
  clientKey_ = std::move(clientKey);
  state_ = State::Done;
  return "v=" + base64Encode(*serverSignature);
}

// --- ScramClient ---

ScramClient::ScramClient(std::string password) : password_(std::move(password)) {}

ScramClient::ScramClient(std::string password, std::string nonce, std::string_view user)
    : password_(std::move(password)), user_(escapeSaslName(user)), clientNonce_(std::move(nonce)) {}

ScramClient::~ScramClient() {
  wipe(password_);
  wipe(clientKey_);
  wipe(serverKey_);
}

ScramClient ScramClient::fromKeys(const ScramVerifier& verifier, Bytes clientKey) {
  ScramClient client{std::string()};
  client.keysVerifier_ = verifier;
  client.clientKey_ = std::move(clientKey);
  client.serverKey_ = verifier.serverKey;
  return client;
}

bool ScramClient::fail(std::string* error, std::string reason) {
  state_ = State::Failed;
  if (error != nullptr) {
    *error = std::move(reason);
  }
  return false;
}

std::string ScramClient::clientFirst() {
  if (state_ != State::Initial) {
    state_ = State::Failed;
    return {};
  }
  if (clientNonce_.empty()) {
    std::optional<std::string> nonce = randomNonce();
    if (!nonce) {
      state_ = State::Failed;
      return {};
    }
    clientNonce_ = std::move(*nonce);
  }
  clientFirstBare_ = "n=" + user_ + ",r=" + clientNonce_;
  state_ = State::ExpectServerFirst;
  return "n,," + clientFirstBare_;
}

// Sets clientKey_ and serverKey_ for the backend's salt and iteration count.
bool ScramClient::deriveKeys(std::string_view salt, int iterations, std::string* error) {
  if (keysVerifier_) {
    if (salt != keysVerifier_->salt || iterations != keysVerifier_->iterations) {
      return fail(error,
                  "backend's SCRAM salt or iteration count differs from the client's "
                  "verifier, so its ClientKey cannot be reused");
    }
    std::optional<Bytes> storedKey = sha256(clientKey_);
    if (!storedKey || !constantTimeEqual(*storedKey, keysVerifier_->storedKey)) {
      return fail(error, "ClientKey does not match the verifier");
    }
    return true;
  }
  std::optional<PasswordKeys> keys = passwordKeys(password_, salt, iterations);
  if (!keys) {
    return fail(error, "SCRAM computation failed in OpenSSL");
  }
  clientKey_ = keys->clientKey;
  serverKey_ = keys->serverKey;
  return true;
}

// server-first-message = [reserved-mext ","] nonce "," salt "," iteration-count ["," extensions]
std::optional<std::string> ScramClient::handleServerFirst(std::string_view data,
                                                          std::string* error) {
  constexpr std::string_view kWhat = "server-first-message";
  auto reject = [&](std::string reason) {
    fail(error, std::move(reason));
    return std::nullopt;
  };
  if (state_ != State::ExpectServerFirst) {
    return reject("unexpected SCRAM server-first-message");
  }
  std::vector<std::string_view> fields = splitFields(data);
  if (fields[0].substr(0, 2) == "m=") {
    return reject("server requires an unsupported SCRAM extension");
  }
  if (fields.size() < 3) {
    return reject(malformed(kWhat, "too few attributes"));
  }

  std::optional<std::string_view> nonce = attrValue(fields[0], 'r');
  std::optional<std::string_view> saltText = attrValue(fields[1], 's');
  std::optional<std::string_view> iterationsText = attrValue(fields[2], 'i');
  if (!nonce || !saltText || !iterationsText) {
    return reject(malformed(kWhat, "expected attributes \"r\", \"s\", \"i\" in that order"));
  }
  // The server's nonce must extend ours by at least one character.
  if (nonce->size() <= clientNonce_.size() ||
      nonce->substr(0, clientNonce_.size()) != clientNonce_ || !isPrintableNonce(*nonce)) {
    return reject("SCRAM nonce from server does not extend the client nonce");
  }
  std::optional<Bytes> salt = base64Decode(*saltText);
  if (!salt || salt->empty()) {
    return reject(malformed(kWhat, "invalid salt"));
  }
  std::optional<int> iterations = parseIterations(*iterationsText);
  if (!iterations) {
    return reject(malformed(kWhat, "invalid iteration count"));
  }
  if (!areExtensions(fields, 3, fields.size())) {
    return reject(malformed(kWhat, "garbage after iteration count"));
  }

  if (!deriveKeys(*salt, *iterations, error)) {
    return std::nullopt;
  }
  std::string withoutProof = "c=biws,r=" + std::string(*nonce);  // biws = base64("n,,")
  std::string authMessage = clientFirstBare_ + "," + std::string(data) + "," + withoutProof;
  std::optional<Bytes> storedKey = sha256(clientKey_);
  std::optional<Bytes> clientSignature;
  std::optional<Bytes> serverSignature;
  if (storedKey) {
    clientSignature = hmacSha256(*storedKey, authMessage);
    serverSignature = hmacSha256(serverKey_, authMessage);
  }
  if (!clientSignature || !serverSignature || clientKey_.size() != clientSignature->size()) {
    return reject("SCRAM computation failed");
  }
  expectedServerSignature_ = std::move(*serverSignature);
  state_ = State::ExpectServerFinal;
  return withoutProof + ",p=" + base64Encode(xorBytes(clientKey_, *clientSignature));
}

// server-final-message = (server-error / verifier) ["," extensions]
bool ScramClient::verifyServerFinal(std::string_view data, std::string* error) {
  constexpr std::string_view kWhat = "server-final-message";
  if (state_ != State::ExpectServerFinal) {
    return fail(error, "unexpected SCRAM server-final-message");
  }
  std::vector<std::string_view> fields = splitFields(data);
  if (std::optional<std::string_view> serverError = attrValue(fields[0], 'e')) {
    return fail(error, "server reported SCRAM error: " + std::string(*serverError));
  }
  std::optional<std::string_view> verifier = attrValue(fields[0], 'v');
  if (!verifier) {
    return fail(error, malformed(kWhat, "expected attribute \"v\""));
  }
  if (!areExtensions(fields, 1, fields.size())) {
    return fail(error, malformed(kWhat, "garbage after server signature"));
  }
  std::optional<Bytes> signature = base64Decode(*verifier);
  if (!signature) {
    return fail(error, malformed(kWhat, "invalid server signature encoding"));
  }
  if (!constantTimeEqual(*signature, expectedServerSignature_)) {
    return fail(error, "incorrect SCRAM server signature");
  }
  state_ = State::Done;
  return true;
}

}  // namespace shardline::auth
