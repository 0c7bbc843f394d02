#include "router/session/client_login.h"

#include <tuple>

namespace shardline::session {

bool LoginTable::ByValue::operator()(const ClientLogin& a, const ClientLogin& b) const {
  return std::tie(a.user, a.database, a.settings) < std::tie(b.user, b.database, b.settings);
}

std::shared_ptr<const ClientLogin> LoginTable::share(ClientLogin login) {
  auto it = logins_.find(login);
  if (it != logins_.end()) {
    return *it;
  }
  auto shared = std::make_shared<const ClientLogin>(std::move(login));
  logins_.insert(shared);
  return shared;
}

void LoginTable::prune() {
  for (auto it = logins_.begin(); it != logins_.end();) {
    it = it->use_count() == 1 ? logins_.erase(it) : std::next(it);
  }
}

}  // namespace shardline::session
