#include "router/config.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <initializer_list>
#include <limits>
#include <map>
#include <memory>
#include <string_view>
#include <utility>

#include <toml++/toml.h>

namespace shardline {
namespace {

constexpr int64_t kMaxWorkers = 256;
constexpr int64_t kMaxPort = 65535;
constexpr int64_t kMaxBacklog = 65535;
constexpr int64_t kMaxPoolSize = 100000;
constexpr int64_t kMinMessageBytes = 1024;
constexpr int64_t kMaxMessageBytes = int64_t{1} << 30;  // Postgres' own limit on one allocation
constexpr int64_t kMaxMillis = int64_t{365} * 24 * 3600 * 1000;
// sun_path holds 108 bytes, the terminating NUL included.
constexpr size_t kMaxUnixSocketPath = 107;
constexpr std::string_view kSocketFilePrefix = "/.s.PGSQL.";
constexpr std::string_view kScramPrefix = "SCRAM-SHA-256$";
constexpr size_t kMd5SecretLength = 35;       // "md5" + 32 hex digits
constexpr size_t kScramKeyBase64Length = 44;  // a 32-byte SHA-256 key in base64

enum class Presence { Optional, Required };

template <typename E>
struct EnumName {
  std::string_view name;
  E value;
};

constexpr std::array<EnumName<PoolMode>, 2> kPoolModes{{
    {"session", PoolMode::Session},
    {"transaction", PoolMode::Transaction},
}};

constexpr std::array<EnumName<ClientAuth>, 3> kClientAuths{{
    {"trust", ClientAuth::Trust},
    {"md5", ClientAuth::Md5},
    {"scram-sha-256", ClientAuth::ScramSha256},
}};

constexpr std::array<EnumName<BackendTls>, 4> kBackendTlsModes{{
    {"disable", BackendTls::Disable},
    {"prefer", BackendTls::Prefer},
    {"require", BackendTls::Require},
    {"verify-full", BackendTls::VerifyFull},
}};

constexpr std::array<std::string_view, 5> kLogLevels{"trace", "debug", "info", "warn", "error"};
constexpr std::array<std::string_view, 2> kNodeRoles{"primary", "replica"};
constexpr int64_t kMaxWeight = 1000;
constexpr int64_t kMaxLagBytes = int64_t{1} << 50;

using replication::ReadPolicy;

constexpr std::array<EnumName<ReadPolicy>, 6> kReadPolicies{{
    {"primary", ReadPolicy::Primary},
    {"round_robin", ReadPolicy::RoundRobin},
    {"random", ReadPolicy::Random},
    {"least_connections", ReadPolicy::LeastConnections},
    {"weighted", ReadPolicy::Weighted},
    {"client_hash", ReadPolicy::ClientHash},
}};

constexpr std::array<EnumName<ReadYourWrites>, 3> kReadYourWrites{{
    {"off", ReadYourWrites::Off},
    {"session", ReadYourWrites::Session},
    {"user", ReadYourWrites::User},
}};

constexpr std::array<EnumName<ClientHashOf>, 2> kClientHashes{{
    {"address", ClientHashOf::Address},
    {"user", ClientHashOf::User},
}};

std::string_view typeName(toml::node_type type) {
  switch (type) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time:
      return "a date or time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

std::string quoted(std::string_view text) {
  std::string out = "\"";
  out += text;
  out += '"';
  return out;
}

template <typename Names>
std::string oneOf(const Names& names) {
  std::string out = "must be one of ";
  for (size_t i = 0; i < names.size(); ++i) {
    out += (i == 0 ? "" : ", ") + quoted(names[i]);
  }
  return out;
}

// A TOML table being read, and the dotted name errors give it: "" for the
// root, "pool", "nodes[2]".
struct Scope {
  const toml::table* table;
  std::string name;

  std::string key(std::string_view child) const {
    return name.empty() ? std::string(child) : name + "." + std::string(child);
  }
};

// Reads typed values out of TOML tables and keeps the first error, formatted as
// "<path>:<line>: <dotted.key>: <what is wrong>". Later errors are dropped, so a
// table's parser reads its keys one after another and the caller checks once.
// A value that is absent or wrong leaves the output at its default.
class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {}

  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }

