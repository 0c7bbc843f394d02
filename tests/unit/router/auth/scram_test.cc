#include "router/auth/scram.h"

#include "router/auth/md5.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace shardline::auth;

namespace {

// RFC 7677 section 3: user "user", password "pencil".
constexpr std::string_view kRfcClientNonce = "rOprNGfwEbeRWgbNEkqO";
constexpr std::string_view kRfcServerNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
constexpr std::string_view kRfcSalt = "W22ZaJ0SNY7soEsUEjb6gQ==";
constexpr std::string_view kRfcClientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
constexpr std::string_view kRfcServerFirst =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
constexpr std::string_view kRfcClientFinal =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
constexpr std::string_view kRfcServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
// The stored verifier for "pencil" with that salt, computed independently (Python hashlib).
constexpr std::string_view kRfcVerifier =
    "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:"
    "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=";

// What PostgreSQL 15 stored in pg_authid.rolpassword for CREATE ROLE x PASSWORD 'secret' with
// password_encryption = 'scram-sha-256'.
constexpr std::string_view kPostgresVerifier =
    "SCRAM-SHA-256$4096:2f/WXhfMLDgILTiNXwB/iQ==$HVQs0M+NeguAJvnw6rvxIXhqgbzSoIoKcUTW4xUKqwc=:"
    "0PBN9mEkJOD9tAHSM850YHcfBpZ5Bng1mDaPVoNdWIU=";

ScramVerifier rfcVerifier() {
  std::optional<ScramVerifier> verifier = parseScramVerifier(kRfcVerifier);
  REQUIRE(verifier);
  return *verifier;
}

// A server that has answered the RFC client-first-message.
ScramServer rfcServerAfterFirst() {
  ScramServer server(rfcVerifier(), std::string(kRfcServerNonce));
  std::string error;
  REQUIRE(server.handleClientFirst(kRfcClientFirst, &error) == std::string(kRfcServerFirst));
  return server;
}

// A client that has sent its client-first-message with the RFC nonce.
ScramClient rfcClientAfterFirst() {
  ScramClient client("pencil", std::string(kRfcClientNonce), "user");
  REQUIRE(client.clientFirst() == kRfcClientFirst);
  return client;
}

}  // namespace

TEST_CASE("base64 encodes and decodes the RFC 4648 vectors") {
  const std::vector<std::pair<std::string, std::string>> vectors = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    CHECK(base64Encode(plain) == encoded);
    CHECK(base64Decode(encoded) == plain);
  }

  std::string allBytes;
  for (int i = 0; i < 256; ++i) {
    allBytes += static_cast<char>(i);
  }
  CHECK(base64Decode(base64Encode(allBytes)) == allBytes);
  CHECK(base64Encode("\xff\xfe") == "//4=");
}

TEST_CASE("base64 decoding rejects anything but the canonical encoding") {
  const std::vector<std::string_view> bad = {
      "Zg",
      "Zg=",
      "Zm9vY",
      "Z===",
      "====",
      "=Zm8",
      "Zm=8",
      "Zm9v YmFy",
      "Zm9vYmFy\n",
      "Zm8=Zm8=",
      "Zm9-",
      "Zm9_",
      "Zh==",  // spare bits set
      "Zm9=",  // spare bits set
      std::string_view("Zm\0v", 4),
  };
  for (std::string_view text : bad) {
    CAPTURE(text);
    CHECK_FALSE(base64Decode(text));
  }
}

TEST_CASE("constantTimeEqual compares contents and lengths") {
  CHECK(constantTimeEqual("", ""));
  CHECK(constantTimeEqual("abc", "abc"));
  CHECK_FALSE(constantTimeEqual("abc", "abd"));
  CHECK_FALSE(constantTimeEqual("abc", "abcd"));
  CHECK_FALSE(constantTimeEqual("", "a"));
}

