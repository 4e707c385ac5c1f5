"""The process that runs one untrusted program. Started by `sandbox.py` as `python -I -S _runner.py`.

Standard library only and never imports divlab, and imports as little as it can (~10 ms to start):
start-up is most of the cost of scoring a sample. The payload (marshal, or pickle when it holds other
types; written by the trusted parent) arrives on stdin. The result is a JSON document of the program's
outputs as plain data, written to an inherited pipe: the parent parses it as data only and decides the
verdict itself, so nothing the program does here can produce a pass.

With `--isolate` the runner first makes its own user, mount, PID, network, IPC and UTS namespaces (an
unprivileged uid for the program where the host allows it), then confines itself: a new root holding
only the system libraries and Python's own directories read-only, a stub /etc, a minimal /dev, its own
/proc, a private size-capped /tmp; all capabilities dropped and no-new-privileges set. Then rlimits
(memory, CPU, processes, file size), then the untrusted code. `--cgroup PATH` joins a memory group first.
"""

from __future__ import annotations

import json
import marshal
import math
import os
import resource
import sys

import _signal as signal  # the C module: `signal` pulls in enum (~7 ms of start-up)
import time

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_MOVE, MS_REC, MS_PRIVATE = 32, 4096, 8192, 16384, 1 << 18
MNT_DETACH = 2
_FLAG_OPTIONS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC, "relatime": 1 << 21,
                 "noatime": 1024, "nodiratime": 2048, "strictatime": 1 << 24}
PR_CAPBSET_DROP, PR_SET_SECUREBITS, PR_SET_NO_NEW_PRIVS = 24, 28, 38
# SECBIT_NOROOT(+LOCKED), NO_SETUID_FIXUP(+LOCKED), KEEP_CAPS_LOCKED: uid 0 never regains capabilities.
SECUREBITS = 0b101111

_libc = None


def _load_libc():
    global _libc, ctypes
    import ctypes  # ~4 ms: only where namespaces are used

    _libc = ctypes.CDLL(None, use_errno=True)


def _mount(source, target, fstype, flags, data=None) -> None:
    enc = lambda s: s.encode() if isinstance(s, str) else s  # noqa: E731
    if _libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {target}: {os.strerror(err)}")


def _mount_points() -> list[tuple[str, int]]:
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            point = fields[4].encode().decode("unicode_escape")  # mountinfo escapes blanks as \040
            flags = 0
            for option in fields[5].split(","):
                flags |= _FLAG_OPTIONS.get(option, 0)
            points.append((point, flags))
    return sorted(points, key=lambda p: p[0].count("/"))


# -- namespaces, made here rather than by util-linux `unshare`: the uid map needs two entries -----------
CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS = (
    0x00020000, 0x10000000, 0x20000000, 0x40000000, 0x08000000, 0x04000000)
PR_SET_PDEATHSIG = 1
SANDBOX_UID = 1000  # the program's uid (and gid) inside its user namespace: never 0
_SANDBOX_UID_MAPPED = False  # set where this process made its namespace with SANDBOX_UID mapped
# pivot_root has no libc wrapper; its number per architecture (others fall back to MS_MOVE + chroot).
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}


