// shardline: the router daemon.
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <boost/program_options.hpp>

#include <chrono>
#include <iostream>

#include "router/config.h"
#include "router/route/route_command.h"
#include "router/server.h"
#include "shardmap/config_store.h"

namespace po = boost::program_options;

namespace {

bool setUpLogging(const shardline::LogConfig& log) {
  try {
    auto logger = log.file.empty() ? spdlog::stderr_color_mt("shardline")
                                   : spdlog::basic_logger_mt("shardline", log.file);
    spdlog::set_default_logger(logger);
    spdlog::set_level(spdlog::level::from_str(log.level));
    spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
    // A log file is written as events happen, not only when the router stops.
    spdlog::flush_on(spdlog::level::info);
    spdlog::flush_every(std::chrono::seconds(1));
    return true;
  } catch (const spdlog::spdlog_ex& e) {
    std::cerr << "shardline: log.file: " << e.what() << "\n";
    return false;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "route") {
    return shardline::route::runRouteCommand(argc - 1, argv + 1);
  }
  po::options_description options(
      "usage: shardline [options]\n       shardline route --help   (routing without connecting)\n"
      "options");
  options.add_options()("help,h", "show this help")(
      "config,c", po::value<std::string>()->default_value("shardline.toml"), "configuration file")(
      "check", "validate the configuration and exit")("version", "print the version and exit");
  po::variables_map args;
  try {
    // No positional arguments: a stray word (a subcommand in the wrong place, a
    // typo) is an error rather than a reason to start the daemon.
    po::store(po::command_line_parser(argc, argv)
                  .options(options)
                  .positional(po::positional_options_description())
                  .run(),
              args);
    po::notify(args);
  } catch (const po::error& e) {
    std::cerr << "shardline: " << e.what() << "\n" << options;
    return 2;
  }
  if (args.count("help") != 0) {
    std::cout << options;
    return 0;
  }
  if (args.count("version") != 0) {
    std::cout << "shardline 0.1.0\n";
    return 0;
  }

  auto loaded = shardline::loadConfig(args["config"].as<std::string>());
  if (!loaded.config) {
    std::cerr << "shardline: " << loaded.error << "\n";
    return 1;
  }
  // The shard map shares the file; a map that cannot be built refuses the start too.
  std::vector<std::string> nodeShards;
  for (const auto& node : loaded.config->nodes) {
    nodeShards.push_back(node.shard);
  }
  auto map = shardline::shardmap::loadShardMap(args["config"].as<std::string>(), nodeShards);
  if (!map.map) {
    std::cerr << "shardline: " << map.error << "\n";
    return 1;
  }
  if (args.count("check") != 0) {
    std::cout << "configuration ok\n";
    return 0;
  }
  if (!setUpLogging(loaded.config->log)) {
    return 1;
  }

  shardline::Server server(std::move(*loaded.config), map.map);
  std::string error = server.start();
  if (!error.empty()) {
    spdlog::error("{}", error);
    return 1;
  }
  server.wait();
  return 0;
}