TEST_CASE("makeScramVerifier reproduces a verifier stored by PostgreSQL 15") {
  std::optional<ScramVerifier> verifier = parseScramVerifier(kPostgresVerifier);
  REQUIRE(verifier);
  CHECK(verifier->iterations == 4096);
  CHECK(verifier->salt.size() == 16);
  CHECK(base64Encode(verifier->salt) == "2f/WXhfMLDgILTiNXwB/iQ==");
  CHECK(base64Encode(verifier->storedKey) == "HVQs0M+NeguAJvnw6rvxIXhqgbzSoIoKcUTW4xUKqwc=");
  CHECK(base64Encode(verifier->serverKey) == "0PBN9mEkJOD9tAHSM850YHcfBpZ5Bng1mDaPVoNdWIU=");

  CHECK(makeScramVerifier("secret", verifier->salt, verifier->iterations) == kPostgresVerifier);
  CHECK(makeScramVerifier("Secret", verifier->salt, verifier->iterations) != kPostgresVerifier);
}

TEST_CASE("makeScramVerifier matches the RFC 7677 keys and rejects bad parameters") {
  std::optional<Bytes> salt = base64Decode(kRfcSalt);
  REQUIRE(salt);
  CHECK(makeScramVerifier("pencil", *salt, 4096) == kRfcVerifier);
  CHECK(makeScramVerifier("pencil", *salt, 0).empty());
  CHECK(makeScramVerifier("pencil", *salt, -1).empty());
  CHECK(makeScramVerifier("pencil", "", 4096).empty());

  // The random-salt form: 16 bytes of salt, default iterations, different every time.
  std::string first = makeScramVerifier("pencil");
  std::optional<ScramVerifier> parsed = parseScramVerifier(first);
  REQUIRE(parsed);
  CHECK(parsed->iterations == kScramDefaultIterations);
  CHECK(parsed->salt.size() == kScramDefaultSaltLength);
  CHECK(makeScramVerifier("pencil", parsed->salt, parsed->iterations) == first);
  CHECK(makeScramVerifier("pencil") != first);
}

TEST_CASE("parseScramVerifier rejects malformed stored secrets") {
  const std::string keys =
      "$HVQs0M+NeguAJvnw6rvxIXhqgbzSoIoKcUTW4xUKqwc=:0PBN9mEkJOD9tAHSM850YHcfBpZ5Bng1mDaPVoNdWIU=";
  const std::string salt = "2f/WXhfMLDgILTiNXwB/iQ==";
  const std::vector<std::string> bad = {
      "",
      "md5d18bf5f8eddaae3aed1d69b23a252748",
      "SCRAM-SHA-1$4096:" + salt + keys,
      "scram-sha-256$4096:" + salt + keys,
      "SCRAM-SHA-256$0:" + salt + keys,
      "SCRAM-SHA-256$-4096:" + salt + keys,
      "SCRAM-SHA-256$+4096:" + salt + keys,
      "SCRAM-SHA-256$4096x:" + salt + keys,
      "SCRAM-SHA-256$99999999999:" + salt + keys,
      "SCRAM-SHA-256$:" + salt + keys,
      "SCRAM-SHA-256$4096:" + keys,                         // empty salt
      "SCRAM-SHA-256$4096:2f/WXhfMLDgILTiNXwB/iQ=" + keys,  // bad base64
      "SCRAM-SHA-256$4096" + salt + keys,                   // no ':'
      "SCRAM-SHA-256$4096:" + salt,                         // no keys
      "SCRAM-SHA-256$4096:" + salt + "$HVQs0M+NeguAJvnw6rvxIXhqgbzSoIoKcUTW4xUKqwc=",
      "SCRAM-SHA-256$4096:" + salt + "$Zm9v:0PBN9mEkJOD9tAHSM850YHcfBpZ5Bng1mDaPVoNdWIU=",
      "SCRAM-SHA-256$4096:" + salt + keys + "$",
      "SCRAM-SHA-256$4096:" + salt + keys + ":",
      "SCRAM-SHA-256$4096:" + salt + keys + " ",
  };
  for (const std::string& text : bad) {
    CAPTURE(text);
    CHECK_FALSE(parseScramVerifier(text));
  }
}

