#include "router/config.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <doctest/doctest.h>

using namespace shardline;

namespace {

constexpr const char* kPath = "t.toml";
constexpr const char* kScram =
    "SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$THoPhoTAuqyoQsK4dUHncUzgfD8fdmhsgKZhWVqNP5U=:"
    "7YiHMMi2OcXGRogub03Ek06JRZ9bkhTOdCzHa5iPLiQ=";
constexpr const char* kMd5 = "md521f3163f8f86fa10bdefbfbd502a8f06";

// One valid node, appended after the text under test so that only that text can be wrong.
const std::string kNode = R"(
[[nodes]]
name = "s0-primary"
shard = "s0"
role = "primary"
host = "127.0.0.1"
)";

Config parsed(const std::string& text) {
  ConfigResult result = parseConfig(text, kPath);
  REQUIRE_MESSAGE(result.config.has_value(), result.error);
  CHECK(result.error.empty());
  return *result.config;
}

std::string errorOf(const std::string& text) {
  ConfigResult result = parseConfig(text, kPath);
  CHECK_FALSE(result.config.has_value());
  return result.error;
}

// The example at the root of the source tree. __FILE__ is relative to the build directory,
// which holds tests/unit_tests.
std::filesystem::path examplePath() {
  std::filesystem::path buildDir =
      std::filesystem::canonical("/proc/self/exe").parent_path().parent_path();
  return (buildDir / __FILE__).parent_path() / "../../../shardline.example.toml";
}

std::string userWithPassword(const std::string& password) {
  return "[[users]]\nname = \"app\"\npassword = \"" + password + "\"\n" + kNode;
}

const std::string kFullConfig = std::string(R"(workers = 4
max_message_bytes = 1048576

[listen]
host = "0.0.0.0"
port = 7432
unix_socket_dir = "/run/shardline"
backlog = 512

[tls]
cert_file = "/etc/shardline/server.crt"
key_file = "/etc/shardline/server.key"

[pool]
mode = "session"
min_size = 2
max_size = 20
connect_timeout_ms = 1500
checkout_timeout_ms = 2500
idle_timeout_ms = 60000
lifetime_ms = 7200000
tls = "verify-full"
tls_root_cert = "/etc/shardline/root.crt"

[timeouts]
client_idle_ms = 300000
shutdown_drain_ms = 10000
client_login_ms = 5000

[log]
level = "debug"
file = "/var/log/shardline.log"

[[users]]
name = "app"
password = ")") + kScram + R"("
backend_password = "backend-secret"

[[users]]
name = "legacy"
password = ")" + kMd5 + R"("
auth = "md5"

[[users]]
name = "local"

[[nodes]]
name = "s0-primary"
shard = "s0"
role = "primary"
host = "10.0.0.1"
port = 5433

[[nodes]]
name = "s0-replica"
shard = "s0"
role = "replica"
host = "/var/run/postgresql"
)";

}  // namespace

TEST_CASE("a full config fills every field") {
  Config config = parsed(kFullConfig);
  CHECK(config.path == kPath);
  CHECK(config.workers == 4);
  CHECK(config.maxMessageBytes == 1048576);

  CHECK(config.listen.host == "0.0.0.0");
  CHECK(config.listen.port == 7432);
  CHECK(config.listen.unixSocketDir == "/run/shardline");
  CHECK(config.listen.backlog == 512);
  CHECK(config.tls.certFile == "/etc/shardline/server.crt");
  CHECK(config.tls.keyFile == "/etc/shardline/server.key");

  CHECK(config.pool.mode == PoolMode::Session);
  CHECK(config.pool.minSize == 2);
  CHECK(config.pool.maxSize == 20);
  CHECK(config.pool.connectTimeout == Millis(1500));
  CHECK(config.pool.checkoutTimeout == Millis(2500));
  CHECK(config.pool.idleTimeout == Millis(60000));
  CHECK(config.pool.lifetime == Millis(7200000));
  CHECK(config.pool.tls == BackendTls::VerifyFull);
  CHECK(config.pool.tlsRootCert == "/etc/shardline/root.crt");

  CHECK(config.timeouts.clientIdle == Millis(300000));
  CHECK(config.timeouts.shutdownDrain == Millis(10000));
  CHECK(config.timeouts.clientLogin == Millis(5000));
  CHECK(config.log.level == "debug");
  CHECK(config.log.file == "/var/log/shardline.log");

  REQUIRE(config.users.size() == 3);
  CHECK(config.users[0].name == "app");
  CHECK(config.users[0].password == kScram);
  CHECK(config.users[0].backendPassword == "backend-secret");
  CHECK(config.users[0].auth == ClientAuth::ScramSha256);
  CHECK(config.users[1].auth == ClientAuth::Md5);
  CHECK(config.users[2].auth == ClientAuth::Trust);
  CHECK(config.users[2].backendPassword.empty());

  REQUIRE(config.nodes.size() == 2);
  CHECK(config.nodes[0].name == "s0-primary");
  CHECK(config.nodes[0].shard == "s0");
  CHECK(config.nodes[0].role == "primary");
  CHECK(config.nodes[0].host == "10.0.0.1");
  CHECK(config.nodes[0].port == 5433);
  CHECK_FALSE(config.nodes[0].isUnixSocket());
  CHECK(config.nodes[1].port == 5432);
  CHECK(config.nodes[1].isUnixSocket());
}

