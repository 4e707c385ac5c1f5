"""The process that runs one untrusted program. Started by `sandbox.py` as `python -I -S _runner.py`.

Standard library only and never imports divlab (it loads `wire.py`, beside it), and imports as little as
it can (~10 ms to start): start-up is most of the cost of scoring a sample. The payload (marshal, or
pickle when it holds other types; written by the trusted parent) arrives on stdin, or (forked from a
zygote) in a descriptor only the program process reads. The program's outputs leave as records
(wire.py) through a watcher, a process outside the program that times each one and relays them to the
parent, which reads them as data only and decides the verdict itself: nothing the program does here
can produce a pass.

With `--isolate` the runner first makes its own user, mount, PID, network, IPC and UTS namespaces (an
unprivileged uid for the program where the host allows it), then confines itself: a new root holding
only the system libraries and Python's own directories read-only, a stub /etc, a minimal /dev, its own
/proc, a private size-capped /tmp; then it forks the program, which drops all capabilities, sets
no-new-privileges and its rlimits (memory, CPU, processes, file size, open files) and runs the untrusted
code, while this process watches it. `--cgroup PATH` joins a memory group first.
"""

from __future__ import annotations

import marshal
import math
import os
import resource
import sys

import _signal as signal  # the C module: `signal` pulls in enum (~7 ms of start-up)
import time

# The wire format (stdlib only) lives beside this file; -I keeps this directory off the import path.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wire  # noqa: E402

del sys.path[0]

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
        if os.WTERMSIG(status) not in (signal.SIGKILL, signal.SIGSTOP):  # these two take no handler (EINVAL)
            signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
        os.kill(os.getpid(), os.WTERMSIG(status))
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1


# What a program sees of the host's file system: what Python needs, read-only, and nothing else.
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc/ld.so.cache",
                "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/alternatives")
STUB_PASSWD = f"root:x:0:0:root:/tmp:/usr/sbin/nologin\nsandbox:x:{SANDBOX_UID}:{SANDBOX_UID}::/tmp:/usr/sbin/nologin\n"
STUB_GROUP = f"root:x:0:\nsandbox:x:{SANDBOX_UID}:\n"


def confine_filesystem(tmp_bytes: int, visible: list, hidden: list = (), proc_writable: bool = False) -> None:
    """A new root: the system's libraries and `visible` (Python's prefixes and import path) bound
    read-only, a stub /etc (no host users), a minimal /dev, a private /proc and a private size-capped
    /tmp. No host home, /root, sockets, FIFOs or data files are reachable by any path; `hidden` files
    inside a visible tree (the samples file, the benchmark) are covered with an empty file. Visible trees
    are opened before the staging tmpfs covers the host's /tmp, so an interpreter or venv under /tmp is
    bound from its descriptor and stays importable (on top of the private /tmp)."""
    _load_libc()
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    plan = []  # (path, symlink target or None, O_PATH descriptor or None), before anything is covered
    for path in sorted({os.path.normpath(p) for p in (*SYSTEM_PATHS, *visible) if p}):
        if os.path.islink(path) and path in SYSTEM_PATHS:  # merged /usr: /bin -> usr/bin
            plan.append((path, os.readlink(path), None))
        elif os.path.exists(path):
            plan.append((path, None, os.open(path, os.O_PATH)))
    new = "/tmp"  # private to this mount namespace: covered by the new root's tmpfs
    _mount("tmpfs", new, "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,mode=755")
    os.mkdir(new + "/tmp")
    _mount("tmpfs", new + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={tmp_bytes},mode=1777")
    for path, link, fd in plan:
        if link is not None:
            os.makedirs(os.path.dirname(new + path), exist_ok=True)
            os.symlink(link, new + path)
            continue
        source = f"/proc/self/fd/{fd}"
        if not os.path.lexists(new + path):  # a tree already bound with its parent is not bound again
            _bind(source, new + path, directory=os.path.isdir(source))
        os.close(fd)
    for path in hidden:
        if os.path.exists(new + path) and not os.path.isdir(new + path):
            _mount("/dev/null", new + path, None, MS_BIND)
    os.makedirs(new + "/etc", exist_ok=True)
    for name, text in (("passwd", STUB_PASSWD), ("group", STUB_GROUP), ("hosts", "127.0.0.1 localhost\n")):
        with open(f"{new}/etc/{name}", "w") as f:
            f.write(text)
    for point, flags in _mount_points():  # every bound tree read-only, keeping each mount's locked flags
        if point.startswith(new + "/") and point != new + "/tmp":
            try:
                _mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | flags)
            except OSError:
                pass
    os.mkdir(new + "/dev")
    _mount("tmpfs", new + "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "size=65536,mode=755")
    for name in ("null", "zero", "random", "urandom"):  # no disk node is reachable, even by uid 0
        open(f"{new}/dev/{name}", "w").close()
        _mount(f"/dev/{name}", f"{new}/dev/{name}", None, MS_BIND)
    # read-only once set up: run as an ordinary user the program is uid 0 of its namespace, the owner of
    # this tmpfs, which a zygote's programs share (the device nodes bound on it stay writable)
    _mount(None, new + "/dev", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NOEXEC)
    os.mkdir(new + "/proc")
    try:
        _mount("proc", new + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC | (0 if proc_writable else MS_RDONLY))
    except OSError:
        pass  # a kernel that refuses a new proc here: the program gets none (Python does not need it)
    _switch_root(new)
    _mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _under_tmp(path: str) -> bool:
    return os.path.normpath(path).startswith("/tmp/")


def _bind(source: str, target: str, directory: bool) -> None:
    if directory:
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "w").close()
    _mount(source, target, None, MS_BIND | MS_REC)  # recursive: a user namespace may not split locked mounts