  void fail(uint32_t line, std::string_view key, std::string_view what) {
    if (!failed()) {
      error_ =
          path_ + ":" + std::to_string(line) + ": " + std::string(key) + ": " + std::string(what);
    }
  }

  // The line of `key` in `scope`, or of the table itself when the key is absent.
  uint32_t lineOf(const Scope& scope, std::string_view key) const {
    auto it = scope.table->find(key);
    if (it == scope.table->end()) {
      return std::max<uint32_t>(scope.table->source().begin.line, 1);
    }
    uint32_t line = it->first.source().begin.line;
    return line != 0 ? line : it->second.source().begin.line;
  }

  void rejectUnknownKeys(const Scope& scope, std::initializer_list<std::string_view> known);
  void readString(const Scope& scope, std::string_view key, Presence presence, std::string* out);
  void readChoice(const Scope& scope, std::string_view key, Presence presence,
                  const std::vector<std::string_view>& choices, std::string* out);
  void readMillis(const Scope& scope, std::string_view key, int64_t min, Millis* out);
  void readBool(const Scope& scope, std::string_view key, bool* out);

  // Requires: [min, max] fits in T.
  template <typename T>
  void readInt(const Scope& scope, std::string_view key, int64_t min, int64_t max, T* out) {
    assert(min >= std::numeric_limits<T>::min() && max <= std::numeric_limits<T>::max());
    std::optional<int64_t> value = readInteger(scope, key, min, max);
    if (value) {
      *out = static_cast<T>(*value);
    }
  }

  template <typename E, size_t N>
  void readEnum(const Scope& scope, std::string_view key, const std::array<EnumName<E>, N>& names,
                E* out) {
    std::vector<std::string_view> choices;
    choices.reserve(N);
    for (const EnumName<E>& name : names) {
      choices.push_back(name.name);
    }
    std::string text;
    readChoice(scope, key, Presence::Optional, choices, &text);
    for (const EnumName<E>& name : names) {
      if (name.name == text) {
        *out = name.value;
      }
    }
  }

  std::optional<Scope> readTable(const Scope& scope, std::string_view key);
  const toml::array* readTableArray(const Scope& scope, std::string_view key);

 private:
  // The value of `key`, or nullptr after recording an error when it has the wrong type.
  const toml::node* find(const Scope& scope, std::string_view key, toml::node_type type);
  std::optional<int64_t> readInteger(const Scope& scope, std::string_view key, int64_t min,
                                     int64_t max);

