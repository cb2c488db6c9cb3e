"""A delivery campaign: broadcasts to live stand-in panes with other traffic, while the
courier may be killed (SIGKILL or SIGTERM) at random moments; then every notice typed into
every pane is counted by its header.

Used by tests/test_delivery_exactly_once.py (short) and bench/delivery_campaign.py (long). The
caller provides a fleet whose members already run stand-in agents; the campaign only sends,
kills and counts.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

HEADER = re.compile(r"\[cafleet msg (\d+) from ")


@dataclass
class CampaignResult:
    sent: int = 0  # notices that were due to be typed (one per recipient with a pane)
    typed_once: int = 0
    typed_twice: int = 0  # notices typed more than once (any count above one)
    lost: int = 0  # notices never typed although the agent was ready
    stray: int = 0  # headers typed that no notice for that pane explains
    wedged: list[str] = field(default_factory=list)  # members whose box holds cafleet's own text
    kills: Counter = field(default_factory=Counter)
    outcomes: Counter = field(default_factory=Counter)

    @property
    def exactly_once(self) -> bool:
        return self.typed_once == self.sent and not (self.typed_twice or self.lost or self.stray or self.wedged)

    def summary(self) -> str:
        kills = ", ".join(f"{n} {name}" for name, n in sorted(self.kills.items())) or "none"
        return (
            f"{self.sent} notices: {self.typed_once} typed once, {self.typed_twice} typed twice, {self.lost} lost, "
            f"{self.stray} stray, {len(self.wedged)} wedged panes; courier kills: {kills}; outcomes: {dict(self.outcomes)}"
        )


@dataclass
class Campaign:
    """`send(args, director)` runs the CLI in the fleet, from the Director's pane or (False)
    from a shell outside every pane (returns stdout, raises on failure);
    `member_inputs(name)` the texts a member's stand-in took as input; `courier_pids()` the
    running couriers of this database; `member_boxes()` member name -> its input box text."""

    send: Callable[[list[str], bool], str]
    member_inputs: Callable[[str], list[str]]
    courier_pids: Callable[[], list[int]]
    member_boxes: Callable[[], dict[str, str]]
    director_id: int
    members: dict[str, int]  # name -> agent id
    seed: int = 1
    kill_probability: float = 0.0
    sigterm_share: float = 0.3

    def run(self, seconds: float, broadcast_every: float = 1.5) -> CampaignResult:
        rng = random.Random(self.seed)
        result = CampaignResult()
        deadline = time.monotonic() + seconds
        names = list(self.members)
        round_ = 0
        while time.monotonic() < deadline:
            round_ += 1
            self.send(
                ["message", "broadcast", "--agent-id", str(self.director_id), "--quiet", "--text", f"round {round_}: status?"],
                True,
            )
            for _ in range(2):  # other traffic: members writing to each other
                sender, recipient = rng.sample(names, 2)
                self.send(
                    [
                        "message",
                        "send",
                        "--agent-id",
                        str(self.members[sender]),
                        "--to",
                        recipient,
                        "--quiet",
                        "--text",
                        f"from {sender} in round {round_}",
                    ],
                    False,
                )
            if rng.random() < self.kill_probability:
                time.sleep(rng.uniform(0.0, 1.2))  # land somewhere inside the deliveries
                self._kill(rng, result)
            time.sleep(max(0.0, broadcast_every - 0.2))
        self.send(["message", "poll", "--agent-id", str(self.director_id)], True)  # a courier for what is left
        return result

    def _kill(self, rng: random.Random, result: CampaignResult) -> None:
        how = signal.SIGTERM if rng.random() < self.sigterm_share else signal.SIGKILL
        for pid in self.courier_pids():
            try:
                os.kill(pid, how)
            except ProcessLookupError:
                continue
            result.kills[how.name] += 1
            _wait_gone(pid)

    def count(self, result: CampaignResult, notices: dict[int, tuple[int, str]]) -> CampaignResult:
        """Fill `result` from what each pane took: `notices` maps task id -> (recipient id,
        final notify status) for every notice of the campaign."""
        by_member = {agent_id: name for name, agent_id in self.members.items()}
        for recipient, status in notices.values():
            if recipient in by_member:
                result.sent += 1
                result.outcomes[status] += 1
        for name, agent_id in self.members.items():
            typed = Counter(int(m.group(1)) for text in self.member_inputs(name) for m in [HEADER.match(text)] if m)
            mine = {task_id for task_id, (recipient, _) in notices.items() if recipient == agent_id}
            for task_id in mine:
                seen = typed.get(task_id, 0)
                if seen == 1:
                    result.typed_once += 1
                elif seen > 1:
                    result.typed_twice += 1
                else:
                    result.lost += 1
            result.stray += sum(n for task_id, n in typed.items() if task_id not in mine)
        result.wedged = sorted(name for name, box in self.member_boxes().items() if HEADER.search(box))
        return result


def _wait_gone(pid: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat", "rb") as stat:
                if stat.read().rsplit(b")", 1)[1].split()[0] in (b"Z", b"X"):
                    return
        except OSError:
            return
        time.sleep(0.02)
    raise AssertionError(f"courier {pid} still runs {timeout} s after it was told to leave")


# A shell outside every agent's pane: the human, who may act as any agent of the fleet.
OUTSIDE_PANES = {"TMUX": "", "TMUX_PANE": ""}


def cli_runner(command: list[str], fleet_id: int, director_env: dict) -> Callable[[list[str], bool], str]:
    def send(args: list[str], director: bool) -> str:
        env = director_env if director else {**director_env, **OUTSIDE_PANES}
        done = subprocess.run([*command, "--fleet-id", str(fleet_id), *args], capture_output=True, text=True, env=env, timeout=60)
        if done.returncode != 0:
            raise AssertionError(f"cafleet {' '.join(args)} failed ({done.returncode}): {done.stderr}")
        return done.stdout

    return send