TEST_CASE("ScramClient reproduces the RFC 7677 exchange") {
  ScramClient client = rfcClientAfterFirst();
  std::string error;
  CHECK(client.handleServerFirst(kRfcServerFirst, &error) == std::string(kRfcClientFinal));
  CHECK(client.verifyServerFinal(kRfcServerFinal, &error));
  CHECK(error.empty());
}

TEST_CASE("ScramServer verifies the RFC 7677 exchange and recovers the ClientKey") {
  ScramServer server = rfcServerAfterFirst();
  std::string error;
  CHECK(server.handleClientFinal(kRfcClientFinal, &error) == std::string(kRfcServerFinal));
  CHECK(error.empty());
  CHECK(server.succeeded());
  // ClientKey = HMAC(SaltedPassword, "Client Key") for "pencil", computed independently.
  CHECK(server.clientKey() == *base64Decode("pg/JI9Z+hkSpLRa5btpe9GVrDHJcSEN0viVTVXaZbos="));
}

TEST_CASE("ScramClient and ScramServer authenticate each other with random nonces") {
  std::optional<ScramVerifier> verifier =
      parseScramVerifier(makeScramVerifier("correct horse", "0123456789abcdef", 4096));
  REQUIRE(verifier);
  ScramServer server(*verifier);
  ScramClient client("correct horse");
  std::string error;

  std::string clientFirst = client.clientFirst();
  CHECK(clientFirst.substr(0, 8) == "n,,n=,r=");
  CHECK(clientFirst.size() == 8 + 24);  // 18 random bytes, base64
  std::optional<std::string> serverFirst = server.handleClientFirst(clientFirst, &error);
  REQUIRE(serverFirst);
  CHECK(serverFirst->substr(0, 2 + 24) == "r=" + clientFirst.substr(8));
  CHECK(serverFirst->find(",s=MDEyMzQ1Njc4OWFiY2RlZg==,i=4096") == 2 + 48);

  std::optional<std::string> clientFinal = client.handleServerFirst(*serverFirst, &error);
  REQUIRE(clientFinal);
  std::optional<std::string> serverFinal = server.handleClientFinal(*clientFinal, &error);
  REQUIRE(serverFinal);
  CHECK(client.verifyServerFinal(*serverFinal, &error));
  CHECK(server.succeeded());
  CHECK(server.clientKey().size() == kScramKeyLength);

  // Nonces are fresh per exchange.
  CHECK(ScramClient("x").clientFirst() != ScramClient("x").clientFirst());
}

TEST_CASE("a ClientKey recovered by ScramServer authenticates to a backend with that verifier") {
  std::optional<ScramVerifier> verifier =
      parseScramVerifier(makeScramVerifier("pass-through", "saltsaltsaltsalt", 4096));
  REQUIRE(verifier);
  ScramServer fromClient(*verifier);
  ScramClient client("pass-through");
  std::string error;
  std::optional<std::string> reply = fromClient.handleClientFirst(client.clientFirst(), &error);
  reply = fromClient.handleClientFinal(*client.handleServerFirst(*reply, &error), &error);
  REQUIRE(reply);

  // The router, knowing only the verifier and the recovered ClientKey, logs in to a backend.
  ScramServer backend(*verifier);
  ScramClient router = ScramClient::fromKeys(*verifier, fromClient.clientKey());
  reply = backend.handleClientFirst(router.clientFirst(), &error);
  REQUIRE(reply);
  reply = backend.handleClientFinal(*router.handleServerFirst(*reply, &error), &error);
  REQUIRE(reply);
  CHECK(router.verifyServerFinal(*reply, &error));

  // A backend with another salt cannot be served from these keys.
  std::optional<ScramVerifier> otherSalt =
      parseScramVerifier(makeScramVerifier("pass-through", "othersaltothersa", 4096));
  ScramServer otherBackend(*otherSalt);
  ScramClient router2 = ScramClient::fromKeys(*verifier, fromClient.clientKey());
  reply = otherBackend.handleClientFirst(router2.clientFirst(), &error);
  REQUIRE(reply);
  CHECK_FALSE(router2.handleServerFirst(*reply, &error));
  CHECK(error.find("salt") != std::string::npos);

  // A ClientKey that does not belong to the verifier is refused before anything is sent.
  ScramServer thirdBackend(*verifier);
  ScramClient forged = ScramClient::fromKeys(*verifier, Bytes(kScramKeyLength, 'k'));
  reply = thirdBackend.handleClientFirst(forged.clientFirst(), &error);
  CHECK_FALSE(forged.handleServerFirst(*reply, &error));
  CHECK(error == "ClientKey does not match the verifier");
}