TEST_CASE("absent keys take their defaults") {
  Config config = parsed(kNode);
  Config defaults;
  CHECK(config.workers == defaults.workers);
  CHECK(config.maxMessageBytes == 64 * 1024 * 1024);
  CHECK(config.listen.host == "127.0.0.1");
  CHECK(config.listen.port == 6432);
  CHECK(config.listen.unixSocketDir.empty());
  CHECK(config.listen.backlog == 1024);
  CHECK(config.tls.certFile.empty());
  CHECK(config.tls.keyFile.empty());
  CHECK(config.pool.mode == PoolMode::Transaction);
  CHECK(config.pool.minSize == 0);
  CHECK(config.pool.maxSize == 10);
  CHECK(config.pool.connectTimeout == defaults.pool.connectTimeout);
  CHECK(config.pool.checkoutTimeout == defaults.pool.checkoutTimeout);
  CHECK(config.pool.idleTimeout == defaults.pool.idleTimeout);
  CHECK(config.pool.lifetime == defaults.pool.lifetime);
  CHECK(config.pool.tls == BackendTls::Prefer);
  CHECK(config.timeouts.clientIdle == Millis(0));
  CHECK(config.timeouts.shutdownDrain == Millis(30000));
  CHECK(config.timeouts.clientLogin == Millis(15000));
  CHECK(config.log.level == "info");
  CHECK(config.log.file.empty());
  CHECK(config.users.empty());
  CHECK(config.nodes[0].port == 5432);

  // Tables present but empty change nothing either.
  Config empty = parsed("[listen]\n[pool]\n[timeouts]\n[log]\n[tls]\n" + kNode);
  CHECK(empty.listen.port == 6432);
  CHECK(empty.pool.maxSize == 10);
}

TEST_CASE("auth is derived from the form of the password") {
  CHECK(parsed(userWithPassword("")).users[0].auth == ClientAuth::Trust);
  CHECK(parsed(userWithPassword(kMd5)).users[0].auth == ClientAuth::Md5);
  CHECK(parsed(userWithPassword(kScram)).users[0].auth == ClientAuth::ScramSha256);
  CHECK(parsed("[[users]]\nname = \"app\"\n" + kNode).users[0].auth == ClientAuth::Trust);
}

TEST_CASE("findUser and primaryOf") {
  Config config = parsed(R"(
[[users]]
name = "a"
[[users]]
name = "b"

[[nodes]]
name = "s1-replica"
shard = "s1"
role = "replica"
host = "h1"
[[nodes]]
name = "s0-primary"
shard = "s0"
role = "primary"
host = "h2"
[[nodes]]
name = "s1-primary"
shard = "s1"
role = "primary"
host = "h3"
)");
  REQUIRE(config.findUser("b") != nullptr);
  CHECK(config.findUser("b")->name == "b");
  CHECK(config.findUser("c") == nullptr);
  REQUIRE(config.primaryOf("s1") != nullptr);
  CHECK(config.primaryOf("s1")->name == "s1-primary");
  REQUIRE(config.primaryOf("s0") != nullptr);
  CHECK(config.primaryOf("s0")->name == "s0-primary");
  CHECK(config.primaryOf("s2") == nullptr);
  CHECK(Config{}.primaryOf("s0") == nullptr);
}

