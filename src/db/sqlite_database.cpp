// SQLite backend: WAL journal, one writer connection behind a mutex, a small pool of reader
// connections, and a prepared-statement cache per connection.
#include <sqlite3.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "core/trace.h"
#include "db/database.h"
#include "tracing/span.h"

namespace emporium::db {
namespace {

[[noreturn]] void Throw(sqlite3* handle, int rc, std::string_view what) {
    const int primary = rc & 0xff;
    // Interrupts come only from the deadline's progress handler.
    DbError::Kind kind = primary == SQLITE_CONSTRAINT                           ? DbError::Kind::kConstraint
                         : (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) ? DbError::Kind::kBusy
                         : primary == SQLITE_INTERRUPT                          ? DbError::Kind::kTimeout
                                                                                : DbError::Kind::kOther;
    std::string message(what);
    message += ": ";
    message += handle ? sqlite3_errmsg(handle) : sqlite3_errstr(rc);
    throw DbError(kind, message);
}

class SqliteRow final : public Row {
public:
    explicit SqliteRow(sqlite3_stmt* stmt) : stmt_(stmt) {}
    bool IsNull(int column) const override { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
    std::int64_t Int(int column) const override { return sqlite3_column_int64(stmt_, column); }
    double Real(int column) const override { return sqlite3_column_double(stmt_, column); }
    std::string_view Text(int column) const override {
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
        return text ? std::string_view(text, static_cast<size_t>(sqlite3_column_bytes(stmt_, column)))
                    : std::string_view();
    }

private:
    sqlite3_stmt* stmt_;
};

class SqliteConnection final : public Connection {
public:
    SqliteConnection(const SqliteOptions& options, bool writer) : observer_(options.observer) {
        int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
        int rc = sqlite3_open_v2(options.path.c_str(), &handle_, flags, nullptr);
        if (rc != SQLITE_OK) {
            std::string message = "cannot open " + options.path;
            sqlite3_close(handle_);
            handle_ = nullptr;
            Throw(nullptr, rc, message);
        }
        sqlite3_busy_timeout(handle_, options.busy_timeout_ms);
        sqlite3_extended_result_codes(handle_, 1);
        ExecuteScript("PRAGMA foreign_keys = ON");
        // Statement journals and sorts stay in memory: a temp file per statement is a write per row.
        ExecuteScript("PRAGMA temp_store = MEMORY");
        ExecuteScript("PRAGMA mmap_size = " + std::to_string(options.mmap_bytes));
        ExecuteScript("PRAGMA cache_size = -" + std::to_string(options.cache_kib));
        if (writer) {
            ExecuteScript("PRAGMA journal_mode = WAL");
            ExecuteScript(options.synchronous_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
        }
    }

    sqlite3* handle() { return handle_; }

    ~SqliteConnection() override {
        for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
        sqlite3_close_v2(handle_);
    }

    SqliteConnection(const SqliteConnection&) = delete;
    SqliteConnection& operator=(const SqliteConnection&) = delete;

    void Query(std::string_view sql, const Params& params, const RowCallback& on_row) override {
        Run(sql, params, &on_row);
    }

    std::int64_t Execute(std::string_view sql, const Params& params) override {
        Run(sql, params, nullptr);
        return sqlite3_changes64(handle_);
    }

    void SetDeadline(std::optional<std::chrono::steady_clock::time_point> deadline) override {
        deadline_ = deadline;
        // Asked every 1,000 virtual machine steps: a clock read per thousand rows' work or so.
        sqlite3_progress_handler(handle_, deadline ? 1000 : 0, deadline ? &PastDeadline : nullptr, this);
    }

    void ExecuteScript(std::string_view sql) override {
        std::string text(sql);
        char* error = nullptr;
        int rc = sqlite3_exec(handle_, text.c_str(), nullptr, nullptr, &error);
        if (rc != SQLITE_OK) {
            std::string message = error ? error : sqlite3_errstr(rc);
            sqlite3_free(error);
            throw DbError((rc & 0xff) == SQLITE_CONSTRAINT ? DbError::Kind::kConstraint
                          : (rc & 0xff) == SQLITE_BUSY     ? DbError::Kind::kBusy
                                                           : DbError::Kind::kOther,
                          message);
        }
    }

private:
    static int PastDeadline(void* self) {
        const auto& deadline = static_cast<SqliteConnection*>(self)->deadline_;
        return deadline && std::chrono::steady_clock::now() >= *deadline ? 1 : 0;
    }

    sqlite3_stmt* Prepare(std::string_view sql) {
        auto it = statements_.find(sql);
        if (it != statements_.end()) return it->second;
        sqlite3_stmt* stmt = nullptr;
        int rc = sqlite3_prepare_v3(handle_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt,
                                    nullptr);
        if (rc != SQLITE_OK) Throw(handle_, rc, "prepare");
        statements_.emplace(std::string(sql), stmt);
        return stmt;
    }

    void Run(std::string_view sql, const Params& params, const RowCallback* on_row) {
        auto started = std::chrono::steady_clock::now();
        if (deadline_ && started >= *deadline_) throw DbError(DbError::Kind::kTimeout, "the deadline had passed");
        sqlite3_stmt* stmt = Prepare(sql);
        // Reset on every exit path so the cached statement is ready and holds no read lock.
        struct Resetter {
            sqlite3_stmt* s;
            ~Resetter() {
                sqlite3_reset(s);
                sqlite3_clear_bindings(s);
            }
        } resetter{stmt};
        for (size_t i = 0; i < params.size(); ++i) {
            int index = static_cast<int>(i) + 1;
            int rc = std::visit(
                [&](const auto& v) -> int {
                    using V = std::decay_t<decltype(v)>;
                    if constexpr (std::is_same_v<V, std::nullptr_t>) {
                        return sqlite3_bind_null(stmt, index);
                    } else if constexpr (std::is_same_v<V, std::int64_t>) {
                        return sqlite3_bind_int64(stmt, index, v);
                    } else if constexpr (std::is_same_v<V, double>) {
                        return sqlite3_bind_double(stmt, index, v);
                    } else {
                        return sqlite3_bind_text(stmt, index, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
                    }
                },
                params[i]);
            if (rc != SQLITE_OK) Throw(handle_, rc, "bind");
        }
        SqliteRow row(stmt);
        while (true) {
            int rc = sqlite3_step(stmt);
            if (rc == SQLITE_ROW) {
                if (on_row) (*on_row)(row);
                continue;
            }
            if (rc == SQLITE_DONE) break;
            Throw(handle_, rc, "step");
        }
        if (observer_) observer_(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }

    struct Hash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };

    sqlite3* handle_ = nullptr;
    QueryObserver observer_;
    std::optional<std::chrono::steady_clock::time_point> deadline_;
    std::unordered_map<std::string, sqlite3_stmt*, Hash, std::equal_to<>> statements_;
};

// Checkpoints off the write path. SQLite's automatic checkpoint runs inside the commit that takes
// the write-ahead log past its threshold: that commit, and every write queued behind it, waits for
// the copy and the database file's fsync (a few hundred milliseconds under load, every few seconds
// at a busy shop). Here a commit only notes the log's length; this thread checkpoints on its own
// connection, passively: it never waits for readers or writers, and they never wait for it. The
// writer's next commit after a complete checkpoint starts the log over from its beginning.
class Checkpointer {
public:
    // Takes over writer's write-ahead-log hook (so SQLite's automatic checkpoint is off on it).
    Checkpointer(const SqliteOptions& options, sqlite3* writer)
        : connection_(options, /*writer=*/false), threshold_(std::max(1, options.checkpoint_pages)) {
        // The checkpoint's fsyncs follow the connection that runs it.
        connection_.ExecuteScript(options.synchronous_full ? "PRAGMA synchronous = FULL"
                                                           : "PRAGMA synchronous = NORMAL");
        thread_ = std::thread([this] { Run(); });
        sqlite3_wal_hook(writer, &Checkpointer::OnCommit, this);
    }

    // The writer must be closed or unhooked first: no commit may call OnCommit from here on.
    ~Checkpointer() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_one();
        thread_.join();
    }

    Checkpointer(const Checkpointer&) = delete;
    Checkpointer& operator=(const Checkpointer&) = delete;

    // Checkpoints run so far, and their time in seconds.
    std::pair<std::int64_t, double> Figures() const {
        std::lock_guard lock(mutex_);
        return {runs_, seconds_};
    }

private:
    // Called by SQLite after each commit on the writer, with its lock released.
    static int OnCommit(void* self_pointer, sqlite3* /*writer*/, const char* /*schema*/, int pages) {
        auto* self = static_cast<Checkpointer*>(self_pointer);
        if (pages >= self->threshold_) {
            {
                std::lock_guard lock(self->mutex_);
                self->due_ = true;
            }
            self->wake_.notify_one();
        }
        return SQLITE_OK;
    }

    void Run() {
        std::unique_lock lock(mutex_);
        while (true) {
            wake_.wait(lock, [&] { return due_ || stopping_; });
            if (stopping_) return;
            due_ = false;
            lock.unlock();
            const auto started = std::chrono::steady_clock::now();
            // SQLITE_BUSY (another checkpoint running) and errors leave the log for the next one.
            sqlite3_wal_checkpoint_v2(connection_.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
            const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            lock.lock();
            ++runs_;
            seconds_ += took;
        }
    }

    SqliteConnection connection_;  // used by thread_ only
    const int threshold_;
    mutable std::mutex mutex_;  // guards due_, stopping_, runs_ and seconds_
    std::condition_variable wake_;
    bool due_ = false;
    bool stopping_ = false;
    std::int64_t runs_ = 0;
    double seconds_ = 0;
    std::thread thread_;
};

class SqliteDatabase final : public Database {
public:
    explicit SqliteDatabase(const SqliteOptions& options)
        : path_(options.path), busy_timeout_ms_(options.busy_timeout_ms), readers_(std::max(1, options.readers)) {
        writer_ = std::make_unique<SqliteConnection>(options, /*writer=*/true);
        checkpointer_ = std::make_unique<Checkpointer>(options, writer_->handle());
        for (int i = 0; i < readers_; ++i) {
            idle_readers_.push_back(std::make_unique<SqliteConnection>(options, /*writer=*/false));
        }
    }

    ~SqliteDatabase() override {
        // The writer first: no commit calls the checkpointer after this. (The last connection to
        // close checkpoints what is left and removes the log.)
        writer_.reset();
        checkpointer_.reset();
    }

    Dialect dialect() const override { return Dialect::kSqlite; }

    PoolStats Pool() const override {
        std::lock_guard lock(readers_mutex_);
        PoolStats stats;
        stats.idle = static_cast<std::int64_t>(idle_readers_.size());
        stats.in_use = readers_ - stats.idle;
        stats.size = readers_;
        stats.waits = reader_waits_;
        stats.waiting = readers_waiting_;
        stats.wait_seconds = reader_wait_seconds_;
        std::tie(stats.checkpoints, stats.checkpoint_seconds) = checkpointer_->Figures();
        return stats;
    }

    void BackupTo(const std::string& path) override {
        Handle source = Open(path_, SQLITE_OPEN_READONLY);
        Handle dest = Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
        // One step copies every page from one read snapshot: in WAL mode writers are not blocked,
        // and the copy cannot mix pages from before and after a commit.
        Copy(source.get(), dest.get(), "backup to " + path);
    }

    void RestoreFrom(const std::string& path) override {
        Handle source = Open(path, SQLITE_OPEN_READONLY);
        // Take the writer's turn: no batch runs while the pages are replaced.
        std::unique_lock lock(queue_mutex_);
        written_.wait(lock, [&] { return !leading_; });
        leading_ = true;
        lock.unlock();
        std::exception_ptr error;
        try {
            Copy(source.get(), writer_->handle(), "restore from " + path);
        } catch (...) {
            error = std::current_exception();
        }
        lock.lock();
        leading_ = false;
        lock.unlock();
        written_.notify_all();
        if (error) std::rethrow_exception(error);
    }

protected:
    void RunRead(const std::function<void(Connection&)>& fn) override {
        std::unique_ptr<SqliteConnection> connection;
        {
            std::unique_lock lock(readers_mutex_);
            if (idle_readers_.empty()) {
                ++reader_waits_;
                ++readers_waiting_;
                const auto started = std::chrono::steady_clock::now();
                readers_available_.wait(lock, [&] { return !idle_readers_.empty(); });
                --readers_waiting_;
                reader_wait_seconds_ +=
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            }
            connection = std::move(idle_readers_.back());
            idle_readers_.pop_back();
        }
        struct Return {
            SqliteDatabase* self;
            std::unique_ptr<SqliteConnection>& c;
            ~Return() {
                {
                    std::lock_guard lock(self->readers_mutex_);
                    self->idle_readers_.push_back(std::move(c));
                }
                self->readers_available_.notify_one();
            }
        } give_back{this, connection};
        connection->ExecuteScript("BEGIN");
        try {
            fn(*connection);
        } catch (...) {
            connection->ExecuteScript("ROLLBACK");
            throw;
        }
        connection->ExecuteScript("COMMIT");
    }

    // Group commit: writers queue up; whoever finds no batch running leads one. The leader runs
    // every queued write inside one transaction, each in a savepoint of its own (so one write's
    // rollback leaves the others alone), commits once and then wakes them all. Under load one
    // fsync serves many writes; alone, a write commits at once. Nobody hears "done" before the
    // commit that holds their write has returned.
    void RunWrite(const std::function<bool(Connection&)>& fn) override {
        // The leader may be another thread: the write runs under this thread's trace wherever it runs.
        PendingWrite mine{&fn, tracing::CurrentCollector(), CurrentTrace(), false, nullptr};
        std::unique_lock lock(queue_mutex_);
        queue_.push_back(&mine);
        while (!mine.done) {
            if (!leading_) {
                leading_ = true;
                while (!queue_.empty()) {
                    std::vector<PendingWrite*> batch;
                    batch.swap(queue_);
                    lock.unlock();
                    RunBatch(batch);
                    lock.lock();
                    for (PendingWrite* w : batch) w->done = true;
                    written_.notify_all();
                }
                leading_ = false;
                written_.notify_all();  // a restore may be waiting for the writer's turn
            } else {
                written_.wait(lock);
            }
        }
        lock.unlock();
        if (mine.error) std::rethrow_exception(mine.error);
    }

private:
    struct CloseHandle {
        void operator()(sqlite3* h) const { sqlite3_close_v2(h); }
    };
    using Handle = std::unique_ptr<sqlite3, CloseHandle>;

    Handle Open(const std::string& path, int flags) const {
        sqlite3* raw = nullptr;
        int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
        Handle h(raw);
        if (rc != SQLITE_OK) Throw(nullptr, rc, "cannot open " + path);
        sqlite3_busy_timeout(raw, busy_timeout_ms_);
        return h;
    }

    static void Copy(sqlite3* source, sqlite3* dest, const std::string& what) {
        sqlite3_backup* backup = sqlite3_backup_init(dest, "main", source, "main");
        if (!backup) Throw(dest, sqlite3_errcode(dest), what);
        int rc = SQLITE_OK;
        do {
            rc = sqlite3_backup_step(backup, -1);
            if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) sqlite3_sleep(10);
        } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
        int finished = sqlite3_backup_finish(backup);
        if (rc != SQLITE_DONE) Throw(dest, rc, what);
        if (finished != SQLITE_OK) Throw(dest, finished, what);
    }

    struct PendingWrite {
        const std::function<bool(Connection&)>* fn;
        // The writer's span collector and trace: they live while it waits for its write.
        tracing::SpanCollector* collector;
        const TraceContext* trace;
        bool done = false;
        std::exception_ptr error;
    };

    // Runs on the leader's thread, outside queue_mutex_; only the leader touches writer_.
    void RunBatch(const std::vector<PendingWrite*>& batch) {
        try {
            writer_->ExecuteScript("BEGIN IMMEDIATE");
        } catch (...) {
            for (PendingWrite* w : batch) w->error = std::current_exception();
            return;
        }
        for (PendingWrite* w : batch) {
            writer_->ExecuteScript("SAVEPOINT write");
            bool keep = false;
            tracing::CollectorScope writers_trace(w->collector, w->trace);
            try {
                keep = (*w->fn)(*writer_);
            } catch (...) {
                w->error = std::current_exception();
            }
            writer_->ExecuteScript(keep && !w->error ? "RELEASE write" : "ROLLBACK TO write; RELEASE write");
        }
        try {
            writer_->ExecuteScript("COMMIT");
        } catch (...) {
            // Nothing of this batch is durable: every writer in it hears so.
            try {
                writer_->ExecuteScript("ROLLBACK");
            } catch (...) {
            }
            for (PendingWrite* w : batch) {
                if (!w->error) w->error = std::current_exception();
            }
        }
    }

    // Guards queue_, leading_ and each PendingWrite's done. The leader sets error before it sets
    // done under this mutex, so the writer reads it safely afterwards.
    std::mutex queue_mutex_;
    std::condition_variable written_;
    std::vector<PendingWrite*> queue_;
    bool leading_ = false;
    std::string path_;
    int busy_timeout_ms_ = 5000;
    std::unique_ptr<SqliteConnection> writer_;  // used by the current leader only
    std::unique_ptr<Checkpointer> checkpointer_;
    const int readers_;
    mutable std::mutex readers_mutex_;  // guards idle_readers_ and the reader wait figures
    std::condition_variable readers_available_;
    std::vector<std::unique_ptr<SqliteConnection>> idle_readers_;
    std::int64_t reader_waits_ = 0;
    std::int64_t readers_waiting_ = 0;
    double reader_wait_seconds_ = 0;
};

}  // namespace

std::unique_ptr<Database> OpenSqlite(const SqliteOptions& options) {
    return std::make_unique<SqliteDatabase>(options);
}

}  // namespace emporium::db
