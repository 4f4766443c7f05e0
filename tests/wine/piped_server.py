"""sysgi.exe run by a test with stdout and stderr on one pipe (a program
that starts Python must not write to a regular file under Wine: WINE.md),
read line by line by a thread, so a test can wait for a log line."""
import re
import signal
import subprocess
import threading
import time


class Server:
    """`wine SYSGI ARGS...`; its workers inherit the pipe, so their lines
    are here too. `timeout` bounds stop(), `wait_timeout` a wait for a
    line (start-up imports Python, slowly under Wine). With `log`, every line is also appended to that file as
    it comes: what a hung test was doing can be read while it runs."""

    def __init__(self, sysgi, env, args, log=None, timeout=120,
                 wait_timeout=300):
        self.timeout = timeout            # for stop()
        self.wait_timeout = wait_timeout  # wait_re()/wait_line() default
        self.proc = subprocess.Popen(["wine", sysgi] + list(args), env=env,
                                     stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.log = open(log, "a", encoding="utf-8") if log else None
        self.lines = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip()
            if self.log:
                self.log.write(line + "\n")
                self.log.flush()
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()
        with self.cond:
            self.lines.append(None)  # the pipe closed: the process ended
            self.cond.notify_all()

    def output(self):
        with self.cond:
            return "\n".join(l for l in self.lines if l is not None)

    def mark(self):
        """The index of the next line, for since() and wait_re(start=)."""
        with self.cond:
            return len(self.lines)

    def since(self, mark):
        with self.cond:
            return "\n".join(l for l in self.lines[mark:] if l is not None)

    def _wait(self, match, what, timeout, start):
        deadline = time.monotonic() + (timeout or self.wait_timeout)
        with self.cond:
            while True:
                for line in self.lines[start:]:
                    if line is not None:
                        found = match(line)
                        if found:
                            return found
                left = deadline - time.monotonic()
                if None in self.lines or left <= 0:
                    raise AssertionError("no %r; output:\n%s"
                                         % (what, self.output()))
                self.cond.wait(left)

    def wait_re(self, pattern, timeout=None, start=0):
        """The first match of `pattern` in a line from index `start`;
        fails once the process ended or `timeout` passed without one."""
        rx = re.compile(pattern)
        return self._wait(rx.search, pattern, timeout, start)

    def wait_line(self, prefix, timeout=None, start=0):
        """The first line that starts with `prefix` (as wait_re)."""
        return self._wait(lambda l: l if l.startswith(prefix) else None,
                          prefix, timeout, start)

    def stop(self):
        """Ctrl-C (Wine makes SIGINT a CTRL_C_EVENT), a kill if it does not
        end within the timeout; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=self.timeout)
        return self.proc.returncode
