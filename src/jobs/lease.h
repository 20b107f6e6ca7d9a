// Who runs a job: the identity of a process (host, pid, the pid's start time) written into a job's
// lease, and whether the process a lease names is still there.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace qs {

struct ProcessIdentity {
  std::string host;
  int64_t pid = 0;
  int64_t start_ticks = 0;  // /proc/<pid>/stat field 22: tells a reused pid from the original
  bool operator==(const ProcessIdentity &) const = default;
};

ProcessIdentity this_process();  // computed afresh each call (a forked child has a new pid)

// The start time of a process on this host, or nothing when no such process runs (or it is a
// zombie: killed, only waiting for its parent to collect it).
std::optional<int64_t> local_process_start_ticks(int64_t pid);

struct Lease {
  ProcessIdentity owner;
  std::string token;  // random, unique to one runner: two runners in one process differ
  double expires_at = 0;  // Unix seconds
};

enum class OwnerStatus {
  none,   // nobody holds the job
  alive,  // the owner renews its lease: leave the job alone
  gone,   // the lease expired, or its process on this host is dead: the job may be taken over
};
const char *owner_status_name(OwnerStatus status);

// A lease is alive while it has not expired and, when its owner is on this host, while that
// process (same pid, same start time) still runs; a dead local owner is found at once, a remote
// one when its lease expires.
OwnerStatus lease_status(const std::optional<Lease> &lease, double now);

std::string new_lease_token();

}  // namespace qs
