// Process identity from /proc and the liveness test behind job leases.
#include "jobs/lease.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <vector>

namespace qs {
namespace {

std::string this_host() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == 0) return "localhost";
  return host;
}

}  // namespace

ProcessIdentity this_process() {
  ProcessIdentity me;
  me.host = this_host();
  me.pid = static_cast<int64_t>(getpid());
  me.start_ticks = local_process_start_ticks(me.pid).value_or(0);
  return me;
}

std::optional<int64_t> local_process_start_ticks(int64_t pid) {
  if (pid <= 0) return std::nullopt;
  std::ifstream stat_file("/proc/" + std::to_string(pid) + "/stat");
  if (!stat_file) return std::nullopt;
  std::string line;
  std::getline(stat_file, line);
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
  const auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(line.substr(close + 1));
  std::vector<std::string> after_comm;
  for (std::string field; fields >> field;) after_comm.push_back(field);
  // after_comm[0] is field 3 (state), so field 22 (starttime) is after_comm[19].
  if (after_comm.size() < 20) return std::nullopt;
  if (after_comm[0] == "Z" || after_comm[0] == "X") return std::nullopt;  // dead, not yet reaped
  try {
    return std::stoll(after_comm[19]);
  } catch (...) {
    return std::nullopt;
  }
}

const char *owner_status_name(OwnerStatus status) {
  switch (status) {
    case OwnerStatus::none: return "none";
    case OwnerStatus::alive: return "alive";
    case OwnerStatus::gone: return "gone";
  }
  return "?";
}

OwnerStatus lease_status(const std::optional<Lease> &lease, double now) {
  if (!lease) return OwnerStatus::none;
  if (lease->expires_at <= now) return OwnerStatus::gone;
  if (lease->owner.host != this_host()) return OwnerStatus::alive;  // only its lease can tell
  const auto start = local_process_start_ticks(lease->owner.pid);
  return start && *start == lease->owner.start_ticks ? OwnerStatus::alive : OwnerStatus::gone;
}

std::string new_lease_token() {
  std::random_device entropy;
  char token[33];
  std::snprintf(token, sizeof token, "%08x%08x%08x%08x", entropy(), entropy(), entropy(), entropy());
  return token;
}

}  // namespace qs