def enter_namespaces(host_uid: int) -> None:
    """Leave this process in fresh user, mount, PID, network, IPC and UTS namespaces, as PID 1 of the new
    PID namespace. When started by host root, the namespace maps uid 0 to host root (to build the mounts,
    before dropping every capability) and SANDBOX_UID to the unprivileged `host_uid`, which the program
    then runs as: the kernel exempts host root from RLIMIT_NPROC and lets it read any file, so the program
    must never be host root. Started by an ordinary user, uid 0 maps to that user (the only map the kernel
    allows it) and the program stays uid 0 of its namespace, without capabilities."""
    _load_libc()
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(ready_r), os.close(go_w)
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if _libc.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS):
            os._exit(111)
        os.write(ready_w, b"1")
        if os.read(go_r, 1) != b"1":
            os._exit(112)
        os.close(ready_w), os.close(go_r)
        global _SANDBOX_UID_MAPPED
        with open("/proc/self/uid_map") as f:
            _SANDBOX_UID_MAPPED = str(SANDBOX_UID) in f.read().split()[0::3]
        init = os.fork()  # the first child in the new PID namespace is its PID 1
        if init == 0:
            _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            return
        os._exit(_exit_code(os.waitpid(init, 0)[1]))
    os.close(ready_w), os.close(go_r)
    ok = os.read(ready_r, 1) == b"1"
    if ok:
        uid, gid = os.geteuid(), os.getegid()
        if uid == 0:
            uid_map = gid_map = f"0 0 1\n{SANDBOX_UID} {host_uid} 1\n"
        else:
            with open(f"/proc/{child}/setgroups", "w") as f:
                f.write("deny")
            uid_map, gid_map = f"0 {uid} 1\n", f"0 {gid} 1\n"
        with open(f"/proc/{child}/uid_map", "w") as f:
            f.write(uid_map)
        with open(f"/proc/{child}/gid_map", "w") as f:
            f.write(gid_map)
        os.write(go_w, b"1")
    os.close(go_w)
    os._exit(_exit_code(os.waitpid(child, 0)[1]))


def _exit_code(status: int) -> int:
    """Pass a child's end on: its exit status, or the signal that killed it (raised on ourselves)."""
    if os.WIFSIGNALED(status):
        signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
        os.kill(os.getpid(), os.WTERMSIG(status))
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1


# What a program sees of the host's file system: what Python needs, read-only, and nothing else.
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc/ld.so.cache",
                "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/alternatives")
STUB_PASSWD = f"root:x:0:0:root:/tmp:/usr/sbin/nologin\nsandbox:x:{SANDBOX_UID}:{SANDBOX_UID}::/tmp:/usr/sbin/nologin\n"
STUB_GROUP = f"root:x:0:\nsandbox:x:{SANDBOX_UID}:\n"


def confine_filesystem(tmp_bytes: int, visible: list, hidden: list = ()) -> None:
    """A new root: the system's libraries and `visible` (Python's prefixes and import path) bound
    read-only, a stub /etc (no host users), a minimal /dev, a private /proc and a private size-capped
    /tmp. No host home, /root, sockets, FIFOs or data files are reachable by any path; `hidden` files
    inside a visible tree (the samples file, the benchmark) are covered with an empty file."""
    _load_libc()
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    new = "/tmp"  # private to this mount namespace: covered by the new root's tmpfs
    _mount("tmpfs", new, "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,mode=755")
    for path in sorted({os.path.normpath(p) for p in (*SYSTEM_PATHS, *visible) if p}):
        if os.path.islink(path) and path in SYSTEM_PATHS:  # merged /usr: /bin -> usr/bin
            os.makedirs(os.path.dirname(new + path), exist_ok=True)
            os.symlink(os.readlink(path), new + path)
        elif os.path.exists(path) and not os.path.exists(new + path):
            _bind(path, new + path)
    for path in hidden:
        if os.path.exists(new + path) and not os.path.isdir(new + path):
            _mount("/dev/null", new + path, None, MS_BIND)
    os.makedirs(new + "/etc", exist_ok=True)
    for name, text in (("passwd", STUB_PASSWD), ("group", STUB_GROUP), ("hosts", "127.0.0.1 localhost\n")):
        with open(f"{new}/etc/{name}", "w") as f:
            f.write(text)
    for point, flags in _mount_points():  # every bound tree read-only, keeping each mount's locked flags
        if point.startswith(new + "/"):
            try:
                _mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | flags)
            except OSError:
                pass
    os.mkdir(new + "/dev")
    _mount("tmpfs", new + "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "size=65536,mode=755")
    for name in ("null", "zero", "random", "urandom"):  # no disk node is reachable, even by uid 0
        open(f"{new}/dev/{name}", "w").close()
        _mount(f"/dev/{name}", f"{new}/dev/{name}", None, MS_BIND)
    os.mkdir(new + "/proc")
    try:
        _mount("proc", new + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY)
    except OSError:
        pass  # a kernel that refuses a new proc here: the program gets none (Python does not need it)
    os.mkdir(new + "/tmp")
    _mount("tmpfs", new + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={tmp_bytes},mode=1777")
    _switch_root(new)
    _mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _bind(source: str, target: str) -> None:
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "w").close()
    _mount(source, target, None, MS_BIND | MS_REC)  # recursive: a user namespace may not split locked mounts


def _switch_root(new: str) -> None:
    """Make `new` the root and drop the old one from this mount namespace."""
    os.chdir(new)
    number = SYS_PIVOT_ROOT.get(os.uname().machine)
    if number is not None and _libc.syscall(number, b".", b".") == 0:
        _libc.umount2(b".", MNT_DETACH)  # the old root, stacked under the new one by pivot_root(".", ".")
    else:
        _mount(new, "/", None, MS_MOVE)
        if _libc.chroot(b".") != 0:
            raise OSError(ctypes.get_errno(), "chroot failed: refusing to run untrusted code on the host's root")
    os.chdir("/")


def drop_privileges() -> None:
    """No capabilities, now or after any exec, and (where the namespace maps one) an unprivileged uid:
    the program cannot undo the mounts above, and the kernel's per-user limits bind it."""
    _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    for cap in range(64):
        _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    _libc.prctl(PR_SET_SECUREBITS, SECUREBITS, 0, 0, 0)
    if _SANDBOX_UID_MAPPED:  # the secure bits keep the capabilities across this; cleared just below
        os.setgroups([])
        os.setresgid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID)
        os.setresuid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID)

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    empty = (Data * 2)()
    if _libc.capset(ctypes.byref(Header(0x20080522, 0)), empty) != 0:
        raise OSError(ctypes.get_errno(), "capset failed: refusing to run untrusted code with capabilities")


