// The list of a worker's client sessions, for shutdown: intrusive, so that a
// session costs the list no allocation, and a session leaves it by itself
// when it ends or is destroyed. Touched only from the worker's thread.
#pragma once

#include <boost/intrusive/list.hpp>

namespace shardline::session {

class ClientSession;

// The link a ClientSession holds.
using WorkerLink =
    boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;

using SessionList = boost::intrusive::list<ClientSession, boost::intrusive::base_hook<WorkerLink>,
                                           boost::intrusive::constant_time_size<false>>;

}  // namespace shardline::session