def _read_only(path: str) -> None:
    for point, flags in _mount_points():
        if point == path or point.startswith(path + "/"):
            try:
                _mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | flags)
            except OSError:
                pass


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


# A seccomp filter on the program: the kernel's key management calls fail with EPERM. The user keyring is
# per uid and user namespace, so the programs a zygote forks (one user namespace, one uid) would otherwise
# share it: one sample could leave a key (add_key to @u) for the next to find (keyctl KEYCTL_SEARCH).
PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO, EPERM = 0x7FFF0000, 0x00050000, 1
# per architecture: (AUDIT_ARCH, add_key, request_key, keyctl, x32 bit or 0)
SECCOMP_KEYS = {"x86_64": (0xC000003E, 248, 249, 250, 0x40000000), "aarch64": (0xC00000B7, 217, 218, 219, 0)}


_KEY_FILTER: list = []  # (the filter's sock_fprog, its instructions), built once per zygote or sandbox


def _key_filter():
    """The BPF program (a `sock_fprog`), or None where this architecture has no table here."""
    if _KEY_FILTER:
        return _KEY_FILTER[0]
    entry = SECCOMP_KEYS.get(os.uname().machine)
    if entry is None:
        _KEY_FILTER[:] = [None, None]
        return None
    arch, add_key, request_key, keyctl, x32 = entry
    ld, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06  # BPF_LD|W|ABS, BPF_JMP|JEQ|K, BPF_JMP|JGE|K, BPF_RET|K
    deny = SECCOMP_RET_ERRNO | EPERM
    code = [(ld, 0, 0, 4),  # seccomp_data.arch
            (jeq, 1, 0, arch),
            (ret, 0, 0, deny),  # another ABI (i386, or x32 below), where these calls have other numbers
            (ld, 0, 0, 0),  # seccomp_data.nr
            (jge, 4, 0, x32 or 0xFFFFFFFF),
            (jeq, 3, 0, add_key),
            (jeq, 2, 0, request_key),
            (jeq, 1, 0, keyctl),
            (ret, 0, 0, SECCOMP_RET_ALLOW),
            (ret, 0, 0, deny)]

    class Filter(ctypes.Structure):
        _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]

    class Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(Filter))]

    filters = (Filter * len(code))(*[Filter(*insn) for insn in code])
    _KEY_FILTER[:] = [Program(len(code), filters), filters]
    return _KEY_FILTER[0]


def deny_keyrings() -> bool:
    """Install the filter (no-new-privileges is already set): add_key, request_key and keyctl return EPERM,
    and so does any system call of another ABI than this interpreter's (i386 through int 0x80, x32). False
    where this architecture has no table here, or the kernel has no seccomp filters (docs/codeeval.md says
    what that leaves open)."""
    program = _key_filter()
    return program is not None and _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(program), 0, 0) == 0


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
    cap(resource.RLIMIT_NOFILE, limits["max_open_files"])  # per process: 32 processes hold at most 32x this


