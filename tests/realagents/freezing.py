"""Freezing a process as a hang would: every thread held in a ptrace stop.

SIGSTOP will not do in a pane: tmux sends SIGCONT to a pane process that stops (all but
SIGTTIN and SIGTTOU, which the agents ignore). A ptrace stop is reported to the tracer, this
test process, never to tmux. The process stays frozen until it is killed or this process
ends."""

from __future__ import annotations

import ctypes
import os

PTRACE_SEIZE = 0x4206
PTRACE_INTERRUPT = 0x4207

_libc = ctypes.CDLL(None, use_errno=True)
_libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]


def _ptrace(request: int, tid: int) -> None:
    if _libc.ptrace(request, tid, None, None) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"ptrace({request:#x}, {tid}): {os.strerror(errno)}")


def freeze(pid: int) -> None:
    """Hold every thread of `pid`, including any it starts while they are being held."""
    held: set[int] = set()
    while True:
        threads = {int(tid) for tid in os.listdir(f"/proc/{pid}/task")} - held
        if not threads:
            return
        for tid in sorted(threads):
            _ptrace(PTRACE_SEIZE, tid)
            _ptrace(PTRACE_INTERRUPT, tid)
            held.add(tid)
