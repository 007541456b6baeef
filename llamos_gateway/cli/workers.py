"""Running uvicorn for `llamos serve`: one worker in the process, or a supervisor of several.

Imported when the server starts (uvicorn is not needed by the other commands)."""

from __future__ import annotations

import os
import signal
import socket
from types import FrameType

import uvicorn
from uvicorn.supervisors.multiprocess import Multiprocess


def run_server(config: uvicorn.Config) -> None:
    """`uvicorn.run` for our config: one worker in this process, or a supervisor that stops
    every worker at once (`Supervisor`)."""
    if config.workers > 1:
        Supervisor(config, sockets=[config.bind_socket()]).run()
        return
    server = uvicorn.Server(config)
    server.run()
    if not server.started:
        raise SystemExit(3)  # uvicorn's own status when the app failed to start


class Supervisor(Multiprocess):
    """uvicorn's worker supervisor, with one change: on SIGTERM/SIGINT it closes its copy of
    the listening socket and signals every worker at once, instead of at its next half-second
    poll. Each worker closes its own copy as it begins its graceful shutdown, so the port
    refuses new connections as soon as all have had the signal, and no worker is left
    accepting while another is already stopping. (uvicorn then logs and joins as usual.)"""

    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket]) -> None:
        super().__init__(config, sockets=sockets)
        self._stopping = False
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._stop_now)

    def _stop_now(self, signum: int, _frame: FrameType | None) -> None:
        if not self._stopping:
            self._stopping = True
            for sock in self.sockets:
                sock.close()
            for process in self.processes:
                if process.pid is not None and process.exitcode is None:
                    os.kill(process.pid, signal.SIGTERM)
        self.signal_queue.append(signum)  # the run loop logs it and stops as before

    def keep_subprocess_alive(self) -> None:
        if not self._stopping:  # a worker that exits after the signal is not restarted
            super().keep_subprocess_alive()