def limit_ipc(limits: dict) -> None:
    """Size this (fresh) IPC namespace's SysV objects, which no rlimit counts: at most `shm_bytes` of
    shared memory in all and a few queues. Best effort: a kernel that keeps these sysctls read-only in a
    user namespace leaves the defaults, bounded then only by the memory group, and by the namespace's end."""
    page = os.sysconf("SC_PAGE_SIZE")
    for name, value in (("shmmax", limits["shm_bytes"]), ("shmall", limits["shm_bytes"] // page), ("shmmni", 64),
                        ("msgmni", 16)):
        try:
            with open(f"/proc/sys/kernel/{name}", "w") as f:
                f.write(str(value))
        except OSError:
            pass


def guard_network() -> None:
    """Fallback when no network namespace could be made: refuse sockets at the Python level."""
    import socket

    def refused(*args, **kwargs):
        raise OSError("network access is disabled in the divlab sandbox")

    socket.socket = refused  # type: ignore[assignment]
    socket.create_connection = refused  # type: ignore[assignment]
    socket.socketpair = refused  # type: ignore[assignment]


# -- the program's calls ---------------------------------------------------------------------------------
# The verdict is never decided here: the trusted parent compares what comes out with what it expects,
# and the expected outputs never enter this process. All a program can do to the result is write
# records (wire.py); rigged objects (an `__eq__` that is always true, a float subclass, a lazy proxy) are
# refused by the encoder, and whatever bytes reach the parent are parsed there as data only.
class InputTimeLimit(Exception):
    pass


def _alarm(signum, frame):
    raise InputTimeLimit("time limit for one input exceeded")


def _describe(exc: BaseException) -> str:
    try:
        return f"{type(exc).__name__}: {exc}"[:wire.MAX_REASON]
    except BaseException:  # a str() that raises
        return type(exc).__name__


def run_calls(payload: dict, write) -> None:
    """The program's entry point on each call's arguments: per call one record (wire.py), written as
    soon as the call ends (the watcher outside times each one); stops at the first call that raises or
    overruns (a failure whatever the parent expected)."""
    signal.signal(signal.SIGALRM, _alarm)
    calls, limits = payload["calls"], payload.get("time_limits")
    modes = payload.get("modes") or [wire.AUTO] * len(calls)
    not_none = payload.get("not_none")
    namespace: dict = {}
    try:
        exec(compile(payload["program"], "<sample>", "exec"), namespace)
        if payload.get("setup"):  # the benchmark's own set-up code (objects the calls take), trusted
            exec(compile(payload["setup"], "<setup>", "exec"), namespace)
        fn = namespace[payload["entry_point"]]
    except BaseException as exc:  # SystemExit and KeyboardInterrupt count as failures too
        write(f"error {wire.one_line(_describe(exc))}\n")
        return
    write("ready\n")
    for i, call in enumerate(calls):
        try:
            # The benchmark's source of the arguments where their values cannot travel faithfully (objects
            # of the solution's classes; sets, whose iteration order depends on how they were built).
            args = eval(call, namespace) if type(call) is str else call  # noqa: S307
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
            line = wire.result_line(modes[i], out, seconds, lambda: time.perf_counter() - started)
        except BaseException as exc:
            write(f"raised {wire.one_line(_describe(exc))}\n")
            return
        write(line)


MODES = {"calls": run_calls}


def _decode(raw: bytes) -> dict:
    """A payload as `sandbox._encode` wrote it: marshal ("M"), or pickle ("P") when it holds other types."""
    if raw[:1] == b"M":
        return marshal.loads(raw[1:])
    import pickle

    return pickle.loads(raw[1:])


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks)


# -- the watcher: outside the program, it relays the program's records and times each one -------------
INPUT_TIME_LIMIT_EXIT = 124  # the watcher's exit status (or reply) when an input overran its limit
SLACK_SECONDS = 1.0  # on top of each input's limit: scheduling on a loaded machine