  std::string path_;
  std::string error_;
};

void Reader::rejectUnknownKeys(const Scope& scope, std::initializer_list<std::string_view> known) {
  // Of several unknown keys, name the one that comes first in the file.
  const toml::key* first = nullptr;
  for (const auto& [key, value] : *scope.table) {
    bool isKnown = std::find(known.begin(), known.end(), key.str()) != known.end();
    if (!isKnown && (first == nullptr || key.source().begin < first->source().begin)) {
      first = &key;
    }
  }
  if (first != nullptr) {
    fail(lineOf(scope, first->str()), scope.key(first->str()), "unknown key");
  }
}

const toml::node* Reader::find(const Scope& scope, std::string_view key, toml::node_type type) {
  const toml::node* node = scope.table->get(key);
  if (node == nullptr || node->type() == type) {
    return node;
  }
  fail(lineOf(scope, key), scope.key(key),
       "must be " + std::string(typeName(type)) + ", not " + std::string(typeName(node->type())));
  return nullptr;
}

void Reader::readString(const Scope& scope, std::string_view key, Presence presence,
                        std::string* out) {
  const toml::node* node = find(scope, key, toml::node_type::string);
  if (node == nullptr && scope.table->contains(key)) {
    return;  // wrong type, already reported
  }
  if (node == nullptr) {
    if (presence == Presence::Required) {
      fail(lineOf(scope, key), scope.key(key), "is required");
    }
    return;
  }
  *out = node->as_string()->get();
  if (presence == Presence::Required && out->empty()) {
    fail(lineOf(scope, key), scope.key(key), "must not be empty");
  }
}

void Reader::readChoice(const Scope& scope, std::string_view key, Presence presence,
                        const std::vector<std::string_view>& choices, std::string* out) {
  std::string text;
  readString(scope, key, presence, &text);
  if (!scope.table->contains(key) || failed()) {
    return;
  }
  if (std::find(choices.begin(), choices.end(), text) == choices.end()) {
    fail(lineOf(scope, key), scope.key(key), oneOf(choices) + " (got " + quoted(text) + ")");
    return;
  }
  *out = text;
}

std::optional<int64_t> Reader::readInteger(const Scope& scope, std::string_view key, int64_t min,
                                           int64_t max) {
  const toml::node* node = find(scope, key, toml::node_type::integer);
  if (node == nullptr) {
    return std::nullopt;
  }
  int64_t value = node->as_integer()->get();
  if (value < min || value > max) {
    fail(lineOf(scope, key), scope.key(key),
         "must be between " + std::to_string(min) + " and " + std::to_string(max) + " (got " +
             std::to_string(value) + ")");
    return std::nullopt;
  }
  return value;
}

void Reader::readMillis(const Scope& scope, std::string_view key, int64_t min, Millis* out) {
  std::optional<int64_t> value = readInteger(scope, key, min, kMaxMillis);
  if (value) {
    *out = Millis(*value);
  }
}

void Reader::readBool(const Scope& scope, std::string_view key, bool* out) {
  const toml::node* node = find(scope, key, toml::node_type::boolean);
  if (node != nullptr) {
    *out = node->as_boolean()->get();
  }
}

std::optional<Scope> Reader::readTable(const Scope& scope, std::string_view key) {
  const toml::node* node = find(scope, key, toml::node_type::table);
  if (node == nullptr) {
    return std::nullopt;
  }
  return Scope{node->as_table(), scope.key(key)};
}

const toml::array* Reader::readTableArray(const Scope& scope, std::string_view key) {
  const toml::node* node = scope.table->get(key);
  if (node == nullptr) {
    return nullptr;
  }
  const toml::array* array = node->as_array();
  if (array != nullptr && (array->empty() || array->is_array_of_tables())) {
    return array;
  }
  std::string_view what = array != nullptr ? "an array of other values" : typeName(node->type());
  fail(lineOf(scope, key), scope.key(key),
       "must be an array of tables ([[" + std::string(key) + "]]), not " + std::string(what));
  return nullptr;
}

// Client secrets, in the forms Postgres keeps in pg_authid.rolpassword.

bool isBase64(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) {
    return false;
  }
  size_t padding = text.size() - text.find_last_not_of('=') - 1;
  if (padding > 2) {
    return false;
  }
  text.remove_suffix(padding);
  constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  return text.find_first_not_of(kAlphabet) == std::string_view::npos;
}

bool isScramKey(std::string_view text) {
  return text.size() == kScramKeyBase64Length && isBase64(text);
}

// "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>"
bool isScramVerifier(std::string_view secret) {
  secret.remove_prefix(kScramPrefix.size());
  size_t colon = secret.find(':');
  size_t dollar = secret.find('$');
  size_t keyColon = secret.find(':', dollar == std::string_view::npos ? secret.size() : dollar);
  if (colon == std::string_view::npos || dollar == std::string_view::npos || colon > dollar ||
      keyColon == std::string_view::npos) {
    return false;
  }
  std::string_view iterations = secret.substr(0, colon);
  std::string_view salt = secret.substr(colon + 1, dollar - colon - 1);
  std::string_view storedKey = secret.substr(dollar + 1, keyColon - dollar - 1);
  std::string_view serverKey = secret.substr(keyColon + 1);
  bool validIterations = !iterations.empty() && iterations.size() <= 9 &&
                         iterations.find_first_not_of("0123456789") == std::string_view::npos &&
                         iterations.find_first_not_of('0') != std::string_view::npos;
  return validIterations && isBase64(salt) && isScramKey(storedKey) && isScramKey(serverKey);
}