TEST_CASE("TOML syntax errors give line and column") {
  CHECK(errorOf("workers = \n") ==
        "t.toml:1:11: Error while parsing key-value pair: expected value, saw '\\n'");
  CHECK(errorOf("\n[pool\n") ==
        "t.toml:2:6: Error while parsing table header: expected ']', saw '\\n'");
  CHECK(errorOf("workers = 1\nworkers = 2\n") ==
        "t.toml:2:11: Error while parsing key-value pair: cannot redefine existing integer "
        "'workers'");
}

TEST_CASE("unknown keys are refused") {
  CHECK(errorOf("[pool]\nmax_size = 5\nmax_sise = 3\n" + kNode) ==
        "t.toml:3: pool.max_sise: unknown key");
  CHECK(errorOf("worker = 2\n" + kNode) == "t.toml:1: worker: unknown key");
  CHECK(errorOf("[metrics]\nport = 9090\n" + kNode) == "t.toml:1: metrics: unknown key");
  CHECK(errorOf("[[users]]\nname = \"a\"\npasword = \"\"\n" + kNode) ==
        "t.toml:3: users[0].pasword: unknown key");
  CHECK(errorOf(kNode + "hots = \"x\"\n") == "t.toml:7: nodes[0].hots: unknown key");
  // Of several, the first in the file is named.
  CHECK(errorOf("[log]\nzz = 1\nlevel = \"info\"\naa = 2\n" + kNode) ==
        "t.toml:2: log.zz: unknown key");
}

TEST_CASE("routing options") {
  CHECK(
      parsed("[routing]\nallow_multishard_writes = true\n" + kNode).routing.allowMultishardWrites);
  CHECK(errorOf("[routing]\nallow_multishard_writes = 1\n" + kNode) ==
        "t.toml:2: routing.allow_multishard_writes: must be a boolean, not an integer");
  CHECK(errorOf("[routing]\nallow_writes = true\n" + kNode) ==
        "t.toml:2: routing.allow_writes: unknown key");
}

TEST_CASE("the shard map's sections are left to the shard map's loader") {
  Config config = parsed(kNode + R"(
[sharding]
slots = 4096
default_shard = "s0"

[[shards]]
name = "s0"
slots = ["0-4095"]

[[tables]]
name = "users"
key = "user_id"
type = "bigint"
)");
  REQUIRE(config.nodes.size() == 1);
  CHECK(config.nodes[0].shard == "s0");
}

TEST_CASE("values of the wrong type are refused") {
  CHECK(errorOf("workers = \"4\"\n" + kNode) ==
        "t.toml:1: workers: must be an integer, not a string");
  CHECK(errorOf("[listen]\nport = 6432.0\n" + kNode) ==
        "t.toml:2: listen.port: must be an integer, not a float");
  CHECK(errorOf("[listen]\nhost = 127\n" + kNode) ==
        "t.toml:2: listen.host: must be a string, not an integer");
  CHECK(errorOf("listen = 5\n" + kNode) == "t.toml:1: listen: must be a table, not an integer");
  CHECK(errorOf("[pool]\nmode = true\n" + kNode) ==
        "t.toml:2: pool.mode: must be a string, not a boolean");
  CHECK(errorOf("[users]\nname = \"a\"\n" + kNode) ==
        "t.toml:1: users: must be an array of tables ([[users]]), not a table");
  CHECK(errorOf("users = [1, 2]\n" + kNode) ==
        "t.toml:1: users: must be an array of tables ([[users]]), not an array of other values");
}