def set_limits(limits: dict) -> None:
    def cap(which, value):
        if value is None:
            return
        soft, hard = resource.getrlimit(which)
        value = int(value) if hard == resource.RLIM_INFINITY else min(int(value), hard)
        resource.setrlimit(which, (value, value))

    cap(resource.RLIMIT_AS, limits["memory_bytes"])
    cap(resource.RLIMIT_CPU, math.ceil(limits["cpu_seconds"]))
    cap(resource.RLIMIT_NPROC, limits["max_processes"])
    cap(resource.RLIMIT_FSIZE, limits["max_file_bytes"])
    cap(resource.RLIMIT_CORE, 0)


def guard_network() -> None:
    """Fallback when no network namespace could be made: refuse sockets at the Python level."""
    import socket

    def refused(*args, **kwargs):
        raise OSError("network access is disabled in the divlab sandbox")

    socket.socket = refused  # type: ignore[assignment]
    socket.create_connection = refused  # type: ignore[assignment]
    socket.socketpair = refused  # type: ignore[assignment]


# -- the program's outputs, as plain data ------------------------------------------------------------
# The verdict is never decided here: the trusted parent compares what comes out with what it expects,
# and the expected outputs never enter this process. So all a program can do to the result is write
# values; rigged objects (an `__eq__` that is always true, a float subclass, a lazy proxy) are refused by
# the encoder, and whatever bytes land in the result file are parsed by the parent as data only.
class NotPlainData(TypeError):
    pass


_BIG = 1 << 4096
# An output whose marshal (version 0: no references, no interning, floats as text, so equal values of the
# same exact types give equal bytes) exceeds this travels as its SHA-256 and is compared exactly: Mbpp/255's
# outputs run to 1.3 GB of text, and marshal is C speed where the tagged text is Python.
DIGEST_ABOVE = 1 << 20