TEST_CASE("ScramServer rejects a wrong password") {
  std::optional<ScramVerifier> verifier =
      parseScramVerifier(makeScramVerifier("right", "0123456789abcdef", 4096));
  REQUIRE(verifier);
  ScramServer server(*verifier);
  ScramClient client("wrong");
  std::string error;
  std::optional<std::string> serverFirst = server.handleClientFirst(client.clientFirst(), &error);
  REQUIRE(serverFirst);
  std::optional<std::string> clientFinal = client.handleServerFirst(*serverFirst, &error);
  REQUIRE(clientFinal);
  CHECK_FALSE(server.handleClientFinal(*clientFinal, &error));
  CHECK(error == "password authentication failed (wrong SCRAM proof)");
  CHECK_FALSE(server.succeeded());
  CHECK(server.clientKey().empty());
}

TEST_CASE("ScramServer rejects a tampered proof and a client that verifies a wrong server") {
  ScramServer server = rfcServerAfterFirst();
  std::string error;
  std::string tampered(kRfcClientFinal);
  tampered[tampered.size() - 3] = 'W';  // "...AndVQ=" -> "...AndWQ="
  CHECK_FALSE(server.handleClientFinal(tampered, &error));
  CHECK(error == "password authentication failed (wrong SCRAM proof)");

  ScramClient client = rfcClientAfterFirst();
  REQUIRE(client.handleServerFirst(kRfcServerFirst, &error));
  CHECK_FALSE(client.verifyServerFinal("v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", &error));
  CHECK(error == "incorrect SCRAM server signature");
}

TEST_CASE("ScramServer accepts the client-first-message forms clients send") {
  ScramServer server(rfcVerifier(), "SRV");
  std::string error;
  // "y": the client supports channel binding but thinks we don't (we don't); "n=*" as pgjdbc and
  // node-postgres send it; an optional extension after the nonce.
  CHECK(server.handleClientFirst("y,,n=*,r=abc,x=ext", &error) ==
        "r=abcSRV,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
  // The channel binding attribute must then be base64("y,,").
  CHECK_FALSE(
      server.handleClientFinal("c=biws,r=abcSRV,p=" + base64Encode(Bytes(32, 'p')), &error));
  CHECK(error == "SCRAM channel binding check failed");
}

TEST_CASE("ScramServer rejects malformed client-first-messages") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "malformed SCRAM client-first-message: too few attributes"},
      {"n,,n=", "malformed SCRAM client-first-message: too few attributes"},
      {"p=tls-server-end-point,,n=,r=abc",
       "client requested SCRAM channel binding, but SCRAM-SHA-256-PLUS is not offered"},
      {"x,,n=,r=abc", "malformed SCRAM client-first-message: unexpected channel-binding flag"},
      {"n=,,n=,r=abc", "malformed SCRAM client-first-message: unexpected channel-binding flag"},
      {"n,a=bob,n=,r=abc", "client uses an authorization identity, which is not supported"},
      {"n,b,n=,r=abc",
       "malformed SCRAM client-first-message: unexpected attribute after channel-binding flag"},
      {"n,,m=ext,n=,r=abc", "client requires an unsupported SCRAM extension"},
      {"n,,r=abc,n=", "malformed SCRAM client-first-message: expected attribute \"n\""},
      {"n,,n=,x=abc", "malformed SCRAM client-first-message: expected attribute \"r\""},
      {"n,,n=,r=", "malformed SCRAM client-first-message: empty or non-printable nonce"},
      {"n,,n=,r=ab c", "malformed SCRAM client-first-message: empty or non-printable nonce"},
      {"n,,n=,r=ab\x7f", "malformed SCRAM client-first-message: empty or non-printable nonce"},
      {"n,,n=,r=abc,", "malformed SCRAM client-first-message: garbage after nonce"},
      {"n,,n=,r=abc,garbage", "malformed SCRAM client-first-message: garbage after nonce"},
      {"n,,n=,r=abc,1=x", "malformed SCRAM client-first-message: garbage after nonce"},
  };
  for (const auto& testCase : cases) {
    const std::string& message = testCase.first;
    const std::string& expected = testCase.second;
    CAPTURE(message);
    ScramServer server(rfcVerifier());
    std::string error;
    CHECK_FALSE(server.handleClientFirst(message, &error));
    CHECK(error == expected);
    // After a failure the exchange is over.
    CHECK_FALSE(server.handleClientFirst(kRfcClientFirst, &error));
    CHECK(error == "unexpected SCRAM client-first-message");
  }
}

