"""Every command README.md tells a user to type, run as written, in the README's order.

The commands are read from README.md itself, so the test follows the text:
- every line of a ```sh block (backslash continuations joined, `# comments` dropped);
- every inline code span that is a whole command line: `factorwatch <command> <argument>...`
  (a bare `factorwatch score` only names a command), or make, curl, promtool or python
  with arguments.

They run from the top of a throwaway view of the checkout (tests/checkout.py), offline, in
one shell environment that `export` lines change, with these declared substitutions:
- 127.0.0.1:9464 becomes a free port (and FACTORWATCH_LISTEN is set to it), so the test
  never takes the default port;
- curl gets --fail, so an HTTP error fails the command (`curl -s` exits 0 on a 404), and
  `xdg-open URL` (a browser) becomes a fetch of URL;
- FACTORWATCH_API_TOKEN is set, as the README says the daemon reads it;
- `export NAME=...` (a placeholder) stands for the reader's own key: the test has none, so a
  command that needs it must fail as the README says, exit 2 naming the variable not set;
- factorwatch.yaml, "your" config file, is YOUR_CONFIG.
Daemons (`make run`, `make demo`, `factorwatch run`, `factorwatch demo`) run one at a time,
each until the next starts, as in a second terminal, and stop with Ctrl-C. A demo is ready
when every workload is ranked (the README: "within a minute"), any other daemon when
/readyz answers. Only NOT_RUNNABLE is left out.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from devtools.demo import free_port
from tests.checkout import ROOT, Daemon, checkout_view, in_a_virtualenv, user_env

pytestmark = pytest.mark.integration

README = ROOT / "README.md"
NOT_RUNNABLE = {"make test": "CI's own command (.ci/run), which runs this test",
                "make test-unit": "the unit tests, which run beside this one"}
DEFAULT_LISTEN = "127.0.0.1:9464"
PROGRAMS = {"make", "curl", "promtool", "python", "python3"}
DAEMONS = {"run", "demo"}  # of make and of factorwatch
PLACEHOLDER = "..."
TOKEN = "readme-test-token"
YOUR_CONFIG = "# the reader's own config: the built-in catalog, scored every 30 seconds\n" \
              "scoring: {every: 30s}\n"


@dataclass(frozen=True)
class Command:
    text: str
    where: str  # "README.md:<line>", for the failure message

    @property
    def words(self) -> list[str]:
        return shlex.split(self.text)

    @property
    def is_daemon(self) -> bool:
        words = self.words
        return (Path(words[0]).name in ("make", "factorwatch") and len(words) > 1
                and words[1] in DAEMONS)


def _strip_comment(line: str) -> str:
    quote = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def _block_commands(body: str, first_line: int) -> list[Command]:
    commands, pending, start = [], "", first_line
    for offset, raw in enumerate(body.splitlines()):
        if not pending:
            start = first_line + offset
        line = _strip_comment(raw)
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        text = (pending + line.strip()).strip()
        pending = ""
        if text:
            commands.append(Command(text, f"README.md:{start}"))
    return commands


def is_command_line(text: str) -> bool:
    try:
        words = shlex.split(text)
    except ValueError:
        return False
    if not words:
        return False
    if Path(words[0]).name == "factorwatch":
        return len(words) >= 3
    return words[0] in PROGRAMS and len(words) >= 2


FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
SPAN = re.compile(r"`([^`]+)`")


def readme_commands(markdown: str) -> list[Command]:
    """The commands of a README, in order (see the module docstring)."""
    found: list[tuple[int, Command]] = []
    for block in FENCE.finditer(markdown):
        if block.group(1) == "sh":
            first = markdown.count("\n", 0, block.start(2)) + 1
            found += [(block.start() + i, c)
                      for i, c in enumerate(_block_commands(block.group(2), first))]
    prose = FENCE.sub(lambda m: " " * len(m.group(0)), markdown)  # keeps the offsets
    for span in SPAN.finditer(prose):
        text = " ".join(span.group(1).split())
        if is_command_line(text):
            line = markdown.count("\n", 0, span.start()) + 1
            found.append((span.start(), Command(text, f"README.md:{line}")))
    return [command for _, command in sorted(found, key=lambda item: item[0])]


def test_commands_are_read_from_the_text() -> None:
    markdown = ("Run `factorwatch db upgrade` first; `factorwatch score` is a name, so is "
                "`make`.\n\n```sh\nmake demo        # or: x\ncurl -s \"a?b=1#c\" \\\n"
                "    -H 'X: #1'\n# a comment\n```\n\n```yaml\nkey: value\n```\nThen "
                "`promtool check\nconfig p.yml`.\n")
    assert readme_commands(markdown) == [
        Command("factorwatch db upgrade", "README.md:1"),
        Command("make demo", "README.md:4"),
        Command("curl -s \"a?b=1#c\" -H 'X: #1'", "README.md:5"),
        Command("promtool check config p.yml", "README.md:13"),
    ]


def _as_run_here(text: str, port: int) -> str:
    text = text.replace(DEFAULT_LISTEN, f"127.0.0.1:{port}")
    text = re.sub(r"(?<![\w/-])xdg-open ", "curl -s ", text)
    return re.sub(r"(?<![\w/-])curl ", "curl --fail ", text)


def _export(text: str, env: dict[str, str], placeholders: set[str]) -> None:
    for assignment in shlex.split(text)[1:]:
        name, _, value = assignment.partition("=")
        if value == PLACEHOLDER:
            env.pop(name, None)
            placeholders.add(name)
        else:
            env[name] = value


def _missing_program(command: Command, env: dict[str, str]) -> str | None:
    program = command.words[0]
    if "/" in program or shutil.which(program, path=env["PATH"]):
        return None
    return program


@pytest.mark.skipif(not in_a_virtualenv(),
                    reason="the README's commands run .venv/bin/factorwatch: run from a "
                           "virtualenv")
def test_every_readme_command_works_as_written(tmp_path: Path) -> None:
    commands = readme_commands(README.read_text(encoding="utf-8"))
    assert commands, "README.md names no command"
    view = checkout_view(tmp_path)
    (view / "factorwatch.yaml").write_text(YOUR_CONFIG)
    port = free_port()
    env = user_env(view, FACTORWATCH_LISTEN=f"127.0.0.1:{port}",
                   FACTORWATCH_API_TOKEN=TOKEN)
    placeholders: set[str] = set()
    failures: list[str] = []
    daemon: Daemon | None = None

    def stop_daemon() -> None:
        if daemon is not None:
            output = daemon.stop()
            if "stopped cleanly" not in output:
                failures.append(f"`{daemon.command}` did not stop cleanly on Ctrl-C:\n"
                                f"{output[-2000:]}")

    try:
        for command in commands:
            if command.text in NOT_RUNNABLE:
                continue
            if command.words[0] == "export":
                _export(command.text, env, placeholders)
                continue
            missing = _missing_program(command, env)
            if missing:
                if os.environ.get("FACTORWATCH_CI"):
                    failures.append(f"{command.where}: {missing} is not installed")
                continue  # a laptop without promtool: tests/test_dashboards.py says so too
            text = _as_run_here(command.text, port)
            if command.is_daemon:
                stop_daemon()
                daemon = Daemon(text, view, env, port)
                try:
                    daemon.wait_ready(ranked=command.words[1] == "demo")
                except AssertionError as exc:
                    failures.append(f"{command.where}: {exc}")
                continue
            out = subprocess.run(["bash", "-c", f"set -o pipefail; {text}"], cwd=view,
                                 env=env, capture_output=True, text=True, timeout=180)
            needs_a_key = out.returncode == 2 and any(
                f"{name} is not set" in out.stderr for name in placeholders)
            if (out.returncode != 0 or not out.stdout.strip()) and not needs_a_key:
                failures.append(f"{command.where}: `{command.text}` exited {out.returncode}"
                                f"\nstdout: {out.stdout[-1500:]}\nstderr: {out.stderr[-1500:]}")
    finally:
        stop_daemon()
    assert failures == [], "\n\n".join(failures)