def digest_of(value) -> tuple[str, int] | None:
    """(SHA-256, size) of `value`'s marshal when that is larger than DIGEST_ABOVE; None when it is small
    or not marshallable (marshal refuses every subclass, so nothing rigged gets through here)."""
    try:
        packed = marshal.dumps(value, 0)
    except ValueError:
        return None
    if len(packed) <= DIGEST_ABOVE:
        return None
    import hashlib

    return hashlib.sha256(packed).hexdigest(), len(packed)


def plain_text(value) -> str:
    """`value` as tagged JSON text (tags for what JSON lacks: tuple, set, dict, complex, big ints,
    non-finite floats, bytes). Exact types only, so no subclass can bring its own comparison; equal sets
    give equal text whatever their hash order."""
    parts = []
    _emit(value, parts.append, 0)
    return "".join(parts)


def _emit(value, write, depth: int) -> None:
    if depth > 100:
        raise NotPlainData("nested more than 100 levels")
    kind = type(value)
    if value is None:
        write("null")
    elif kind is bool:
        write("true" if value else "false")
    elif kind is str:
        write(json.encoder.encode_basestring_ascii(value))
    elif kind is int:  # past ~4,300 digits Python refuses decimal text (CVE-2020-10735); hex has no limit
        write(str(value) if -_BIG < value < _BIG else '{"int": "%s"}' % hex(value))
    elif kind is float:
        write(repr(value) if math.isfinite(value) else '{"float": "%s"}' % repr(value))
    elif kind is list or kind is tuple:
        write("[" if kind is list else '{"tuple": [')
        for i, item in enumerate(value):
            if i:
                write(", ")
            _emit(item, write, depth + 1)
        write("]" if kind is list else "]}")
    elif kind is set or kind is frozenset:  # no order: sorted by their text, so equal sets encode alike
        write('{"%s": [%s]}' % (kind.__name__, ", ".join(sorted(_piece(v, depth) for v in value))))
    elif kind is dict:
        _emit_pairs("dict", value.items(), write, depth)
    elif kind is complex:
        write('{"complex": [%s, %s]}' % (_piece(value.real, depth), _piece(value.imag, depth)))
    elif kind is bytes:
        write('{"bytes": "%s"}' % value.hex())
    else:
        _emit_other(value, kind, write, depth)


def _piece(value, depth: int) -> str:
    parts = []
    _emit(value, parts.append, depth + 1)
    return "".join(parts)


def _emit_pairs(tag: str, items, write, depth: int) -> None:
    """Insertion order kept: a test may pass a dict whose order matters (HumanEval/95)."""
    write('{"%s": [%s]}' % (tag, ", ".join("[%s, %s]" % (_piece(k, depth), _piece(v, depth)) for k, v in items)))


def _emit_other(value, kind, write, depth: int) -> None:
    """Standard containers some references return (Mbpp/40: Counter) and numpy's plain data in disguise:
    rebuilt by the parent from the items alone, with its own classes."""
    collections = sys.modules.get("collections")
    if collections is not None and kind in (collections.Counter, collections.OrderedDict, collections.defaultdict):
        tag = "dict" if kind is collections.defaultdict else kind.__name__
        return _emit_pairs(tag, dict.items(value), write, depth)
    if collections is not None and kind is collections.deque:
        return write('{"deque": %s}' % _piece(list(value), depth))
    numpy = sys.modules.get("numpy")
    if numpy is not None and kind.__module__ == "numpy":
        if isinstance(value, numpy.ndarray):
            return write('{"ndarray": %s}' % _piece(value.tolist(), depth))
        if isinstance(value, numpy.generic):
            return _emit(value.item(), write, depth + 1)
    raise NotPlainData(f"returned a {kind.__module__}.{kind.__qualname__}, not plain data")


class InputTimeLimit(Exception):
    pass


def _alarm(signum, frame):
    raise InputTimeLimit("time limit for one input exceeded")


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