TEST_CASE("ScramServer rejects malformed client-final-messages") {
  const std::string nonce = std::string(kRfcClientNonce) + std::string(kRfcServerNonce);
  const std::string proof = "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "malformed SCRAM client-final-message: too few attributes"},
      {"c=biws,r=" + nonce, "malformed SCRAM client-final-message: too few attributes"},
      {"r=" + nonce + ",c=biws," + proof,
       "malformed SCRAM client-final-message: expected attribute \"c\""},
      {"c=eSws,r=" + nonce + "," + proof, "SCRAM channel binding check failed"},
      {"c=biw,r=" + nonce + "," + proof, "SCRAM channel binding check failed"},
      {"c=,r=" + nonce + "," + proof, "SCRAM channel binding check failed"},
      {"c=biws,p=x,r=" + nonce, "malformed SCRAM client-final-message: expected attribute \"r\""},
      {"c=biws,r=" + std::string(kRfcClientNonce) + "," + proof, "SCRAM nonce does not match"},
      {"c=biws,r=" + nonce + "x," + proof, "SCRAM nonce does not match"},
      {"c=biws,r=" + nonce + "," + proof + ",x=y",
       "malformed SCRAM client-final-message: unexpected attribute before proof"},
      {"c=biws,r=" + nonce + "," + proof + "," + proof,
       "malformed SCRAM client-final-message: unexpected attribute before proof"},
      {"c=biws,r=" + nonce + ",junk," + proof,
       "malformed SCRAM client-final-message: unexpected attribute before proof"},
      {"c=biws,r=" + nonce + ",x=y",
       "malformed SCRAM client-final-message: expected attribute \"p\" at the end"},
      {"c=biws,r=" + nonce + ",p=", "malformed SCRAM client-final-message: invalid proof"},
      {"c=biws,r=" + nonce + ",p=Zm9v", "malformed SCRAM client-final-message: invalid proof"},
      {"c=biws,r=" + nonce + ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ",
       "malformed SCRAM client-final-message: invalid proof"},
      {"c=biws,r=" + nonce + ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=\n",
       "malformed SCRAM client-final-message: invalid proof"},
  };
  for (const auto& testCase : cases) {
    const std::string& message = testCase.first;
    const std::string& expected = testCase.second;
    CAPTURE(message);
    ScramServer server = rfcServerAfterFirst();
    std::string error;
    CHECK_FALSE(server.handleClientFinal(message, &error));
    CHECK(error == expected);
    CHECK_FALSE(server.succeeded());
    CHECK_FALSE(server.handleClientFinal(kRfcClientFinal, &error));
    CHECK(error == "unexpected SCRAM client-final-message");
  }

  // An extension between nonce and proof is allowed, but it is part of the signed message, so
  // the RFC proof no longer matches.
  ScramServer server = rfcServerAfterFirst();
  std::string error;
  CHECK_FALSE(server.handleClientFinal("c=biws,r=" + nonce + ",x=ext," + proof, &error));
  CHECK(error == "password authentication failed (wrong SCRAM proof)");

  // Out of order: a final message before the first one.
  ScramServer fresh(rfcVerifier());
  CHECK_FALSE(fresh.handleClientFinal(kRfcClientFinal, &error));
  CHECK(error == "unexpected SCRAM client-final-message");
}