TEST_CASE("numbers out of range are refused") {
  CHECK(errorOf("[listen]\nport = 0\n" + kNode) ==
        "t.toml:2: listen.port: must be between 1 and 65535 (got 0)");
  CHECK(errorOf("[listen]\nport = 65536\n" + kNode) ==
        "t.toml:2: listen.port: must be between 1 and 65535 (got 65536)");
  CHECK(errorOf("workers = 0\n" + kNode) == "t.toml:1: workers: must be between 1 and 256 (got 0)");
  CHECK(errorOf("workers = 257\n" + kNode) ==
        "t.toml:1: workers: must be between 1 and 256 (got 257)");
  CHECK(errorOf("max_message_bytes = 100\n" + kNode) ==
        "t.toml:1: max_message_bytes: must be between 1024 and 1073741824 (got 100)");
  CHECK(errorOf("[pool]\nmin_size = -1\n" + kNode) ==
        "t.toml:2: pool.min_size: must be between 0 and 100000 (got -1)");
  CHECK(errorOf("[pool]\nmax_size = 0\n" + kNode) ==
        "t.toml:2: pool.max_size: must be between 1 and 100000 (got 0)");
  CHECK(errorOf("[pool]\nmin_size = 8\nmax_size = 4\n" + kNode) ==
        "t.toml:2: pool.min_size: must not exceed pool.max_size (8 > 4)");
  CHECK(errorOf("[pool]\nconnect_timeout_ms = 0\n" + kNode) ==
        "t.toml:2: pool.connect_timeout_ms: must be between 1 and 31536000000 (got 0)");
  CHECK(errorOf("[timeouts]\nclient_idle_ms = -5\n" + kNode) ==
        "t.toml:2: timeouts.client_idle_ms: must be between 0 and 31536000000 (got -5)");
  CHECK(errorOf(kNode + "port = 70000\n") ==
        "t.toml:7: nodes[0].port: must be between 1 and 65535 (got 70000)");
}

TEST_CASE("unknown enum strings are refused") {
  CHECK(errorOf("[pool]\nmode = \"statement\"\n" + kNode) ==
        "t.toml:2: pool.mode: must be one of \"session\", \"transaction\" (got \"statement\")");
  CHECK(errorOf("[pool]\ntls = \"allow\"\n" + kNode) ==
        "t.toml:2: pool.tls: must be one of \"disable\", \"prefer\", \"require\", "
        "\"verify-full\" (got \"allow\")");
  CHECK(errorOf("[log]\nlevel = \"verbose\"\n" + kNode) ==
        "t.toml:2: log.level: must be one of \"trace\", \"debug\", \"info\", \"warn\", "
        "\"error\" (got \"verbose\")");
  CHECK(errorOf("[[users]]\nname = \"a\"\nauth = \"password\"\n" + kNode) ==
        "t.toml:3: users[0].auth: must be one of \"trust\", \"md5\", \"scram-sha-256\" "
        "(got \"password\")");
}

TEST_CASE("duplicate user and node names are refused") {
  CHECK(errorOf("[[users]]\nname = \"a\"\n[[users]]\nname = \"b\"\n[[users]]\nname = \"a\"\n" +
                kNode) ==
        "t.toml:6: users[2].name: duplicate user \"a\" (first defined on line 2)");
  CHECK(errorOf(kNode + "[[nodes]]\nname = \"s0-primary\"\nshard = \"s0\"\nrole = \"replica\"\n"
                        "host = \"h\"\n") ==
        "t.toml:8: nodes[1].name: duplicate node \"s0-primary\" (first defined on line 3)");
}

TEST_CASE("nodes are required and checked") {
  CHECK(errorOf("workers = 2\n") == "t.toml:1: nodes: at least one [[nodes]] entry is required");
  CHECK(errorOf("workers = 2\nnodes = []\n") ==
        "t.toml:2: nodes: at least one [[nodes]] entry is required");
  CHECK(errorOf("\n[[nodes]]\nname = \"n\"\nshard = \"s0\"\nrole = \"primary\"\n") ==
        "t.toml:2: nodes[0].host: is required");
  CHECK(errorOf("[[nodes]]\nname = \"n\"\nshard = \"s0\"\nrole = \"primary\"\nhost = \"\"\n") ==
        "t.toml:5: nodes[0].host: must not be empty");
  CHECK(errorOf("[[nodes]]\nname = \"n\"\nshard = \"s0\"\nrole = \"master\"\nhost = \"h\"\n") ==
        "t.toml:4: nodes[0].role: must be one of \"primary\", \"replica\" (got \"master\")");
  CHECK(
      errorOf("[[nodes]]\nname = \"n\"\nshard = \"s0\"\nrole = \"primary\"\nhost = \"run/pg\"\n") ==
      "t.toml:5: nodes[0].host: must be a host name, an IP address or an absolute directory");
  CHECK(errorOf(kNode + "[[nodes]]\nname = \"r\"\nshard = \"s1\"\nrole = \"replica\"\n"
                        "host = \"h\"\n") ==
        "t.toml:9: nodes[1].shard: shard \"s1\" has no primary");
  CHECK(errorOf(kNode + "[[nodes]]\nname = \"p2\"\nshard = \"s0\"\nrole = \"primary\"\n"
                        "host = \"h\"\n") ==
        "t.toml:10: nodes[1].role: shard \"s0\" already has a primary (nodes[0] on line 5)");
}