def run_calls(payload: dict) -> dict:
    """The program's entry point on each call's arguments: per call its output as plain data and the
    seconds it took, or what went wrong; stops at the first call that raises or overruns (a failure
    whatever the parent expected)."""
    signal.signal(signal.SIGALRM, _alarm)
    calls, limits, not_none = payload["calls"], payload.get("time_limits"), payload.get("not_none")
    namespace: dict = {}
    try:
        exec(compile(payload["program"], "<sample>", "exec"), namespace)
        if payload.get("setup"):  # the benchmark's own set-up code (objects the calls take), trusted
            exec(compile(payload["setup"], "<setup>", "exec"), namespace)
        fn = namespace[payload["entry_point"]]
    except BaseException as exc:  # SystemExit and KeyboardInterrupt count as failures too
        return json.dumps({"error": _describe(exc), "results": []})
    results = []
    for i, call in enumerate(calls):
        try:
            args = eval(call, namespace) if type(call) is str else call  # noqa: S307 (the benchmark's source)
            if limits:
                signal.setitimer(signal.ITIMER_REAL, limits[i])
            started = time.perf_counter()
            try:
                out = fn(*args)
            finally:
                seconds = time.perf_counter() - started
                signal.setitimer(signal.ITIMER_REAL, 0)
            if not_none and type(out) is not bool:  # EvalPlus judges these by `out is not None` (Mbpp/737)
                out = out is not None
            started = time.perf_counter()
            digest = digest_of(out)
            text = plain_text(out) if digest is None else None
            encoding = time.perf_counter() - started  # the parent's time limits allow for it
            if digest is None:
                results.append('{"ok": %s, "seconds": %r, "encoding": %r}' % (text, seconds, encoding))
            else:
                results.append('{"digest": "%s", "size": %d, "seconds": %r, "encoding": %r}'
                               % (*digest, seconds, encoding))
        except BaseException as exc:
            results.append('{"raised": %s}' % json.dumps(_describe(exc)))
            break
    return '{"results": [%s]}' % ", ".join(results)


MODES = {"calls": run_calls}


def _decode(raw: bytes) -> dict:
    """A payload as `sandbox._encode` wrote it: marshal ("M"), or pickle ("P") when it holds other types."""
    if raw[:1] == b"M":
        return marshal.loads(raw[1:])
    import pickle

    return pickle.loads(raw[1:])


def main(isolated: bool) -> None:
    payload = _decode(sys.stdin.buffer.read())
    sys.path[:] = payload["sys_path"]  # -S skipped site: the parent's import path, so numpy & co. import
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)  # the program reads an empty stdin, never the payload
    result = os.fdopen(payload["result_fd"], "wb")
    _set_oom_score(1000)
    if isolated:
        confine_filesystem(payload["limits"]["tmp_bytes"], payload["visible"], payload["hidden"])
        drop_privileges()
        os.chdir("/tmp")
    else:
        os.chdir(payload["workdir"])
        guard_network()
    set_limits(payload["limits"])
    _finish(payload, result)


# -- zygote: one confined interpreter per scoring worker that forks a fresh sandbox per program ---------
# Starting a confined interpreter costs ~25 ms a program (exec, imports, namespaces, mounts); forking an
# already confined one costs ~2 ms. Each program still gets its own mount namespace (a fresh private
# /tmp and /proc) and its own PID namespace (everything it starts dies with it), no capabilities, and
# its rlimits; a supervisor process between the zygote and the program enforces the wall-clock limit.
REPLY_EXITED, REPLY_SIGNALED, REPLY_TIMEOUT = 0, 1, 2


