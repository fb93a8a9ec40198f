"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, collecting what it accepts.

It can also misbehave on purpose, as real mail servers do: refuse messages after a
number of them (421), hang up once before the next message, drop the connection once
while a message is being handed over, refuse unknown recipients (550) or full mailboxes
(452), or take its time over each message.
"""

import asyncio
import email
import socket
import threading
from email import policy

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class MailCollector:
    """An aiosmtpd handler that keeps every accepted message, parsed."""

    def __init__(self):
        self.lock = threading.Lock()
        self.envelopes = []
        self.refuse_after = None  # accept this many, then answer DATA with 421
        self.hang_up_after = None  # accept this many, then hang up once at the next MAIL FROM
        self.drop_during_data_after = None  # accept this many, then drop the next one mid-DATA
        self.unknown_recipients = set()  # answered "550 no such user"
        self.busy_recipients = set()  # answered "452 mailbox full", a temporary refusal
        self.delay = 0.0  # seconds each message takes to accept, like a busy server
        self.connections = 0

    @property
    def messages(self):
        with self.lock:
            return [
                email.message_from_bytes(envelope.original_content, policy=policy.default)
                for envelope in self.envelopes
            ]

    def recipients(self):
        with self.lock:
            return [address for envelope in self.envelopes for address in envelope.rcpt_tos]

    def accept_everything(self):
        self.refuse_after = self.hang_up_after = self.drop_during_data_after = None

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        with self.lock:
            self.connections += 1
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        with self.lock:
            hang_up = self.hang_up_after is not None and len(self.envelopes) >= self.hang_up_after
        if hang_up:
            self.hang_up_after = None
            server.transport.close()
            return "421 4.3.2 Closing connection"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.unknown_recipients:
            return "550 5.1.1 No such user here"
        if address in self.busy_recipients:
            return "452 4.2.2 Mailbox full, try again later"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            count = len(self.envelopes)
            if self.drop_during_data_after is not None and count >= self.drop_during_data_after:
                self.drop_during_data_after = None
                server.transport.close()
                return "421 4.3.2 Gone"
            if self.refuse_after is not None and count >= self.refuse_after:
                return "421 4.3.2 Service shutting down, try again later"
            self.envelopes.append(envelope)
        return "250 2.0.0 Message accepted"


def start_smtp_server():
    collector = MailCollector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port())
    controller.start()
    return collector, controller