TEST_CASE("listener and TLS settings are checked") {
  CHECK(errorOf("[tls]\ncert_file = \"/c.pem\"\n" + kNode) ==
        "t.toml:1: tls.key_file: is required when tls.cert_file is set");
  CHECK(errorOf("[tls]\nkey_file = \"/k.pem\"\n" + kNode) ==
        "t.toml:1: tls.cert_file: is required when tls.key_file is set");
  CHECK(errorOf("[listen]\nunix_socket_dir = \"tmp\"\n" + kNode) ==
        "t.toml:2: listen.unix_socket_dir: must be an absolute path");
  CHECK(errorOf("[listen]\nunix_socket_dir = \"/" + std::string(100, 'd') + "\"\n" + kNode) ==
        "t.toml:2: listen.unix_socket_dir: is too long: the socket path would exceed 107 bytes");
  CHECK(errorOf("[listen]\nhost = \"\"\n" + kNode) ==
        "t.toml:2: listen.host: is empty and listen.unix_socket_dir is not set: nothing to "
        "listen on");
  CHECK(errorOf("\n[pool]\ntls = \"verify-full\"\n" + kNode) ==
        "t.toml:2: pool.tls_root_cert: is required when pool.tls is \"verify-full\"");

  Config unixOnly = parsed("[listen]\nhost = \"\"\nunix_socket_dir = \"/tmp\"\n" + kNode);
  CHECK(unixOnly.listen.host.empty());
  CHECK(unixOnly.listen.unixSocketDir == "/tmp");
}

TEST_CASE("user secrets must be verifiers that agree with auth") {
  CHECK(errorOf(userWithPassword("hunter2")) ==
        "t.toml:3: users[0].password: must be a SCRAM-SHA-256 verifier or an md5 secret as "
        "Postgres stores them, not a plain password");
  // An md5 secret has exactly 32 lowercase hex digits.
  CHECK_FALSE(errorOf(userWithPassword("md5" + std::string(31, 'a'))).empty());
  CHECK_FALSE(errorOf(userWithPassword("md5" + std::string(32, 'A'))).empty());
  CHECK(errorOf(userWithPassword("SCRAM-SHA-256$4096:salt")) ==
        "t.toml:3: users[0].password: is not a valid SCRAM-SHA-256 verifier (expected "
        "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>)");
  CHECK(errorOf("[[users]]\nname = \"a\"\npassword = \"" + std::string(kMd5) +
                "\"\nauth = \"scram-sha-256\"\n" + kNode) ==
        "t.toml:4: users[0].auth: \"scram-sha-256\" requires password to be a SCRAM-SHA-256 "
        "verifier");
  CHECK(errorOf("[[users]]\nname = \"a\"\nauth = \"md5\"\n" + kNode) ==
        "t.toml:3: users[0].auth: \"md5\" requires password to be an md5 secret");
  CHECK(errorOf("[[users]]\nname = \"a\"\npassword = \"" + std::string(kScram) +
                "\"\nauth = \"trust\"\n" + kNode) ==
        "t.toml:4: users[0].auth: \"trust\" requires an empty password");
  CHECK(errorOf("[[users]]\npassword = \"\"\n" + kNode) == "t.toml:1: users[0].name: is required");
  CHECK(parsed("[[users]]\nname = \"a\"\nauth = \"trust\"\n" + kNode).users[0].auth ==
        ClientAuth::Trust);
}

TEST_CASE("loadConfig reads the file or says why it cannot") {
  CHECK(loadConfig("/nonexistent/shardline.toml").error ==
        "/nonexistent/shardline.toml: cannot read: No such file or directory");
  CHECK(loadConfig("/").error == "/: cannot read: Is a directory");

  std::filesystem::path path =
      std::filesystem::temp_directory_path() / "shardline_config_test.toml";
  std::ofstream(path) << kFullConfig;
  ConfigResult result = loadConfig(path.string());
  std::filesystem::remove(path);
  REQUIRE_MESSAGE(result.config.has_value(), result.error);
  CHECK(result.config->path == path.string());
  CHECK(result.config->workers == 4);
}