def watch(program: int, source: int, result_fd: int, time_limits, wall_seconds=None,
          own_namespace: bool = True) -> tuple[int, int]:
    """Relay `program`'s records from `source` to `result_fd` as they come, and kill it when a record
    comes later than its input's limit (the call and the sending of its output) after the one before (the
    program's own timer is only a courtesy: it can cancel it) or when the wall limit passes. (reply kind,
    value) as the zygote replies."""
    import select

    pidfd = os.pidfd_open(program)
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    poller.register(source, select.POLLIN)
    now = time.monotonic()
    wall_deadline = now + wall_seconds if wall_seconds else None
    line_deadline, lines, overran = None, 0, None
    while True:
        deadlines = [d for d in (wall_deadline, line_deadline) if d is not None]
        timeout = None if not deadlines else max(0.0, min(deadlines) - time.monotonic()) * 1000
        events = poller.poll(timeout)
        if not events:
            now = time.monotonic()
            overran = (wall_deadline is not None and now >= wall_deadline, line_deadline is not None
                       and now >= line_deadline)
            if any(overran):
                break
            continue
        ended = False
        for fd, _ in events:
            if fd == source:
                chunk = os.read(source, 1 << 16)
                if not chunk:
                    poller.unregister(source)
                    continue
                _write_all(result_fd, chunk)
                if time_limits:
                    newlines = chunk.count(b"\n")
                    lines += newlines
                    if newlines:  # record k follows line k (the first line says the program is loaded)
                        k = lines - 1
                        line_deadline = (time.monotonic() + time_limits[k] + SLACK_SECONDS
                                         if k < len(time_limits) else None)
            else:
                ended = True
        if ended:
            break
    if overran:
        _kill(program, own_namespace)
        return (wire.REPLY_TIMEOUT, 0) if overran[0] else (wire.REPLY_EXITED, INPUT_TIME_LIMIT_EXIT)
    _, status = os.waitpid(program, 0)
    os.set_blocking(source, False)
    try:  # what the program wrote before it ended
        while chunk := os.read(source, 1 << 16):
            _write_all(result_fd, chunk)
    except BlockingIOError:
        pass
    return (wire.REPLY_SIGNALED, os.WTERMSIG(status)) if os.WIFSIGNALED(status) else \
        (wire.REPLY_EXITED, os.WEXITSTATUS(status))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except BrokenPipeError:
            return


def _kill(program: int, own_namespace: bool) -> None:
    """Kill the program and whatever it started. Only inside a PID namespace of our own does kill(-1)
    mean "the program's processes": outside one (the rlimits fallback) it would mean every process this
    user may signal, so there the program's session is killed instead (it called setsid)."""
    try:
        os.killpg(program, signal.SIGKILL)
    except OSError:
        pass
    os.kill(program, signal.SIGKILL)
    if own_namespace:
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
    os.waitpid(program, 0)


def _program(run, result_w: int) -> None:
    """In the forked program process: run, write its records, and end without interpreter teardown."""
    result = os.fdopen(result_w, "w", buffering=1)  # line-buffered: each record leaves when written
    try:
        run(result.write)
    except BaseException as exc:  # the program broke the runner's code: no more records
        try:
            result.write(f"raised {wire.one_line(_describe(exc))}\n")
        except BaseException:
            pass
    try:
        result.flush()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(0)  # skip teardown: the program may have left threads or broken atexit hooks


def main(isolated: bool) -> None:
    """A fresh sandbox: this process (PID 1 of its namespaces) confines the file system, then forks the
    program and watches it; it never runs the program's code itself."""
    payload = _decode(sys.stdin.buffer.read())
    sys.path[:] = payload["sys_path"]  # -S skipped site: the parent's import path, so numpy & co. import
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)  # the program reads an empty stdin, never the payload
    result_fd = payload["result_fd"]
    if isolated:
        limit_ipc(payload["limits"])  # this IPC namespace is the program's alone
        confine_filesystem(payload["limits"]["tmp_bytes"], payload["visible"], payload["hidden"])
        os.chdir("/tmp")
    else:
        os.chdir(payload["workdir"])
    read_end, write_end = os.pipe()
    program = os.fork()
    if program == 0:
        os.close(read_end), os.close(result_fd)
        os.setsid()
        _set_oom_score(1000)
        if isolated:
            drop_privileges()
            deny_keyrings()
        else:
            guard_network()
        set_limits(payload["limits"])
        _program(lambda write: MODES[payload["mode"]](payload, write), write_end)
    os.close(write_end)
    # the fresh sandbox's PID 1 only where isolated: otherwise this process shares the host's PID space
    reply = watch(program, read_end, result_fd, payload.get("watch_limits"), own_namespace=isolated)
    os._exit(_reply_status(reply))