bool isMd5Secret(std::string_view secret) {
  return secret.size() == kMd5SecretLength && secret.starts_with("md5") &&
         secret.find_first_not_of("0123456789abcdef", 3) == std::string_view::npos;
}

std::string_view authName(ClientAuth auth) {
  for (const EnumName<ClientAuth>& name : kClientAuths) {
    if (name.value == auth) {
      return name.name;
    }
  }
  return "";
}

std::string_view secretFormNeeded(ClientAuth auth) {
  switch (auth) {
    case ClientAuth::Trust:
      return "an empty password";
    case ClientAuth::Md5:
      return "password to be an md5 secret";
    case ClientAuth::ScramSha256:
      return "password to be a SCRAM-SHA-256 verifier";
  }
  return "";
}

// Derives the method from the form of `password`, then checks an explicit `auth` against it.
void readUserAuth(Reader& reader, const Scope& scope, UserConfig* user) {
  const std::string& secret = user->password;
  if (secret.empty()) {
    user->auth = ClientAuth::Trust;
  } else if (isMd5Secret(secret)) {
    user->auth = ClientAuth::Md5;
  } else if (secret.starts_with(kScramPrefix) && isScramVerifier(secret)) {
    user->auth = ClientAuth::ScramSha256;
  } else if (secret.starts_with(kScramPrefix)) {
    reader.fail(reader.lineOf(scope, "password"), scope.key("password"),
                "is not a valid SCRAM-SHA-256 verifier (expected "
                "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>)");
    return;
  } else {
    reader.fail(reader.lineOf(scope, "password"), scope.key("password"),
                "must be a SCRAM-SHA-256 verifier or an md5 secret as Postgres stores them, "
                "not a plain password");
    return;
  }

  ClientAuth derived = user->auth;
  reader.readEnum(scope, "auth", kClientAuths, &user->auth);
  if (user->auth != derived) {
    reader.fail(
        reader.lineOf(scope, "auth"), scope.key("auth"),
        quoted(authName(user->auth)) + " requires " + std::string(secretFormNeeded(user->auth)));
  }
}

// The per-table parsers. Each rejects keys it does not know, then reads its keys in order.

void parseListen(Reader& reader, const Scope& scope, ListenConfig* listen) {
  reader.rejectUnknownKeys(scope, {"host", "port", "unix_socket_dir", "backlog"});
  reader.readString(scope, "host", Presence::Optional, &listen->host);
  reader.readInt(scope, "port", 1, kMaxPort, &listen->port);
  reader.readString(scope, "unix_socket_dir", Presence::Optional, &listen->unixSocketDir);
  reader.readInt(scope, "backlog", 1, kMaxBacklog, &listen->backlog);

  const std::string& dir = listen->unixSocketDir;
  size_t socketPathLength =
      dir.size() + kSocketFilePrefix.size() + std::to_string(listen->port).size();
  if (!dir.empty() && dir.front() != '/') {
    reader.fail(reader.lineOf(scope, "unix_socket_dir"), scope.key("unix_socket_dir"),
                "must be an absolute path");
  } else if (socketPathLength > kMaxUnixSocketPath) {
    reader.fail(reader.lineOf(scope, "unix_socket_dir"), scope.key("unix_socket_dir"),
                "is too long: the socket path would exceed " + std::to_string(kMaxUnixSocketPath) +
                    " bytes");
  }
  if (listen->host.empty() && dir.empty()) {
    reader.fail(reader.lineOf(scope, "host"), scope.key("host"),
                "is empty and listen.unix_socket_dir is not set: nothing to listen on");
  }
}

