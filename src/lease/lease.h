// Leases: which process of the shop runs a job that must run once across all its nodes (event
// delivery, backups, the payment reconciler, retention purges, scheduled retraining, alert
// notices). A lease is a row of the `leases` table: a name, the owner holding it, when it expires,
// and a generation that grows each time it changes hands. The owner renews it well before it
// expires; when the owner dies (kill -9, a lost machine) nobody renews it, it expires, and another
// node takes it within the TTL plus one renewal interval.
//
// A stale owner (a process paused past its expiry, or cut off from the database) stops its job
// once its own view of the lease runs out, but a write already under way could still land after
// another node took over. Writes that must not come from a stale owner are fenced: they run Fence
// in their own transaction, which both checks that the lease is still theirs (same generation,
// unexpired) and locks the lease row until that transaction ends, so that a takeover waits for it.
//
// Times are each node's Clock in Unix milliseconds: nodes' clocks must agree to well within the
// TTL (NTP does). Every function here blocks on the database; none runs on a network thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/log.h"
#include "db/database.h"
#include "db/migrations.h"

namespace emporium::lease {

// The `leases` table.
std::vector<db::Migration> Migrations(db::Dialect dialect);

// Who holds a lease, since when, until when. Times are Unix milliseconds.
struct Holding {
    std::string name;
    std::string owner;
    std::int64_t generation = 0;  // 1 for the first holder, +1 at each change of hands
    std::int64_t acquired_at = 0;
    std::int64_t renewed_at = 0;
    std::int64_t expires_at = 0;
};

// Unix milliseconds of a clock reading.
std::int64_t UnixMillis(std::chrono::system_clock::time_point t);

// The primary's term, stored with the data (and so copied to a standby with every backup): 1 for
// a shop's first primary; a standby that is promoted begins the next one. An old primary that
// comes back and finds a peer in a later term has been replaced and must take no more writes.
// Both throw db::DbError.
std::int64_t PrimaryTerm(db::Database& database);
// Begins the term after the one recorded (the first one is 1) at `now` (Unix milliseconds);
// returns its number.
std::int64_t BeginNextTerm(db::Database& database, std::int64_t now);

// Takes lease `name` for owner until now + ttl when nobody holds it, its holder let it expire or
// released it, or owner holds it already (then it is renewed and keeps its generation). Returns
// the holding, or nullopt while another owner holds it unexpired. Throws db::DbError.
std::optional<Holding> TryAcquire(db::Database& database, std::string_view name, std::string_view owner,
                                  std::chrono::milliseconds ttl, std::int64_t now);

// Extends held to now + ttl when it is still the current holding of its lease (same owner, same
// generation: nobody took it meanwhile, even if it expired). Returns the renewed holding, or
// nullopt when the lease has changed hands. Throws db::DbError.
std::optional<Holding> Renew(db::Database& database, const Holding& held, std::chrono::milliseconds ttl,
                             std::int64_t now);

// Lets another owner take the lease at once (a clean shutdown). Does nothing when held is no
// longer the current holding. Throws db::DbError.
void Release(db::Database& database, const Holding& held);

// Inside a write transaction: true when held is still the current holding of its lease and
// unexpired at now. Locks the lease's row until the transaction ends (a takeover waits for it).
bool Fence(db::Connection& c, const Holding& held, std::int64_t now);

// Every lease, by name. Throws db::DbError.
std::vector<Holding> List(db::Database& database);

// Owners of unexpired presence leases ("node:OWNER", see LeaseKeeper): the processes running on
// this database now. Throws db::DbError.
std::vector<Holding> LiveNodes(db::Database& database, std::int64_t now);

// A job that runs only while this process holds its lease.
struct Job {
    std::string name;  // the lease's name: "events", "backups", ...
    // Called on the job's own thread when the lease is taken, and when it is lost (or the keeper
    // stops); stop returns once the job has stopped. Either may be empty.
    std::function<void(const Holding&)> start;
    std::function<void()> stop;
    // Periodic work while the lease is held: run is called on the job's thread every `every`
    // (the first time right after the lease is taken). An exception is logged and the job goes on.
    std::chrono::milliseconds every{0};
    std::function<void()> run;
};

struct KeeperOptions {
    std::chrono::milliseconds ttl{15000};  // a lease not renewed for this long can be taken
    // Renewal (and, for a lease held elsewhere, a try to take it) every ttl / 3.
};

// Holds the leases of one process's jobs: one thread per job takes its lease when it is free,
// renews it every ttl / 3, starts the job when taken and stops it when lost. When the database
// cannot be reached, a holder stops its job before its lease can have expired (its last good
// renewal plus ttl, less one renewal interval), so that two nodes never run one job at once.
// The keeper also holds a presence lease "node:OWNER" while it runs, so that `emporium restore`
// can see that a shop runs on the database.
class LeaseKeeper {
public:
    LeaseKeeper(db::Database& database, std::string owner, const Clock& clock, Logger logger, KeeperOptions options);
    ~LeaseKeeper();
    LeaseKeeper(const LeaseKeeper&) = delete;
    LeaseKeeper& operator=(const LeaseKeeper&) = delete;

    // Adds a job before Start.
    void Add(Job job);
    // Starts one thread per job (and the presence lease). Later calls do nothing.
    void Start();
    // Stops every job it holds and releases its leases, so that another node takes over at once.
    void Stop();

    // The holding of lease name while this process holds it (its own view: renewed in time).
    std::optional<Holding> Held(std::string_view name) const;
    bool Holds(std::string_view name) const { return Held(name).has_value(); }

    // Inside a write transaction: true while this process holds lease name (see lease::Fence).
    bool Fence(db::Connection& c, std::string_view name) const;

    const std::string& owner() const { return owner_; }
    std::chrono::milliseconds ttl() const { return options_.ttl; }

    // A process's owner name: host, pid and a random part (unique across restarts).
    static std::string MakeOwner();

private:
    struct Slot;
    void RunSlot(Slot& slot);
    // One pass of a slot: take or renew its lease, start or stop its job.
    void Step(Slot& slot);
    void Lose(Slot& slot, const char* why);
    bool WaitStopping(std::chrono::milliseconds wait);

    db::Database& database_;
    const std::string owner_;
    const Clock& clock_;
    Logger logger_;
    const KeeperOptions options_;
    std::vector<std::unique_ptr<Slot>> slots_;
    std::vector<std::thread> threads_;

    mutable std::mutex mutex_;  // guards stopping_, started_ and every slot's held
    std::condition_variable wake_;
    bool stopping_ = false;
    bool started_ = false;
};

}  // namespace emporium::lease