def _reply_status(reply) -> int:
    kind, value = reply  # PID 1 of a namespace cannot raise a signal on itself: 128 + signal, as shells say
    return value if kind == wire.REPLY_EXITED else 128 + value if kind == wire.REPLY_SIGNALED else 1


# -- zygote: one confined interpreter per scoring worker that forks a fresh sandbox per program ---------
# Starting a confined interpreter costs ~25 ms a program (exec, imports, namespaces, mounts); forking an
# already confined one costs ~2 ms. Each program still gets its own mount namespace (a fresh private
# /tmp and /proc), PID namespace (everything it starts dies with it) and IPC namespace (no SysV object
# outlives it), no capabilities, and its rlimits; a supervisor between the zygote and the program relays
# its records and enforces the time limits. The zygote never receives a program's code or its inputs:
# they come as a file descriptor that only the program process reads, so nothing of one sample is in the
# memory the next one inherits.
_VISIBLE_IN_TMP: list = []


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
    # each program mounts its own /tmp and a read-only /proc; the supervisors size IPC namespaces through this one
    confine_filesystem(1 << 20, setup["visible"], setup["hidden"], proc_writable=True)
    _VISIBLE_IN_TMP[:] = [p for p in setup["visible"] if _under_tmp(p)]
    _key_filter()  # built once here: each program only installs it
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(sock, 8, 4)
            if len(message) < 8 or len(fds) != 4:
                raise EOFError
            control = _decode(_recv_exact(sock, struct.unpack("Q", message)[0]))
        except (EOFError, OSError):
            os._exit(0)  # the scorer is gone or done
        supervisor = os.fork()
        if supervisor == 0:
            try:
                _supervise(sock, control, fds)
            finally:
                os._exit(70)
        for fd in fds:
            os.close(fd)
        os.waitpid(supervisor, 0)


def _supervise(sock, control: dict, fds: list) -> None:
    """The zygote's child: new mount, PID and IPC namespaces, then the program as PID 1 of the new PID
    namespace; relays its records and enforces its time limits."""
    import struct

    if _libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC) != 0:
        raise OSError(ctypes.get_errno(), "unshare failed")
    limit_ipc(control["limits"])  # through the zygote's writable /proc, which the program never sees
    result_fd, stdout_fd, stderr_fd, payload_fd = fds
    read_end, write_end = os.pipe()
    program = os.fork()
    if program == 0:
        sock.close()
        os.close(read_end), os.close(result_fd)
        _run_forked(control["limits"], payload_fd, write_end, stdout_fd, stderr_fd)
    for fd in (write_end, stdout_fd, stderr_fd, payload_fd):
        os.close(fd)
    reply = watch(program, read_end, result_fd, control.get("watch_limits"), control["limits"]["wall_seconds"])
    sock.sendall(struct.pack("ii", *reply))
    os._exit(0)


def _run_forked(limits: dict, payload_fd: int, result_w: int, stdout_fd: int, stderr_fd: int) -> None:
    try:
        os.setsid()  # its own process group: kill(0, ...) must not reach the supervisor or the zygote
        os.dup2(stdout_fd, 1)
        os.dup2(stderr_fd, 2)
        os.close(stdout_fd), os.close(stderr_fd)
        in_tmp = [(path, os.open(path, os.O_PATH)) for path in _VISIBLE_IN_TMP]  # before /tmp is covered
        _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={limits['tmp_bytes']},mode=1777")
        for path, fd in in_tmp:  # an interpreter or venv under /tmp stays importable
            _bind(f"/proc/self/fd/{fd}", path, directory=os.path.isdir(f"/proc/self/fd/{fd}"))
            _read_only(path)
            os.close(fd)
        try:
            _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY)
        except OSError:
            if os.path.exists("/proc/self"):  # never run beside the zygote's own, writable /proc
                raise
        os.chdir("/tmp")
        _set_oom_score(1000)
        drop_privileges()
        deny_keyrings()
        set_limits(limits)
        payload = _decode(_read_all(payload_fd))
    except BaseException:
        os._exit(71)
    _program(lambda write: MODES[payload["mode"]](payload, write), result_w)


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
    _set_oom_score(-1000)  # needs CAP_SYS_RESOURCE: the parent checks once and says so (cgroup.oom_protection)


def _set_oom_score(value: int) -> bool:
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write(str(value))
        return True
    except OSError:
        return False  # lowering it needs privilege; raising it never does


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