void parseTls(Reader& reader, const Scope& scope, TlsConfig* tls) {
  reader.rejectUnknownKeys(scope, {"cert_file", "key_file"});
  reader.readString(scope, "cert_file", Presence::Optional, &tls->certFile);
  reader.readString(scope, "key_file", Presence::Optional, &tls->keyFile);
  if (!tls->certFile.empty() && tls->keyFile.empty()) {
    reader.fail(reader.lineOf(scope, "key_file"), scope.key("key_file"),
                "is required when tls.cert_file is set");
  }
  if (tls->certFile.empty() && !tls->keyFile.empty()) {
    reader.fail(reader.lineOf(scope, "cert_file"), scope.key("cert_file"),
                "is required when tls.key_file is set");
  }
}

void parsePool(Reader& reader, const Scope& scope, PoolConfig* pool) {
  reader.rejectUnknownKeys(
      scope, {"mode", "min_size", "max_size", "connect_timeout_ms", "checkout_timeout_ms",
              "idle_timeout_ms", "lifetime_ms", "tls", "tls_root_cert"});
  reader.readEnum(scope, "mode", kPoolModes, &pool->mode);
  reader.readInt(scope, "min_size", 0, kMaxPoolSize, &pool->minSize);
  reader.readInt(scope, "max_size", 1, kMaxPoolSize, &pool->maxSize);
  reader.readMillis(scope, "connect_timeout_ms", 1, &pool->connectTimeout);
  reader.readMillis(scope, "checkout_timeout_ms", 1, &pool->checkoutTimeout);
  reader.readMillis(scope, "idle_timeout_ms", 1, &pool->idleTimeout);
  reader.readMillis(scope, "lifetime_ms", 1, &pool->lifetime);
  reader.readEnum(scope, "tls", kBackendTlsModes, &pool->tls);
  reader.readString(scope, "tls_root_cert", Presence::Optional, &pool->tlsRootCert);

  if (pool->minSize > pool->maxSize) {
    reader.fail(reader.lineOf(scope, "min_size"), scope.key("min_size"),
                "must not exceed pool.max_size (" + std::to_string(pool->minSize) + " > " +
                    std::to_string(pool->maxSize) + ")");
  }
  if (pool->tls == BackendTls::VerifyFull && pool->tlsRootCert.empty()) {
    reader.fail(reader.lineOf(scope, "tls_root_cert"), scope.key("tls_root_cert"),
                "is required when pool.tls is \"verify-full\"");
  }
}

void parseTimeouts(Reader& reader, const Scope& scope, TimeoutConfig* timeouts) {
  reader.rejectUnknownKeys(scope, {"client_idle_ms", "shutdown_drain_ms", "client_login_ms"});
  reader.readMillis(scope, "client_idle_ms", 0, &timeouts->clientIdle);
  reader.readMillis(scope, "shutdown_drain_ms", 0, &timeouts->shutdownDrain);
  reader.readMillis(scope, "client_login_ms", 1, &timeouts->clientLogin);
}

void parseLog(Reader& reader, const Scope& scope, LogConfig* log) {
  reader.rejectUnknownKeys(scope, {"level", "file"});
  reader.readChoice(scope, "level", Presence::Optional, {kLogLevels.begin(), kLogLevels.end()},
                    &log->level);
  reader.readString(scope, "file", Presence::Optional, &log->file);
}

void parseRouting(Reader& reader, const Scope& scope, RoutingConfig* routing) {
  reader.rejectUnknownKeys(scope, {"allow_multishard_writes"});
  reader.readBool(scope, "allow_multishard_writes", &routing->allowMultishardWrites);
}

Scope elementScope(const toml::array& array, std::string_view name, size_t index) {
  return Scope{array[index].as_table(), std::string(name) + "[" + std::to_string(index) + "]"};
}

void parseReadRule(Reader& reader, const Scope& scope, replication::ReadRule* rule) {
  reader.readEnum(scope, "policy", kReadPolicies, &rule->policy);
  reader.readBool(scope, "include_primary", &rule->includePrimary);
}

