"""A private RabbitMQ broker on loopback for one test: Debian's rabbitmq-server started directly
(the /usr/sbin wrappers switch user), with every port, file and the Erlang port mapper of its own,
and stopped (epmd included) afterwards."""
import os
import shutil
import socket
import subprocess
import tempfile
import time

from shop import free_port

RABBIT_BIN = "/usr/lib/rabbitmq/bin"


class Broker:
    def __init__(self, attempts=3):
        """A booted broker. A boot that fails (a port taken between choosing and binding it, a VM
        that gives up on a crowded machine) is retried on new ports, up to `attempts` times; the
        last failure is raised with the broker's own output."""
        for attempt in range(1, attempts + 1):
            try:
                self._boot()
                return
            except RuntimeError:
                if attempt == attempts:
                    raise

    def _fail(self, reason):
        try:
            with open(os.path.join(self.dir, "server.out"), "rb") as f:
                output = f.read()[-1500:].decode("utf-8", "replace")
        except OSError:
            output = ""
        self.close()
        raise RuntimeError(f"{reason}\n--- rabbitmq-server's output:\n{output}")

    def _boot(self):
        self.dir = tempfile.mkdtemp(prefix="emporium-rabbit-")
        self.port, self.dist_port, self.epmd_port = free_port(), free_port(), free_port()
        self.node = f"emporium{self.port}@localhost"
        config = os.path.join(self.dir, "rabbitmq.conf")
        with open(config, "w") as f:
            f.write("loopback_users = none\nlisteners.tcp.default = 127.0.0.1:%d\n" % self.port)
        plugins = os.path.join(self.dir, "enabled_plugins")
        with open(plugins, "w") as f:
            f.write("[].\n")
        # RabbitMQ also reads unprefixed settings from the environment (LOGS, NODENAME, ...):
        # scripts/test.sh exports LOGS for its own log directory, which must not become the
        # broker's log file.
        inherited = {k: v for k, v in os.environ.items() if k not in ("LOGS", "NODENAME", "NODE_PORT", "MNESIA_BASE")}
        self.env = dict(inherited, HOME=self.dir, RABBITMQ_NODENAME=self.node,
                        RABBITMQ_LOGS=os.path.join(self.dir, "log", "rabbit.log"),
                        RABBITMQ_NODE_IP_ADDRESS="127.0.0.1", RABBITMQ_NODE_PORT=str(self.port),
                        RABBITMQ_DIST_PORT=str(self.dist_port), ERL_EPMD_PORT=str(self.epmd_port),
                        ERL_EPMD_ADDRESS="127.0.0.1",
                        RABBITMQ_MNESIA_BASE=os.path.join(self.dir, "mnesia"),
                        RABBITMQ_LOG_BASE=os.path.join(self.dir, "log"),
                        RABBITMQ_CONFIG_FILE=os.path.join(self.dir, "rabbitmq"),
                        RABBITMQ_ENABLED_PLUGINS_FILE=plugins,
                        RABBITMQ_PID_FILE=os.path.join(self.dir, "rabbit.pid"),
                        # a crashing Erlang VM writes its dump here, never into the checkout
                        ERL_CRASH_DUMP=os.path.join(self.dir, "erl_crash.dump"),
                        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}")
        self.log = open(os.path.join(self.dir, "server.out"), "wb")
        self.proc = subprocess.Popen([os.path.join(RABBIT_BIN, "rabbitmq-server")], env=self.env,
                                     stdout=self.log, stderr=self.log, start_new_session=True, cwd=self.dir)
        # The AMQP listener opens once the rabbit application has booted: a connect is the cheap
        # readiness probe (rabbitmq-diagnostics ping and rabbitmqctl await_startup each start an
        # Erlang VM of their own, a second of CPU apiece). Generous: the VM is slow on a busy machine.
        deadline = time.time() + 180
        while True:
            if self.proc.poll() is not None:
                self._fail("rabbitmq-server exited at start")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=2).close()
                break
            except OSError:
                if time.time() > deadline:
                    self._fail(f"rabbitmq-server is not listening on {self.port} after 180 s")
                time.sleep(0.1)  # polling the listener
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def queue_depths(self):
        """{queue: (ready, unacknowledged)} as the broker counts them."""
        r = subprocess.run([os.path.join(RABBIT_BIN, "rabbitmqctl"), "-q", "list_queues", "name", "messages_ready",
                            "messages_unacknowledged"], env=self.env, capture_output=True, timeout=30, text=True)
        out = {}
        for line in r.stdout.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1].isdigit():
                out[parts[0]] = (int(parts[1]), int(parts[2]))
        return out

    def close(self):
        # SIGTERM stops the node as `rabbitmqctl stop` does, without starting a VM to say so.
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, 9)
            self.proc.wait()
        subprocess.run(["epmd", "-port", str(self.epmd_port), "-kill"], capture_output=True, timeout=10)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
