"""A real SMTP server for the newsletter benchmark: aiosmtpd on 127.0.0.1, counting.

Accepts every message and keeps only the count, which it prints when stopped (SIGTERM),
so the benchmark can check that every signup and delivery reached it exactly once.

    .venv/bin/python bench/smtp_sink.py PORT
"""

import signal
import sys
import threading

from aiosmtpd.controller import Controller


class Counter:
    def __init__(self):
        self.messages = 0

    async def handle_DATA(self, server, session, envelope):
        self.messages += 1
        return "250 2.0.0 Message accepted"


def main():
    port = int(sys.argv[1])
    counter = Counter()
    controller = Controller(counter, hostname="127.0.0.1", port=port)
    controller.start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    stopped.wait()
    controller.stop()
    print(counter.messages, flush=True)


if __name__ == "__main__":
    main()