// Requires: `nodes` parsed, for the shards an override may name.
void parseReads(Reader& reader, const Scope& scope, const std::vector<NodeConfig>& nodes,
                ReadsConfig* reads) {
  reader.rejectUnknownKeys(scope, {"policy", "include_primary", "client_hash", "read_your_writes",
                                   "max_lag_bytes", "max_lag_ms", "override"});
  parseReadRule(reader, scope, &reads->rule);
  reader.readEnum(scope, "client_hash", kClientHashes, &reads->clientHash);
  reader.readEnum(scope, "read_your_writes", kReadYourWrites, &reads->readYourWrites);
  reader.readInt(scope, "max_lag_bytes", 0, kMaxLagBytes, &reads->maxLagBytes);
  reader.readMillis(scope, "max_lag_ms", 0, &reads->maxLag);
  const toml::array* array = reader.readTableArray(scope, "override");
  for (size_t i = 0; array != nullptr && i < array->size(); ++i) {
    Scope element = elementScope(*array, scope.key("override"), i);
    reader.rejectUnknownKeys(element, {"shard", "database", "policy", "include_primary"});
    ReadOverride entry;
    entry.rule = reads->rule;
    reader.readString(element, "shard", Presence::Optional, &entry.shard);
    reader.readString(element, "database", Presence::Optional, &entry.database);
    parseReadRule(reader, element, &entry.rule);
    if (entry.shard.empty() && entry.database.empty()) {
      reader.fail(reader.lineOf(element, "shard"), element.key("shard"),
                  "an override names a shard, a database or both");
    }
    bool served = entry.shard.empty() ||
                  std::any_of(nodes.begin(), nodes.end(),
                              [&](const NodeConfig& node) { return node.shard == entry.shard; });
    if (!served) {
      reader.fail(reader.lineOf(element, "shard"), element.key("shard"),
                  "no [[nodes]] entry serves shard " + quoted(entry.shard));
    }
    reads->overrides.push_back(std::move(entry));
  }
}

// Requires: `users` parsed, for the password of a health user that is not one of them.
void parseHealth(Reader& reader, const Scope& scope, const Config& config, HealthConfig* health) {
  reader.rejectUnknownKeys(scope,
                           {"interval_ms", "timeout_ms", "ban_ms", "user", "password", "database"});
  reader.readMillis(scope, "interval_ms", 10, &health->interval);
  reader.readMillis(scope, "timeout_ms", 10, &health->timeout);
  reader.readMillis(scope, "ban_ms", 0, &health->ban);
  reader.readString(scope, "user", Presence::Optional, &health->user);
  reader.readString(scope, "password", Presence::Optional, &health->password);
  reader.readString(scope, "database", Presence::Optional, &health->database);
  if (!health->user.empty() && config.findUser(health->user) == nullptr &&
      health->password.empty()) {
    reader.fail(reader.lineOf(scope, "password"), scope.key("password"),
                "is required when health.user is not one of [[users]]");
  }
}

// Remembers where each name was first defined; a second definition is an error.
void checkUniqueName(Reader& reader, const Scope& scope, std::string_view kind,
                     const std::string& name, std::map<std::string, uint32_t>* firstLines) {
  uint32_t line = reader.lineOf(scope, "name");
  auto [first, isNew] = firstLines->emplace(name, line);
  if (!isNew) {
    reader.fail(line, scope.key("name"),
                "duplicate " + std::string(kind) + " " + quoted(name) + " (first defined on line " +
                    std::to_string(first->second) + ")");
  }
}

UserConfig parseUser(Reader& reader, const Scope& scope) {
  reader.rejectUnknownKeys(scope, {"name", "password", "backend_password", "auth"});
  UserConfig user;
  reader.readString(scope, "name", Presence::Required, &user.name);
  reader.readString(scope, "password", Presence::Optional, &user.password);
  reader.readString(scope, "backend_password", Presence::Optional, &user.backendPassword);
  readUserAuth(reader, scope, &user);
  return user;
}

