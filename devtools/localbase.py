"""A python:3.11-slim stand-in built from this machine, to build the Dockerfile offline.

No container registry can be reached here, so the Dockerfile's default base cannot be
pulled. This makes an image of the same shape from what the machine has, with
`buildah from scratch` (no registry, no debootstrap):
- the running interpreter's own installation (sys.base_prefix: bin/python3.X, libpython,
  the standard library without tests, tkinter and caches) under /usr/local, as in the
  official image, with `python` and `python3` links;
- the shared libraries those load (ldd on the interpreter and every extension module),
  libgcc_s and libstdc++ for manylinux wheels, an ld.so.cache from `ldconfig -r`;
- dash as /bin/sh and the few coreutils a Dockerfile's RUN lines use.
About 115 MB, built in about 5 s. It needs root (buildah mount) and an interpreter
installed in a prefix of its own (pyenv, python.org builds); Debian's /usr/bin/python3
splits its standard library across packages and is refused with the reason.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

TOOLS = ("mkdir", "ls", "cat", "cp", "rm", "ln", "chmod", "sleep")
# What manylinux wheels may link beyond the interpreter's own needs (glibc's split-off stubs,
# the C++ runtime), as a Debian-slim image has them.
EXTRA_LIBS = ("libgcc_s.so.1", "libstdc++.so.6", "libpthread.so.0", "librt.so.1", "libdl.so.2",
              "libutil.so.1", "libm.so.6", "libresolv.so.2", "libz.so.1")
SKIPPED_STDLIB = ("site-packages", "test", "tkinter", "idlelib", "turtledemo", "__pycache__",
                  "_tkinter*", "*.pyc")
_LDD_PATH = re.compile(r"(?:=>\s*)?(/\S+)\s+\(0x")


class LocalBaseError(RuntimeError):
    """This machine cannot make the base image; the message says why."""


def _run(*cmd: str) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise LocalBaseError(f"{' '.join(cmd[:3])}: {done.stderr.strip() or done.stdout}")
    return done.stdout.strip()


def _interpreter() -> tuple[Path, str]:
    prefix, version = Path(sys.base_prefix), f"{sys.version_info[0]}.{sys.version_info[1]}"
    stdlib = prefix / "lib" / f"python{version}"
    if prefix == Path("/usr") or not (stdlib / "ensurepip").is_dir():
        raise LocalBaseError(f"the interpreter in {prefix} is not a self-contained install "
                             f"with ensurepip (a distribution's split Python cannot be copied "
                             f"into an image as is)")
    return prefix, version


def _libraries(binaries: list[Path], skip_under: Path) -> set[str]:
    out = _run("ldd", *map(str, binaries)) if binaries else ""
    found = {m.group(1) for m in _LDD_PATH.finditer(out)}
    return {p for p in found if not p.startswith(str(skip_under))}


def _extra_libraries() -> set[str]:
    cache = _run("ldconfig", "-p")
    return {line.rsplit("=>", 1)[1].strip() for line in cache.splitlines()
            if "=>" in line and "x86-64" in line
            and line.strip().split()[0] in EXTRA_LIBS}


def populate(root: Path) -> None:
    """Lay the base's files out under `root` (the mounted, empty image)."""
    prefix, version = _interpreter()
    local = root / "usr" / "local"
    (local / "bin").mkdir(parents=True)
    shutil.copy2(prefix / "bin" / f"python{version}", local / "bin")
    for name in ("python3", "python"):
        (local / "bin" / name).symlink_to(f"python{version}")
    (local / "lib").mkdir()
    for lib in (prefix / "lib").glob("libpython*.so*"):
        shutil.copy2(lib, local / "lib", follow_symlinks=False)
    stdlib = local / "lib" / f"python{version}"
    shutil.copytree(prefix / "lib" / f"python{version}", stdlib, symlinks=True,
                    ignore=shutil.ignore_patterns(*SKIPPED_STDLIB))
    (stdlib / "site-packages").mkdir()

    tools = [Path(p) for p in ([shutil.which("dash") or "/bin/sh"]
                               + [shutil.which(t) or "" for t in TOOLS]) if p]
    binaries = [prefix / "bin" / f"python{version}", *tools,
                *sorted((stdlib / "lib-dynload").glob("*.so"))]
    for lib in _libraries(binaries, skip_under=prefix) | _extra_libraries():
        target = root / lib.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(os.path.realpath(lib), target)
    (root / "bin").mkdir(exist_ok=True)
    shutil.copy2(tools[0], root / "bin" / "sh")
    for tool in tools[1:]:
        shutil.copy2(tool, root / "bin" / tool.name)

    etc = root / "etc"
    etc.mkdir(exist_ok=True)
    (etc / "ld.so.conf").write_text("/usr/local/lib\n/lib/x86_64-linux-gnu\n"
                                    "/usr/lib/x86_64-linux-gnu\n")
    (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (etc / "group").write_text("root:x:0:\n")
    (root / "tmp").mkdir(mode=0o1777)
    (root / "tmp").chmod(0o1777)
    _run("ldconfig", "-r", str(root))


def build(tag: str) -> str:
    """Build the base image as `tag` (replacing any image of that name); returns the tag."""
    if os.geteuid() != 0:
        raise LocalBaseError("buildah mount of a scratch image needs root (or buildah unshare)")
    for tool in ("buildah", "ldd", "ldconfig"):
        if not shutil.which(tool):
            raise LocalBaseError(f"{tool} is not installed")
    container = _run("buildah", "from", "scratch")
    try:
        populate(Path(_run("buildah", "mount", container)))
        _run("buildah", "umount", container)
        _run("buildah", "config", "--env", "PATH=/usr/local/bin:/usr/bin:/bin",
             "--env", "LANG=C.UTF-8", "--cmd", "python3", container)
        _run("buildah", "commit", "--quiet", "--format", "docker", container, tag)
    finally:
        subprocess.run(["buildah", "rm", container], capture_output=True, timeout=60)
    return tag
