// Who a client logged in as: its user, its database and the startup parameters
// its backends are opened with.
//
// A login never changes once made. Sessions of one worker that logged in alike
// share one through the worker's LoginTable, so thousands of clients of one
// application hold one copy of its startup parameters. A LoginTable belongs to
// one worker and is touched only from that worker's thread.
#pragma once

#include <memory>
#include <set>
#include <string>

#include "router/config.h"
#include "router/pool/backend.h"

namespace shardline::session {

struct ClientLogin {
  const UserConfig* user = nullptr;
  std::string database;
  pool::StartupParameters settings;  // all but user, database and protocol options
};

class LoginTable {
 public:
  // The table's login equal to `login`, added when there is none.
  std::shared_ptr<const ClientLogin> share(ClientLogin login);
  // Forgets the logins no session holds any more.
  void prune();
  size_t size() const { return logins_.size(); }

 private:
  struct ByValue {
    using is_transparent = void;
    bool operator()(const std::shared_ptr<const ClientLogin>& a,
                    const std::shared_ptr<const ClientLogin>& b) const {
      return (*this)(*a, *b);
    }
    bool operator()(const ClientLogin& a, const std::shared_ptr<const ClientLogin>& b) const {
      return (*this)(a, *b);
    }
    bool operator()(const std::shared_ptr<const ClientLogin>& a, const ClientLogin& b) const {
      return (*this)(*a, b);
    }
    bool operator()(const ClientLogin& a, const ClientLogin& b) const;
  };

  std::set<std::shared_ptr<const ClientLogin>, ByValue> logins_;
};

}  // namespace shardline::session