def _recv_exact(sock, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def zygote_main(control_fd: int) -> None:
    import socket
    import struct

    sock = socket.socket(fileno=control_fd)
    setup = _decode(_recv_exact(sock, struct.unpack("Q", _recv_exact(sock, 8))[0]))
    sys.path[:] = setup["sys_path"]
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    confine_filesystem(1 << 20, setup["visible"], setup["hidden"])  # each program mounts its own /tmp
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(sock, 8, 3)
            if len(message) < 8:
                raise EOFError
            payload = _decode(_recv_exact(sock, struct.unpack("Q", message)[0]))
        except (EOFError, OSError):
            os._exit(0)  # the scorer is gone or done
        supervisor = os.fork()
        if supervisor == 0:
            try:
                _supervise(sock, payload, fds)
            finally:
                os._exit(70)
        for fd in fds:
            os.close(fd)
        os.waitpid(supervisor, 0)


def _supervise(sock, payload: dict, fds: list) -> None:
    """The zygote's child: new mount and PID namespaces, then the program as PID 1 of the latter."""
    import select
    import struct

    if _libc.unshare(CLONE_NEWNS | CLONE_NEWPID) != 0:
        raise OSError(ctypes.get_errno(), "unshare failed")
    program = os.fork()
    if program == 0:
        sock.close()
        try:
            _run_forked(payload, fds)
        finally:
            os._exit(71)
    for fd in fds:
        os.close(fd)
    wall = payload["limits"]["wall_seconds"]
    pidfd = os.pidfd_open(program)
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    if not poller.poll(wall * 1000):
        os.kill(program, signal.SIGKILL)  # PID 1 of its namespace: the kernel kills everything it started
        try:  # ... and so does this, at once: from here every process but the zygote (init) is the program's
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
        os.waitpid(program, 0)
        reply = (REPLY_TIMEOUT, 0)
    else:
        _, status = os.waitpid(program, 0)
        reply = (REPLY_SIGNALED, os.WTERMSIG(status)) if os.WIFSIGNALED(status) else \
            (REPLY_EXITED, os.WEXITSTATUS(status))
    sock.sendall(struct.pack("ii", *reply))
    os._exit(0)


def _run_forked(payload: dict, fds: list) -> None:
    os.setsid()  # its own process group: kill(0, ...) must not reach the supervisor or the zygote
    result_fd, stdout_fd, stderr_fd = fds
    os.dup2(stdout_fd, 1)
    os.dup2(stderr_fd, 2)
    os.close(stdout_fd), os.close(stderr_fd)
    limits = payload["limits"]
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={limits['tmp_bytes']},mode=1777")
    try:
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY)
    except OSError:
        pass
    os.chdir("/tmp")
    _set_oom_score(1000)
    drop_privileges()
    set_limits(limits)
    _finish(payload, os.fdopen(result_fd, "wb"))


def _finish(payload: dict, result) -> None:
    try:
        document = MODES[payload["mode"]](payload)  # JSON text
    except BaseException as exc:  # the program broke the encoder: no result
        document = json.dumps({"error": _describe(exc), "results": []})
    result.write(document.encode())
    result.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # skip interpreter teardown: the program may have left threads or broken atexit hooks


def probe() -> None:
    """Can this machine confine a program? (sandbox.isolation() runs this once.)"""
    confine_filesystem(1 << 20, [sys.base_prefix, sys.prefix])
    drop_privileges()
    os._exit(0 if os.getcwd() == "/" and not os.path.exists("/etc/shadow") else 3)


def join_cgroup(path: str) -> None:
    """Join the memory group the parent made (before forking anything, so every descendant is in it), and
    keep this process and the zygote's supervisors out of the OOM killer's choice: the program is chosen."""
    with open(os.path.join(path, "cgroup.procs"), "w") as f:
        f.write(str(os.getpid()))
    _set_oom_score(-1000)


def _set_oom_score(value: int) -> None:
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write(str(value))
    except OSError:
        pass  # lowering it needs privilege; raising it never does


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if arguments[:1] == ["--cgroup"]:
        join_cgroup(arguments[1])
        arguments = arguments[2:]
    isolated = arguments[:1] == ["--isolate"]
    if isolated:  # --isolate HOST_UID: from here on this process is PID 1 of fresh namespaces
        enter_namespaces(int(arguments[1]))
        arguments = arguments[2:]
    if arguments[:1] == ["--probe"]:
        probe()
    elif arguments[:1] == ["--zygote"]:
        zygote_main(int(arguments[1]))
    else:
        main(isolated)