void parseUsers(Reader& reader, const Scope& root, std::vector<UserConfig>* users) {
  const toml::array* array = reader.readTableArray(root, "users");
  if (array == nullptr) {
    return;
  }
  std::map<std::string, uint32_t> firstLines;
  for (size_t i = 0; i < array->size(); ++i) {
    Scope scope = elementScope(*array, "users", i);
    UserConfig user = parseUser(reader, scope);
    checkUniqueName(reader, scope, "user", user.name, &firstLines);
    users->push_back(std::move(user));
  }
}

NodeConfig parseNode(Reader& reader, const Scope& scope) {
  reader.rejectUnknownKeys(scope, {"name", "shard", "role", "host", "port", "weight"});
  NodeConfig node;
  reader.readString(scope, "name", Presence::Required, &node.name);
  reader.readString(scope, "shard", Presence::Required, &node.shard);
  reader.readChoice(scope, "role", Presence::Required, {kNodeRoles.begin(), kNodeRoles.end()},
                    &node.role);
  reader.readString(scope, "host", Presence::Required, &node.host);
  reader.readInt(scope, "port", 1, kMaxPort, &node.port);
  reader.readInt(scope, "weight", 1, kMaxWeight, &node.weight);
  if (!node.isUnixSocket() && node.host.find('/') != std::string::npos) {
    reader.fail(reader.lineOf(scope, "host"), scope.key("host"),
                "must be a host name, an IP address or an absolute directory");
  }
  return node;
}

// Every shard needs exactly one primary: it takes the shard's writes.
void checkPrimaries(Reader& reader, const toml::array& array,
                    const std::vector<NodeConfig>& nodes) {
  std::vector<std::string> shards;  // in order of first appearance
  std::map<std::string, size_t> firstNode;
  std::map<std::string, size_t> primary;
  for (size_t i = 0; i < nodes.size(); ++i) {
    const NodeConfig& node = nodes[i];
    if (firstNode.emplace(node.shard, i).second) {
      shards.push_back(node.shard);
    }
    if (node.role != "primary") {
      continue;
    }
    auto [other, isFirst] = primary.emplace(node.shard, i);
    if (!isFirst) {
      Scope scope = elementScope(array, "nodes", i);
      Scope otherScope = elementScope(array, "nodes", other->second);
      reader.fail(reader.lineOf(scope, "role"), scope.key("role"),
                  "shard " + quoted(node.shard) + " already has a primary (" + otherScope.name +
                      " on line " + std::to_string(reader.lineOf(otherScope, "role")) + ")");
    }
  }
  for (const std::string& shard : shards) {
    if (!primary.contains(shard)) {
      Scope scope = elementScope(array, "nodes", firstNode[shard]);
      reader.fail(reader.lineOf(scope, "shard"), scope.key("shard"),
                  "shard " + quoted(shard) + " has no primary");
    }
  }
}

void parseNodes(Reader& reader, const Scope& root, std::vector<NodeConfig>* nodes) {
  const toml::array* array = reader.readTableArray(root, "nodes");
  if (array == nullptr || array->empty()) {
    reader.fail(reader.lineOf(root, "nodes"), "nodes", "at least one [[nodes]] entry is required");
    return;
  }
  std::map<std::string, uint32_t> firstLines;
  for (size_t i = 0; i < array->size(); ++i) {
    Scope scope = elementScope(*array, "nodes", i);
    NodeConfig node = parseNode(reader, scope);
    checkUniqueName(reader, scope, "node", node.name, &firstLines);
    node.index = nodes->size();
    nodes->push_back(std::move(node));
  }
  checkPrimaries(reader, *array, *nodes);
}