TEST_CASE("ScramServer refuses to run with an invalid verifier") {
  ScramServer server(ScramVerifier{});
  std::string error;
  CHECK_FALSE(server.handleClientFirst(kRfcClientFirst, &error));
  CHECK(error == "invalid SCRAM verifier for this user");
}

TEST_CASE("ScramClient rejects malformed server-first-messages") {
  const std::string salt = "s=" + std::string(kRfcSalt);
  const std::string nonce = "r=" + std::string(kRfcClientNonce) + "srv";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "malformed SCRAM server-first-message: too few attributes"},
      {"m=ext," + nonce + "," + salt + ",i=4096", "server requires an unsupported SCRAM extension"},
      {nonce + ",i=4096," + salt,
       "malformed SCRAM server-first-message: expected attributes \"r\", \"s\", \"i\" in that "
       "order"},
      {nonce + "," + salt, "malformed SCRAM server-first-message: too few attributes"},
      {"r=" + std::string(kRfcClientNonce) + "," + salt + ",i=4096",
       "SCRAM nonce from server does not extend the client nonce"},
      {"r=XOprNGfwEbeRWgbNEkqOsrv," + salt + ",i=4096",
       "SCRAM nonce from server does not extend the client nonce"},
      {"r=rOprNGfwEbeRWgbNEkqO s," + salt + ",i=4096",
       "SCRAM nonce from server does not extend the client nonce"},
      {nonce + ",s=,i=4096", "malformed SCRAM server-first-message: invalid salt"},
      {nonce + ",s=W22ZaJ0SNY7soEsUEjb6gQ=,i=4096",
       "malformed SCRAM server-first-message: invalid salt"},
      {nonce + "," + salt + ",i=0",
       "malformed SCRAM server-first-message: invalid iteration count"},
      {nonce + "," + salt + ",i=-1",
       "malformed SCRAM server-first-message: invalid iteration count"},
      {nonce + "," + salt + ",i=", "malformed SCRAM server-first-message: invalid iteration count"},
      {nonce + "," + salt + ",i=4k",
       "malformed SCRAM server-first-message: invalid iteration count"},
      {nonce + "," + salt + ",i=2147483648",
       "malformed SCRAM server-first-message: invalid iteration count"},
      {nonce + "," + salt + ",i=4096,",
       "malformed SCRAM server-first-message: garbage after iteration count"},
      {nonce + "," + salt + ",i=4096,zz",
       "malformed SCRAM server-first-message: garbage after iteration count"},
  };
  for (const auto& testCase : cases) {
    const std::string& message = testCase.first;
    const std::string& expected = testCase.second;
    CAPTURE(message);
    ScramClient client = rfcClientAfterFirst();
    std::string error;
    CHECK_FALSE(client.handleServerFirst(message, &error));
    CHECK(error == expected);
    CHECK_FALSE(client.handleServerFirst(kRfcServerFirst, &error));
    CHECK(error == "unexpected SCRAM server-first-message");
  }

  ScramClient early("pencil");
  std::string error;
  CHECK_FALSE(early.handleServerFirst(kRfcServerFirst, &error));
  CHECK(error == "unexpected SCRAM server-first-message");
}