TEST_CASE("the example config at the repository root loads") {
  ConfigResult result = loadConfig(examplePath().string());
  REQUIRE_MESSAGE(result.config.has_value(), result.error);
  const Config& config = *result.config;
  CHECK(config.listen.unixSocketDir == "/tmp");
  REQUIRE(config.users.size() == 2);
  CHECK(config.users[0].auth == ClientAuth::ScramSha256);
  CHECK(config.users[1].auth == ClientAuth::Md5);
  REQUIRE(config.nodes.size() == 4);
  REQUIRE(config.primaryOf("s0") != nullptr);
  CHECK(config.primaryOf("s0")->name == "s0-primary");
  CHECK(config.nodes[3].port == 15435);
  CHECK_FALSE(config.routing.allowMultishardWrites);
}

TEST_CASE("reads and health: defaults, values, overrides") {
  Config defaults = parsed(kNode);
  CHECK(defaults.reads.rule.policy == replication::ReadPolicy::RoundRobin);
  CHECK_FALSE(defaults.reads.rule.includePrimary);
  CHECK(defaults.reads.readYourWrites == ReadYourWrites::User);
  CHECK(defaults.health.interval == Millis(250));
  CHECK(defaults.health.database == "postgres");
  CHECK(defaults.nodes[0].weight == 1);

  Config config = parsed(R"(
[reads]
policy = "weighted"
include_primary = true
client_hash = "user"
read_your_writes = "session"
max_lag_bytes = 1048576
max_lag_ms = 2500
[[reads.override]]
shard = "s1"
policy = "client_hash"
[[reads.override]]
database = "reports"
policy = "primary"
[health]
interval_ms = 250
timeout_ms = 900
ban_ms = 3000
)" + kNode + "weight = 7\n" +
                         "[[nodes]]\nname = \"s1-primary\"\nshard = \"s1\"\nrole = \"primary\"\n"
                         "host = \"127.0.0.1\"\n");
  CHECK(config.reads.rule.policy == replication::ReadPolicy::Weighted);
  CHECK(config.reads.rule.includePrimary);
  CHECK(config.reads.clientHash == ClientHashOf::User);
  CHECK(config.reads.readYourWrites == ReadYourWrites::Session);
  CHECK(config.reads.maxLagBytes == 1048576);
  CHECK(config.reads.maxLag == Millis(2500));
  CHECK(config.health.interval == Millis(250));
  CHECK(config.health.timeout == Millis(900));
  CHECK(config.health.ban == Millis(3000));
  CHECK(config.nodes[0].weight == 7);
  CHECK(config.reads.ruleFor("s1", "demo").policy == replication::ReadPolicy::ClientHash);
  // An override keeps the defaults it does not set.
  CHECK(config.reads.ruleFor("s1", "demo").includePrimary);
  CHECK(config.reads.ruleFor("s0", "reports").policy == replication::ReadPolicy::Primary);
  CHECK(config.reads.ruleFor("s0", "demo").policy == replication::ReadPolicy::Weighted);
}

TEST_CASE("reads and health errors name the file, line and key") {
  CHECK(errorOf("[reads]\npolicy = \"bogus\"\n" + kNode) ==
        "t.toml:2: reads.policy: must be one of \"primary\", \"round_robin\", \"random\", "
        "\"least_connections\", \"weighted\", \"client_hash\" (got \"bogus\")");
  CHECK(errorOf("[reads]\nread_your_writes = true\n" + kNode)
            .starts_with("t.toml:2: reads.read_your_writes: "));
  CHECK(errorOf("[reads]\nmax_lag_ms = -1\n" + kNode).starts_with("t.toml:2: reads.max_lag_ms: "));
  CHECK(errorOf("[[reads.override]]\npolicy = \"random\"\n" + kNode) ==
        "t.toml:1: reads.override[0].shard: an override names a shard, a database or both");
  CHECK(
      errorOf("[health]\ninterval_ms = 0\n" + kNode).starts_with("t.toml:2: health.interval_ms: "));
  CHECK(errorOf("[health]\nuser = \"nobody\"\n" + kNode) ==
        "t.toml:1: health.password: is required when health.user is not one of [[users]]");
  CHECK(errorOf(kNode + "weight = 0\n").starts_with("t.toml:7: nodes[0].weight: "));
  CHECK(errorOf("[[reads.override]]\nshard = \"s9\"\n" + kNode) ==
        "t.toml:2: reads.override[0].shard: no [[nodes]] entry serves shard \"s9\"");
}
