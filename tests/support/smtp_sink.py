"""A real SMTP server for duetrack's tests, built on aiosmtpd.

Usage: python3 smtp_sink.py HOST PORT FOLDER

Every message it accepts is stored in FOLDER as one .eml file, preceded by an
X-Envelope-To header naming the envelope recipients. Recipients whose address
starts with "reject" are refused with a permanent 550, so that tests can see
how permanent failures are handled. It prints "ready" once it listens.
"""

import os
import sys
import time

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().startswith("reject"):
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        name = "%d-%04d.eml" % (time.time_ns(), self.count)
        partial = os.path.join(self.folder, name + ".part")
        with open(partial, "wb") as f:
            f.write(("X-Envelope-To: %s\r\n" % ", ".join(envelope.rcpt_tos)).encode())
            f.write(envelope.original_content)
        os.rename(partial, os.path.join(self.folder, name))
        return "250 Message accepted for delivery"


def main():
    host, port, folder = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    os.makedirs(folder, exist_ok=True)
    controller = Controller(Sink(folder), hostname=host, port=port)
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