TEST_CASE("ScramClient rejects bad server-final-messages") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"e=invalid-proof", "server reported SCRAM error: invalid-proof"},
      {"", "malformed SCRAM server-final-message: expected attribute \"v\""},
      {"x=1", "malformed SCRAM server-final-message: expected attribute \"v\""},
      {std::string(kRfcServerFinal) + ",",
       "malformed SCRAM server-final-message: garbage after server signature"},
      {"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4",
       "malformed SCRAM server-final-message: invalid server signature encoding"},
      {"v=", "incorrect SCRAM server signature"},
  };
  for (const auto& testCase : cases) {
    const std::string& message = testCase.first;
    const std::string& expected = testCase.second;
    CAPTURE(message);
    ScramClient client = rfcClientAfterFirst();
    std::string error;
    REQUIRE(client.handleServerFirst(kRfcServerFirst, &error));
    CHECK_FALSE(client.verifyServerFinal(message, &error));
    CHECK(error == expected);
    CHECK_FALSE(client.verifyServerFinal(kRfcServerFinal, &error));
    CHECK(error == "unexpected SCRAM server-final-message");
  }

  // A trailing extension is allowed.
  ScramClient client = rfcClientAfterFirst();
  std::string error;
  REQUIRE(client.handleServerFirst(kRfcServerFirst, &error));
  CHECK(client.verifyServerFinal(std::string(kRfcServerFinal) + ",x=ext", &error));
}

TEST_CASE("ScramClient escapes its username and sends clientFirst once") {
  ScramClient client("pw", "nonce", "a,b=c");
  CHECK(client.clientFirst() == "n,,n=a=2Cb=3Dc,r=nonce");
  CHECK(client.clientFirst().empty());
}

TEST_CASE("md5Stored matches what PostgreSQL 15 stores") {
  // pg_authid.rolpassword after CREATE ROLE ... PASSWORD with password_encryption = 'md5'.
  CHECK(md5Stored("secret", "y") == "md5d18bf5f8eddaae3aed1d69b23a252748");
  CHECK(md5Stored("pencil", "alice") == "md5ee69efad287c7423caf0b3229d71f567");
  CHECK(isMd5Stored(md5Stored("", "")));
}

TEST_CASE("md5Response answers AuthenticationMD5Password") {
  // Expected values computed independently (Python hashlib).
  const std::string salt("\x01\x02\x03\x04", 4);
  CHECK(md5Response("secret", "y", salt) == "md59d5a65ea29a0dfa6decb3ca37621c86c");
  CHECK(md5ResponseFromStored("md5d18bf5f8eddaae3aed1d69b23a252748", salt) ==
        "md59d5a65ea29a0dfa6decb3ca37621c86c");
  const std::string binarySalt("\xde\xad\x00\xef", 4);
  CHECK(md5Response("pencil", "alice", binarySalt) == "md54190602901714a06faef69aa6bfafcab");
  CHECK(md5ResponseFromStored(md5Stored("pencil", "alice"), binarySalt) ==
        "md54190602901714a06faef69aa6bfafcab");
  CHECK(md5Response("pencil", "alice", salt) != md5Response("pencil", "alice", binarySalt));
}

TEST_CASE("md5 functions reject malformed secrets and salts") {
  const std::string salt("\x01\x02\x03\x04", 4);
  CHECK(md5Response("secret", "y", "abc").empty());
  CHECK(md5Response("secret", "y", "abcde").empty());
  for (std::string_view bad :
       {"", "md5", "d18bf5f8eddaae3aed1d69b23a252748", "md5d18bf5f8eddaae3aed1d69b23a25274",
        "md5d18bf5f8eddaae3aed1d69b23a2527480", "md5D18BF5F8EDDAAE3AED1D69B23A252748",
        "md5d18bf5f8eddaae3aed1d69b23a25274g", "MD5d18bf5f8eddaae3aed1d69b23a252748",
        "SCRAM-SHA-256$4096:"}) {
    CAPTURE(bad);
    CHECK_FALSE(isMd5Stored(bad));
    CHECK(md5ResponseFromStored(bad, salt).empty());
  }
  CHECK(isMd5Stored("md5d18bf5f8eddaae3aed1d69b23a252748"));
}
