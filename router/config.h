// The router's configuration, loaded from a TOML file (shardline.toml).
//
// A Config is built once by loadConfig() and then only read: workers share it
// through a std::shared_ptr<const Config>, and a reload builds a new one.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "replication/read_balancer.h"

namespace shardline {

using Millis = std::chrono::milliseconds;

enum class PoolMode { Session, Transaction };

// How the router authenticates a client that connects to it.
enum class ClientAuth { Trust, Md5, ScramSha256 };

// How the router protects its connections to a backend node (libpq's sslmode).
enum class BackendTls { Disable, Prefer, Require, VerifyFull };

struct ListenConfig {
  std::string host = "127.0.0.1";  // TCP address; empty disables TCP
  uint16_t port = 6432;            // TCP port, also names the Unix socket
  std::string unixSocketDir;       // empty: no Unix socket; else DIR/.s.PGSQL.<port>
  int backlog = 1024;
};

struct TlsConfig {
  std::string certFile;  // PEM; both empty: SSLRequest is answered 'N'
  std::string keyFile;   // PEM
};

struct UserConfig {
  std::string name;
  // Client-side secret, as Postgres stores it in pg_authid.rolpassword:
  // "SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>" or "md5<32 hex>".
  // Empty means the user authenticates by trust.
  std::string password;
  // Password the router presents to backends for this user. Empty: none.
  std::string backendPassword;
  ClientAuth auth = ClientAuth::ScramSha256;  // derived from `password` unless set
};

struct NodeConfig {
  std::string name;   // unique, e.g. "s0-primary"
  std::string shard;  // shard this node belongs to, e.g. "s0"
  std::string role;   // "primary" or "replica"
  std::string host;   // TCP host, or a directory for a Unix socket
  uint16_t port = 5432;
  uint32_t weight = 1;  // share of reads under the weighted policy
  size_t index = 0;     // position in Config::nodes
  bool isUnixSocket() const { return !host.empty() && host.front() == '/'; }
};

struct PoolConfig {
  PoolMode mode = PoolMode::Transaction;
  int minSize = 0;   // per node, database and user
  int maxSize = 10;  // per node, database and user, over all workers
  Millis connectTimeout{5000};
  Millis checkoutTimeout{5000};  // a client waiting longer gets 53300
  Millis idleTimeout{600000};    // close backends idle this long
  Millis lifetime{3600000};      // close backends older than this when idle
  BackendTls tls = BackendTls::Prefer;
  std::string tlsRootCert;  // CA file for verify-full
};

struct TimeoutConfig {
  Millis clientIdle{0};         // 0: never
  Millis shutdownDrain{30000};  // SIGTERM waits this long for open transactions
  Millis clientLogin{15000};    // startup and authentication must finish in this time
};

struct LogConfig {
  std::string level = "info";  // trace, debug, info, warn, error
  std::string file;            // empty: stderr
};

struct RoutingConfig {
  // Writes without a shard key go to every shard; otherwise they are refused (SL001).
  bool allowMultishardWrites = false;
};

// Whose writes a read must see.
enum class ReadYourWrites {
  Off,      // none: a read may go to any replica within the lag limit
  Session,  // the client's own: its reads see what it committed
  User,     // every connection of the same user through this router sees it (the default)
};

// What a client hash is taken of, for the client_hash read policy.
enum class ClientHashOf { Address, User };

// A read policy for reads of one shard and/or one database.
struct ReadOverride {
  std::string shard;     // empty: every shard
  std::string database;  // empty: every database
  replication::ReadRule rule;
};

struct ReadsConfig {
  replication::ReadRule rule;  // policy and include_primary, unless an override matches
  ClientHashOf clientHash = ClientHashOf::Address;
  ReadYourWrites readYourWrites = ReadYourWrites::User;
  int64_t maxLagBytes = 0;  // a replica further behind gets no reads; 0: no limit
  Millis maxLag{0};         // the same in time; 0: no limit
  std::vector<ReadOverride> overrides;

  // The rule for reads of `shard` in `database`: the first override matching both.
  const replication::ReadRule& ruleFor(std::string_view shard, std::string_view database) const;
};

// How the router checks its nodes.
struct HealthConfig {
  Millis interval{250};  // between two checks of a node
  Millis timeout{2000};  // a check slower than this fails
  Millis ban{1000};      // a node that failed gets no reads or writes for at least this long
  std::string user;      // empty: the first [[users]] entry
  std::string password;  // empty: that user's backend_password
  std::string database = "postgres";
};

struct Config {
  std::string path;  // the file this was loaded from
  int workers = 1;
  ListenConfig listen;
  TlsConfig tls;
  std::vector<UserConfig> users;
  std::vector<NodeConfig> nodes;
  PoolConfig pool;
  TimeoutConfig timeouts;
  LogConfig log;
  RoutingConfig routing;
  ReadsConfig reads;
  HealthConfig health;
  uint32_t maxMessageBytes = 64 * 1024 * 1024;  // larger client messages are refused

  const UserConfig* findUser(const std::string& name) const;
  // The primary of `shard`, or null.
  const NodeConfig* primaryOf(const std::string& shard) const;
};

// Either a Config or an error naming the file, the line and the key, e.g.
// "shardline.toml:12: pool.max_size: must be a positive integer".
struct ConfigResult {
  std::optional<Config> config;
  std::string error;
};

ConfigResult loadConfig(const std::string& path);
ConfigResult parseConfig(const std::string& text, const std::string& path);

}  // namespace shardline
