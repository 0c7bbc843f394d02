#include "router/net/tls.h"

#include <openssl/objects.h>
#include <openssl/x509.h>
#include <boost/asio/ssl.hpp>

namespace shardline::net {

namespace ssl = asio::ssl;

namespace {

class TlsTransport final : public Transport {
 public:
  TlsTransport(TcpSocket socket, ssl::context& context) : stream_(std::move(socket), context) {}

  ssl::stream<TcpSocket>& stream() { return stream_; }

  // TLS may hold decrypted bytes already; readSome waits as needed.
  awaitable<void> waitReadable() override { co_return; }

  awaitable<size_t> readSome(char* data, size_t size) override {
    co_return co_await stream_.async_read_some(asio::buffer(data, size), use_awaitable);
  }

  awaitable<void> writeAll(std::string_view data) override {
    co_await asio::async_write(stream_, asio::buffer(data.data(), data.size()), use_awaitable);
  }

  void close() override {
    ErrorCode ignored;
    stream_.lowest_layer().shutdown(TcpSocket::shutdown_both, ignored);
    stream_.lowest_layer().close(ignored);
  }

  void cancel() override {
    ErrorCode ignored;
    stream_.lowest_layer().cancel(ignored);
  }

  bool isTls() const override { return true; }

  // RFC 5929: the certificate hashed with its signature's hash, SHA-256 for MD5 or SHA-1.
  std::string tlsServerEndPoint() const override {
    SSL* ssl = const_cast<ssl::stream<TcpSocket>&>(stream_).native_handle();
    X509* cert = SSL_get_certificate(ssl);
    if (cert == nullptr) {
      return {};
    }
    int digestNid = NID_undef;
    int keyNid = NID_undef;
    if (OBJ_find_sigid_algs(X509_get_signature_nid(cert), &digestNid, &keyNid) == 0) {
      return {};
    }
    if (digestNid == NID_md5 || digestNid == NID_sha1) {
      digestNid = NID_sha256;
    }
    const EVP_MD* digest = EVP_get_digestbynid(digestNid);
    unsigned char hash[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (digest == nullptr || X509_digest(cert, digest, hash, &length) != 1) {
      return {};
    }
    return std::string(reinterpret_cast<char*>(hash), length);
  }

  std::string peer() const override {
    ErrorCode ec;
    auto endpoint = stream_.lowest_layer().remote_endpoint(ec);
    return ec ? "?" : endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  }

 private:
  ssl::stream<TcpSocket> stream_;
};

std::unique_ptr<TlsTransport> upgrade(std::unique_ptr<Transport>& plain, ssl::context& context) {
  if (!plain->isTcp()) {
    throw boost::system::system_error(asio::error::operation_not_supported, "TLS needs TCP");
  }
  return std::make_unique<TlsTransport>(plain->takeTcpSocket(), context);
}

}  // namespace

std::shared_ptr<ssl::context> makeServerTlsContext(const std::string& certFile,
                                                   const std::string& keyFile, std::string& error) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  ErrorCode ec;
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                           ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                           ssl::context::no_tlsv1_1,
                       ec);
  context->use_certificate_chain_file(certFile, ec);
  if (ec) {
    error = certFile + ": " + ec.message();
    return nullptr;
  }
  context->use_private_key_file(keyFile, ssl::context::pem, ec);
  if (ec) {
    error = keyFile + ": " + ec.message();
    return nullptr;
  }
  return context;
}

std::shared_ptr<ssl::context> makeClientTlsContext(const std::string& caFile, std::string& error) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  if (!caFile.empty()) {
    ErrorCode ec;
    context->load_verify_file(caFile, ec);
    if (ec) {
      error = caFile + ": " + ec.message();
      return nullptr;
    }
  }
  return context;
}

awaitable<std::unique_ptr<Transport>> tlsAccept(std::unique_ptr<Transport> plain,
                                                ssl::context& context) {
  auto tls = upgrade(plain, context);
  co_await tls->stream().async_handshake(ssl::stream_base::server, use_awaitable);
  co_return tls;
}

awaitable<std::unique_ptr<Transport>> tlsConnect(std::unique_ptr<Transport> plain,
                                                 ssl::context& context,
                                                 const std::string& verifyHost) {
  auto tls = upgrade(plain, context);
  if (!verifyHost.empty()) {
    tls->stream().set_verify_mode(ssl::verify_peer);
    tls->stream().set_verify_callback(ssl::host_name_verification(verifyHost));
    SSL_set_tlsext_host_name(tls->stream().native_handle(), verifyHost.c_str());
  } else {
    tls->stream().set_verify_mode(ssl::verify_none);
  }
  co_await tls->stream().async_handshake(ssl::stream_base::client, use_awaitable);
  co_return tls;
}

}  // namespace shardline::net
