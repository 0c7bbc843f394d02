// `shardline route`: prints how statements would be routed under a
// configuration, without connecting anywhere.
#pragma once

namespace shardline::route {

// argv without the leading "shardline route"; returns the process exit code.
int runRouteCommand(int argc, char** argv);

}  // namespace shardline::route