void parseRoot(Reader& reader, const toml::table& table, Config* config) {
  Scope root{&table, ""};
  // sharding, shards and tables hold the shard map, which shardmap/config_store.cc reads.
  reader.rejectUnknownKeys(
      root, {"workers", "max_message_bytes", "listen", "tls", "pool", "timeouts", "log", "users",
             "nodes", "routing", "reads", "health", "sharding", "shards", "tables"});
  reader.readInt(root, "workers", 1, kMaxWorkers, &config->workers);
  reader.readInt(root, "max_message_bytes", kMinMessageBytes, kMaxMessageBytes,
                 &config->maxMessageBytes);
  if (std::optional<Scope> scope = reader.readTable(root, "listen")) {
    parseListen(reader, *scope, &config->listen);
  }
  if (std::optional<Scope> scope = reader.readTable(root, "tls")) {
    parseTls(reader, *scope, &config->tls);
  }
  if (std::optional<Scope> scope = reader.readTable(root, "pool")) {
    parsePool(reader, *scope, &config->pool);
  }
  if (std::optional<Scope> scope = reader.readTable(root, "timeouts")) {
    parseTimeouts(reader, *scope, &config->timeouts);
  }
  if (std::optional<Scope> scope = reader.readTable(root, "log")) {
    parseLog(reader, *scope, &config->log);
  }
  if (std::optional<Scope> scope = reader.readTable(root, "routing")) {
    parseRouting(reader, *scope, &config->routing);
  }
  parseUsers(reader, root, &config->users);
  parseNodes(reader, root, &config->nodes);
  if (std::optional<Scope> scope = reader.readTable(root, "reads")) {
    parseReads(reader, *scope, config->nodes, &config->reads);
  }
  if (std::optional<Scope> scope = reader.readTable(root, "health")) {
    parseHealth(reader, *scope, *config, &config->health);
  }
}

ConfigResult parseDocument(const std::string& text, const std::string& path) {
  toml::table table;
  try {
    table = toml::parse(std::string_view(text), std::string_view(path));
  } catch (const toml::parse_error& e) {
    const toml::source_position& where = e.source().begin;
    return {std::nullopt, path + ":" + std::to_string(where.line) + ":" +
                              std::to_string(where.column) + ": " + std::string(e.description())};
  }

  Config config;
  config.path = path;
  Reader reader(path);
  parseRoot(reader, table, &config);
  if (reader.failed()) {
    return {std::nullopt, reader.error()};
  }
  return {std::move(config), ""};
}

}  // namespace

const UserConfig* Config::findUser(const std::string& name) const {
  for (const UserConfig& user : users) {
    if (user.name == name) {
      return &user;
    }
  }
  return nullptr;
}

const replication::ReadRule& ReadsConfig::ruleFor(std::string_view shard,
                                                  std::string_view database) const {
  for (const ReadOverride& entry : overrides) {
    bool shardFits = entry.shard.empty() || entry.shard == shard;
    bool databaseFits = entry.database.empty() || entry.database == database;
    if (shardFits && databaseFits) {
      return entry.rule;
    }
  }
  return rule;
}

const NodeConfig* Config::primaryOf(const std::string& shard) const {
  for (const NodeConfig& node : nodes) {
    if (node.shard == shard && node.role == "primary") {
      return &node;
    }
  }
  return nullptr;
}

ConfigResult parseConfig(const std::string& text, const std::string& path) {
  try {
    return parseDocument(text, path);
  } catch (const std::exception& e) {
    return {std::nullopt, path + ": " + e.what()};
  }
}

ConfigResult loadConfig(const std::string& path) {
  std::unique_ptr<std::FILE, decltype(&std::fclose)> file(std::fopen(path.c_str(), "rb"),
                                                          &std::fclose);
  if (file == nullptr) {
    return {std::nullopt, path + ": cannot read: " + std::strerror(errno)};
  }
  std::string text;
  try {
    std::array<char, 65536> buffer;
    size_t got = 0;
    while ((got = std::fread(buffer.data(), 1, buffer.size(), file.get())) > 0) {
      text.append(buffer.data(), got);
    }
  } catch (const std::exception& e) {
    return {std::nullopt, path + ": cannot read: " + e.what()};
  }
  if (std::ferror(file.get()) != 0) {
    return {std::nullopt, path + ": cannot read: " + std::strerror(errno)};
  }
  return parseConfig(text, path);
}

}  // namespace shardline
