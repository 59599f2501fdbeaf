"""A class on JupyterHub, on this machine: nbgrader's exchange between an instructor and two learners.

We write no server of our own: JupyterHub (pinned in pyproject's ``dev`` extra), its proxy
configurable-http-proxy (an npm package, pinned in ``[tool.course] hub-proxy``, installed into
``build/hub/proxy`` on first use) and nbgrader's exchange do the work; this module configures them
for the course and adds the one step nbgrader does not have: grading the collected submissions with
the course's grader (:mod:`.grading`, integrity checks included) and putting its feedback where
``nbgrader release_feedback`` finds it. README, "For instructors", section "A class on JupyterHub".

Command line::

    python -m course_utils.tools.hub run   [--nb 01]   # `make hub`: start, print how to log in, Ctrl-C stops
    python -m course_utils.tools.hub start [--nb 01]   # the same in the background; `stop` ends it
    python -m course_utils.tools.hub stop
    python -m course_utils.tools.hub cycle [--nb 01]   # `make hub-cycle`: the whole cycle, scripted, on a new hub
    python -m course_utils.tools.hub grade ASSIGNMENT [--course ~/course]      # instructor, after Collect
    python -m course_utils.tools.hub feedback ASSIGNMENT [--course ~/course]   # again after hand grading + export

The local hub: 127.0.0.1 on free ports; users ``instructor``, ``ada`` and ``grace`` with one shared
password (JupyterHub's ``SharedPasswordAuthenticator``, an allow-list of those three names); each
single-user server runs as the Unix user that started the hub (``SimpleLocalProcessSpawner``) with
``HOME`` in ``<root>/home/<user>``; the exchange is ``<root>/exchange``; the instructor's nbgrader
course is ``<root>/home/instructor/course`` (the course notebooks in ``source/``).

nbgrader 0.9.6 takes a learner's id from the Unix user name (``nbgrader.utils.get_username``; only a
user named ``jovyan`` is replaced by ``JUPYTERHUB_USER``), so with one Unix user for everyone each
learner's ``~/.jupyter/nbgrader_config.py`` sets ``CourseDirectory.student_id`` to their hub name.
"""
from __future__ import annotations

import argparse
import datetime as dt
import html
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from . import grading as G

REPO_ROOT = Path(__file__).resolve().parents[2]
HUB_DIR = REPO_ROOT / "build" / "hub"
PROXY_DIR = HUB_DIR / "proxy"          # node_modules of configurable-http-proxy (kept between hubs)
DEFAULT_ROOT = HUB_DIR / "run"         # `make hub`'s working folder (homes, exchange, hub database)
COURSE_ID = "hands-on-dl"              # the course id grading.py gives nbgrader
INSTRUCTOR = "instructor"
LEARNERS = ("ada", "grace")
BIN = Path(sys.executable).parent      # this venv's scripts: jupyterhub, jupyterhub-singleuser, nbgrader
# What a learner must not see in JupyterLab (nbgrader's docs: disable them per user).
LEARNER_LAB_DISABLED = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                        "@jupyter/nbgrader:course-list")
LEARNER_SERVER_DISABLED = ("nbgrader.server_extensions.formgrader", "nbgrader.server_extensions.course_list")
# Not needed on the course hub, and slow to start (it runs npm to look for language servers).
SERVER_DISABLED = ("jupyter_lsp",)


class HubUnavailable(RuntimeError):
    """JupyterHub or its proxy cannot run here; the message says why and what to install."""


# --------------------------------------------------------------------------- the proxy (npm)

def proxy_requirement(pyproject: Path | None = None) -> str:
    """``configurable-http-proxy@X.Y.Z``: pyproject's ``[tool.course] hub-proxy``."""
    import tomllib
    path = pyproject or REPO_ROOT / "pyproject.toml"
    with open(path, "rb") as fh:
        req = tomllib.load(fh).get("tool", {}).get("course", {}).get("hub-proxy")
    if not isinstance(req, str) or not re.fullmatch(r"configurable-http-proxy@\d+\.\d+\.\d+", req):
        raise ValueError(f"{path}: [tool.course] hub-proxy must be 'configurable-http-proxy@X.Y.Z', got {req!r}")
    return req


def ensure_proxy(prefix: str | Path = PROXY_DIR, log=print) -> Path:
    """The configurable-http-proxy executable, installed with ``npm install --prefix`` if missing.

    Raises :class:`HubUnavailable` when Node.js/npm is missing or too old, or the install fails.
    """
    prefix = Path(prefix)
    req = proxy_requirement()
    version = req.split("@", 1)[1]
    exe = prefix / "node_modules" / ".bin" / "configurable-http-proxy"
    meta = prefix / "node_modules" / "configurable-http-proxy" / "package.json"

    def installed() -> bool:
        try:
            return exe.exists() and json.loads(meta.read_text())["version"] == version
        except (OSError, ValueError, KeyError):
            return False

    if installed():
        return exe
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        raise HubUnavailable("JupyterHub's proxy needs Node.js >= 20 and npm, which are not on PATH "
                             "(Debian: apt-get install nodejs npm; conda: conda install nodejs)")
    out = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    m = re.match(r"v(\d+)\.", out)
    if not m or int(m.group(1)) < 20:
        raise HubUnavailable(f"{req} needs Node.js >= 20, found {out or 'no version'}")
    import fcntl
    prefix.mkdir(parents=True, exist_ok=True)
    with open(prefix / ".install.lock", "w") as lock:   # two test workers may get here at once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not installed():
            log(f"Installing {req} into {prefix} (npm, once)...")
            res = subprocess.run([npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund",
                                  "--loglevel=error", req], capture_output=True, text=True, timeout=600)
            if res.returncode != 0 or not installed():
                raise HubUnavailable(f"npm install {req} failed ({res.returncode}): "
                                     f"{(res.stderr or res.stdout).strip()[-800:]}")
    return exe


# --------------------------------------------------------------------------- folders and configuration

def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def instructor_nbgrader_config(course: Path, exchange: Path) -> str:
    return "\n".join([
        "# Written by course_utils.tools.hub: the instructor's nbgrader settings on the course hub.",
        "c = get_config()  # noqa: F821",
        f"c.CourseDirectory.course_id = {COURSE_ID!r}",
        f"c.CourseDirectory.root = {str(course)!r}",
        f"c.Exchange.root = {str(exchange)!r}",
        "# Every hub user is the same Unix user here, so nbgrader's owner check would flag every",
        "# submission; a real deployment (one Unix user or container per learner) keeps it on.",
        "c.ExchangeCollect.check_owner = False",
        ""])


def learner_nbgrader_config(user: str, exchange: Path) -> str:
    return "\n".join([
        f"# Written by course_utils.tools.hub: {user}'s nbgrader settings on the course hub.",
        "c = get_config()  # noqa: F821",
        f"c.CourseDirectory.course_id = {COURSE_ID!r}",
        f"c.Exchange.root = {str(exchange)!r}",
        "# nbgrader 0.9.6 names a submission after the Unix user (all hub users are one here),",
        "# so the learner's id is set explicitly: it must be the hub user name.",
        f"c.CourseDirectory.student_id = {user!r}",
        ""])


def hub_config(root: Path, port: int, hub_port: int, api_port: int, password: str, proxy: Path,
               users: list[str]) -> str:
    args = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    env_path = os.pathsep.join([str(BIN), os.environ.get("PATH", "")])
    return "\n".join([
        "# Written by course_utils.tools.hub (make hub): a course hub on loopback for testing the recipe.",
        "c = get_config()  # noqa: F821",
        f"c.JupyterHub.bind_url = 'http://127.0.0.1:{port}'",
        "c.JupyterHub.hub_ip = '127.0.0.1'",
        f"c.JupyterHub.hub_port = {hub_port}",
        f"c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{api_port}'",
        f"c.ConfigurableHTTPProxy.command = [{str(proxy)!r}]",
        f"c.JupyterHub.db_url = {'sqlite:///' + str(root / 'jupyterhub.sqlite')!r}",
        f"c.JupyterHub.cookie_secret_file = {str(root / 'jupyterhub_cookie_secret')!r}",
        "# A test authenticator: these users only, one shared password (a real hub uses OAuth, LDAP...).",
        "c.JupyterHub.authenticator_class = 'shared-password'",
        f"c.SharedPasswordAuthenticator.user_password = {password!r}",
        f"c.Authenticator.allowed_users = {set(users)!r}",
        "# Single-user servers as the Unix user running the hub, HOME in the hub's folder (testing only:",
        "# no isolation between users; a real hub spawns real Unix users or containers).",
        "c.JupyterHub.spawner_class = 'simple'",
        f"c.SimpleLocalProcessSpawner.home_dir_template = {str(root / 'home') + '/{username}'!r}",
        f"c.Spawner.cmd = [{str(BIN / 'jupyterhub-singleuser')!r}]",
        f"c.Spawner.args = {args!r}",
        "c.Spawner.default_url = '/lab'",
        f"c.Spawner.environment = {{'PATH': {env_path!r}}}",
        "c.Spawner.start_timeout = 180",
        "c.Spawner.http_timeout = 180",
        ""])


def prepare(root: str | Path, notebooks: list[Path], users: list[str] | None = None) -> dict:
    """Create the hub's working folder: homes with each user's nbgrader (and JupyterLab) settings, the
    exchange, the instructor's course with ``notebooks`` in ``source/<stem>/``. Existing files are kept
    (a restart keeps homes, submissions and the hub database); configuration is written anew."""
    root = Path(root).resolve()
    users = list(users or [INSTRUCTOR, *LEARNERS])
    exchange = root / "exchange"
    exchange.mkdir(parents=True, exist_ok=True)
    for user in users:
        home = root / "home" / user
        jdir = home / ".jupyter"
        jdir.mkdir(parents=True, exist_ok=True)
        server_cfg = {"LabApp": {"news_url": None, "check_for_updates_class": "jupyterlab.NeverCheckForUpdate"},
                      "ServerApp": {"jpserver_extensions": {x: False for x in SERVER_DISABLED}}}
        if user == INSTRUCTOR:
            course = home / "course"
            (jdir / "nbgrader_config.py").write_text(instructor_nbgrader_config(course, exchange))
            for nb in notebooks:
                dest = course / "source" / nb.stem / nb.name
                if not dest.exists():
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(nb, dest)
        else:
            (jdir / "nbgrader_config.py").write_text(learner_nbgrader_config(user, exchange))
            server_cfg["ServerApp"]["jpserver_extensions"].update({x: False for x in LEARNER_SERVER_DISABLED})
            (jdir / "labconfig").mkdir(exist_ok=True)
            (jdir / "labconfig" / "page_config.json").write_text(
                json.dumps({"disabledExtensions": {x: True for x in LEARNER_LAB_DISABLED}}, indent=1))
        (jdir / "jupyter_server_config.json").write_text(json.dumps(server_cfg, indent=1))
        settings = jdir / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True, exist_ok=True)
        (settings / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    return {"root": root, "exchange": exchange, "course": root / "home" / INSTRUCTOR / "course", "users": users}


# --------------------------------------------------------------------------- the hub

@dataclass
class Hub:
    """A running local hub: its folder, port and shared password, and calls as each user."""
    root: Path
    port: int
    password: str
    pid: int
    users: list = field(default_factory=lambda: [INSTRUCTOR, *LEARNERS])
    proc: subprocess.Popen | None = field(default=None, repr=False)
    _tokens: dict = field(default_factory=dict, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def home(self, user: str) -> Path:
        return self.root / "home" / user

    @property
    def course(self) -> Path:
        return self.home(INSTRUCTOR) / "course"

    @property
    def exchange(self) -> Path:
        return self.root / "exchange"

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join((self.root / "hub.log").read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no hub.log)"

    # -- HTTP
    def request(self, method: str, path: str, token: str | None = None, body=None, timeout: float = 120):
        """``method path`` on the hub's public URL; returns (status, parsed JSON or text)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if token:
            req.add_header("Authorization", f"token {token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        text = raw.decode("utf-8", errors="replace")
        try:
            return status, json.loads(text) if text else None
        except ValueError:
            return status, text

    def token(self, user: str) -> str:
        """An API token for ``user``, asked for the way a script would: user name and the password."""
        if user not in self._tokens:
            status, res = self.request("POST", f"/hub/api/users/{user}/tokens",
                                       body={"auth": {"username": user, "password": self.password},
                                             "note": "course hub (course_utils.tools.hub)"})
            if status != 201:
                raise RuntimeError(f"no token for {user}: HTTP {status} {res}")
            self._tokens[user] = res["token"]
        return self._tokens[user]

    def spawn(self, *users: str, timeout: float = 240) -> None:
        """Start the single-user servers of ``users`` (at once) and wait until each answers."""
        for user in users:
            status, res = self.request("POST", f"/hub/api/users/{user}/server", self.token(user))
            if status not in (201, 202, 400):   # 400: already running
                raise RuntimeError(f"starting {user}'s server: HTTP {status} {res}\n{self.log_tail()}")
        deadline = time.monotonic() + timeout
        waiting = list(users)
        while waiting:
            for user in list(waiting):
                status, res = self.request("GET", f"/hub/api/users/{user}", self.token(user))
                server = (res or {}).get("servers", {}).get("") if status == 200 else None
                if server and server.get("ready"):
                    waiting.remove(user)
            if waiting and (time.monotonic() > deadline or self.proc and self.proc.poll() is not None):
                raise RuntimeError(f"single-user servers not ready: {', '.join(waiting)}\n{self.log_tail()}")
            if waiting:
                time.sleep(0.5)

    def user_api(self, user: str, method: str, path: str, body=None, timeout: float = 300):
        """``method /user/<user>/<path>`` with ``user``'s token: a call to their own server."""
        status, res = self.request(method, f"/user/{user}/{path}", self.token(user), body, timeout)
        if status >= 400:
            raise RuntimeError(f"{method} /user/{user}/{path}: HTTP {status} {str(res)[:800]}")
        return res

    # -- a learner: what the Assignments tab (nbgrader's assignment_list server extension) calls
    def assignments(self, user: str) -> list[dict]:
        res = self.user_api(user, "GET", f"assignments?course_id={COURSE_ID}")
        if not res.get("success"):
            raise RuntimeError(f"{user}'s assignment list failed: {res.get('value')}")
        return res["value"]

    def learner_action(self, user: str, action: str, assignment: str) -> list[dict]:
        """``fetch``, ``submit`` or ``fetch_feedback`` as the Assignments tab's buttons do."""
        res = self.user_api(user, "POST", f"assignments/{action}",
                            {"course_id": COURSE_ID, "assignment_id": assignment})
        if not res.get("success"):
            raise RuntimeError(f"{user}: {action} {assignment} failed: {str(res.get('value'))[-800:]}")
        return res["value"]

    def read_file(self, user: str, path: str):
        """A file of ``user``'s home through their server (a notebook comes back as a dict)."""
        res = self.user_api(user, "GET", f"api/contents/{urllib.parse.quote(path)}?content=1")
        return res["content"]

    def listdir(self, user: str, path: str) -> list[str]:
        res = self.user_api(user, "GET", f"api/contents/{urllib.parse.quote(path)}?content=1")
        return sorted(x["name"] for x in res["content"])

    def write_notebook(self, user: str, path: str, nb: dict) -> None:
        self.user_api(user, "PUT", f"api/contents/{urllib.parse.quote(path)}",
                      {"type": "notebook", "format": "json", "content": nb})

    # -- the instructor: the formgrader's buttons, and a terminal on their server
    def formgrader(self, action: str, assignment: str) -> dict:
        """``assign`` (Generate), ``release``, ``collect``, ``release_feedback`` in the formgrader."""
        res = self.user_api(INSTRUCTOR, "POST", f"formgrader/api/assignment/{assignment}/{action}", {})
        if not isinstance(res, dict) or not res.get("success"):
            raise RuntimeError(f"formgrader {action} {assignment} failed: {json.dumps(res)[-1500:]}")
        return res

    def env(self, user: str) -> dict:
        """The environment of ``user``'s terminal on the hub (what the spawner sets)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "JPY_"))}
        env.update({"HOME": str(self.home(user)), "USER": user, "JUPYTERHUB_USER": user, "SHELL": "/bin/bash",
                    "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")])})
        return env

    def run_as(self, user: str, cmd: list[str], cwd: Path | None = None, timeout: float = 600):
        """Run ``cmd`` as ``user`` would in a terminal of their server (HOME, PATH, working folder)."""
        return subprocess.run(cmd, cwd=cwd or self.home(user), env=self.env(user), capture_output=True,
                              text=True, timeout=timeout)

    def stop(self) -> None:
        stop_pid(self.pid)
        (self.root / "state.json").unlink(missing_ok=True)


def stop_pid(pid: int, grace: float = 20.0) -> int:
    """Stop the hub ``pid`` (SIGTERM: it stops the single-user servers and the proxy), then kill whatever
    it started that is left (servers run in their own sessions). Returns how many processes were ended."""
    import psutil
    try:
        hub = psutil.Process(pid)
        if "jupyterhub" not in " ".join(hub.cmdline()):
            return 0      # the pid was reused by something else: not ours
        procs = hub.children(recursive=True)
    except psutil.Error:
        return 0
    try:
        hub.send_signal(signal.SIGTERM)
        hub.wait(grace)
    except psutil.TimeoutExpired:
        hub.kill()
    except psutil.Error:
        pass
    G.kill_processes([p for p in procs if p.is_running()])
    return 1 + len(procs)


def running(root: str | Path = DEFAULT_ROOT) -> Hub | None:
    """The hub recorded in ``root/state.json`` if its process is alive, else None."""
    state = Path(root) / "state.json"
    try:
        s = json.loads(state.read_text())
        import psutil
        if "jupyterhub" in " ".join(psutil.Process(s["pid"]).cmdline()):
            return Hub(Path(s["root"]), s["port"], s["password"], s["pid"], s["users"])
    except (OSError, ValueError, KeyError, ImportError):
        return None
    except Exception:  # noqa: BLE001 - psutil.NoSuchProcess and friends: not running
        return None
    return None


def start(root: str | Path = DEFAULT_ROOT, notebooks: list[Path] | None = None, port: int | None = None,
          log=print, timeout: float = 120) -> Hub:
    """Start a hub on 127.0.0.1 in ``root`` (see the module's docstring); returns when its API answers.

    Raises :class:`HubUnavailable` if JupyterHub or its proxy cannot run here, ``RuntimeError`` with the
    end of the hub's log if it does not start.
    """
    if not (BIN / "jupyterhub").exists() or not (BIN / "jupyterhub-singleuser").exists():
        raise HubUnavailable(f"jupyterhub is not installed in {BIN.parent} (make setup installs the dev extra)")
    root = Path(root).resolve()
    other = running(root)
    if other:
        raise RuntimeError(f"a hub is already running from {root} at {other.url} (pid {other.pid}); "
                           f"stop it with `python -m course_utils.tools.hub stop --root {root}`")
    proxy = ensure_proxy(log=log)
    notebooks = G.course_notebooks() if notebooks is None else list(notebooks)
    prepare(root, notebooks)
    pw_file = root / "password.txt"
    if not pw_file.exists():
        pw_file.write_text(secrets.token_urlsafe(12) + "\n")
        pw_file.chmod(0o600)
    password = pw_file.read_text().strip()
    port = port or free_port()
    users = [INSTRUCTOR, *LEARNERS]
    (root / "jupyterhub_config.py").write_text(
        hub_config(root, port, free_port(), free_port(), password, proxy, users))
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(BIN), env.get("PATH", "")])
    for k in [k for k in env if k.startswith(("JUPYTERHUB_", "JPY_"))]:
        env.pop(k)
    with open(root / "hub.log", "ab") as fh:
        proc = subprocess.Popen([str(BIN / "jupyterhub"), "-f", str(root / "jupyterhub_config.py")],
                                cwd=root, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    hub = Hub(root, port, password, proc.pid, users, proc)
    (root / "state.json").write_text(json.dumps({"pid": proc.pid, "port": port, "url": hub.url,
                                                 "password": password, "root": str(root), "users": users,
                                                 "started": dt.datetime.now().isoformat(timespec="seconds")}))
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            (root / "state.json").unlink(missing_ok=True)
            raise RuntimeError(f"jupyterhub exited with {proc.returncode}:\n{hub.log_tail()}")
        try:
            status, _ = hub.request("GET", "/hub/api/", timeout=5)
            if status == 200:
                return hub
        except OSError:
            pass
        if time.monotonic() > deadline:
            hub.stop()
            raise RuntimeError(f"jupyterhub did not answer within {timeout:.0f} s:\n{hub.log_tail()}")
        time.sleep(0.3)


# --------------------------------------------------------------------------- grading what was collected

def grade_collected(course: str | Path, assignment: str, out: str | Path | None = None, jobs: int = 1,
                    quiet: bool = False, **options) -> Path:
    """After ``nbgrader collect``: grade ``course/submitted/<learner>/<assignment>/`` with the course's
    grader (:func:`.grading.grade`: integrity checks, time limits, a new run folder in ``course/grades/``)
    against the instructor notebook in ``course/source/<assignment>/`` (the files graded are copied to
    ``course/collected/<assignment>-<date_time>/`` first), then put the feedback where
    ``nbgrader release_feedback`` takes it (:func:`stage_feedback`). Returns the run folder."""
    course = Path(course).resolve()
    source = course / "source" / assignment / f"{assignment}.ipynb"
    if not source.exists():
        raise ValueError(f"no instructor notebook {source} (the course's source/<assignment>/<assignment>.ipynb)")
    subs = sorted((course / "submitted").glob(f"*/{assignment}/{assignment}.ipynb"))
    if not subs:
        raise ValueError(f"nothing collected for {assignment} in {course / 'submitted'}: "
                         f"Collect in the formgrader (or `nbgrader collect {assignment}`) first")
    seen: dict[str, str] = {}
    for nb in subs:
        user = nb.parent.parent.name
        lid = G.learner_id(user)
        if lid in seen:
            raise ValueError(f"hub users {seen[lid]!r} and {user!r} are the same learner id {lid!r} "
                             f"for the grader; rename one")
        seen[lid] = user
    # The grader's naming rule (<learner>__<notebook>.ipynb), in a folder that stays: the run's report
    # names it as where the submissions came from.
    staged = course / "collected" / f"{assignment}-{dt.datetime.now():%Y-%m-%d_%H%M%S}"
    for k in range(2, 1000):
        if not staged.exists():
            break
        staged = staged.with_name(f"{staged.name.split('+')[0]}+{k}")
    staged.mkdir(parents=True)
    for nb in subs:
        shutil.copy2(nb, staged / f"{nb.parent.parent.name}__{assignment}.ipynb")
    run = G.grade(staged, out or course / "grades", [source], jobs=jobs, quiet=quiet, **options)
    stage_feedback(course, assignment, run)
    return run


def _user_of(file: str, assignment: str) -> str:
    return Path(file).name[: -len(f"__{assignment}.ipynb")]


def stage_feedback(course: str | Path, assignment: str, run: str | Path | None = None) -> list[Path]:
    """Write ``course/feedback/<user>/<assignment>/<assignment>.html`` for each learner of grading run
    ``run`` (default: ``course/grades/latest``): the grader's points, statuses and notes (read from the
    run's gradebook now, so hand grades and comments count) above nbgrader's page of the graded notebook
    (the newest ``export`` one if there is one), readable offline. With each page go the submission's
    ``timestamp.txt`` and ``submission_secret.txt``, from which ``release_feedback`` names the file in the
    exchange and ``fetch_feedback`` finds it: only the learner who submitted has that secret."""
    course = Path(course).resolve()
    run = Path(run).resolve() if run else (course / "grades" / "latest").resolve()
    if not (run / "grading.json").exists():
        raise ValueError(f"{run} is not a grading run folder (no grading.json)")
    rows, summary = G.collect(run)
    exports = sorted(p for p in (run / "course").glob("feedback-*") if p.is_dir())
    pages_dir = exports[-1] if exports else run / "course" / "feedback"
    written = []
    for s in (x for x in summary if x["notebook"] == assignment):
        user = _user_of(s["file"], assignment)
        submitted = course / "submitted" / user / assignment
        if not (submitted / "submission_secret.txt").exists():
            continue   # not a submission of this hub course (no secret to release feedback with)
        dest = course / "feedback" / user / assignment
        dest.mkdir(parents=True, exist_ok=True)
        for name in ("timestamp.txt", "submission_secret.txt"):
            shutil.copyfile(submitted / name, dest / name)
        page = pages_dir / s["learner"] / assignment / f"{assignment}.html"
        ex_rows = [r for r in rows if r["learner"] == s["learner"] and r["notebook"] == assignment]
        block = _summary_block(user, s, ex_rows, final=bool(exports))
        if page.exists():
            text = G.strip_mathjax(page.read_text(encoding="utf-8"))
            text = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + block, text, count=1)
        else:
            text = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(assignment)}</title>"
                    f"</head><body>{block}</body></html>")
        (dest / f"{assignment}.html").write_text(text, encoding="utf-8")
        written.append(dest / f"{assignment}.html")
    return written


_CELL = "padding:3px 12px 3px 0;text-align:left;vertical-align:top;border-bottom:1px solid #ddd"


def _summary_block(user: str, s: dict, rows: list[dict], final: bool) -> str:
    when = ("Final grades: hand-graded answers and the instructor's comments included." if final else
            "Autograded. Written answers are graded by hand later; their points are not in yet.")
    out = ["<div id='course-feedback' style='font-family:sans-serif;margin:1em 2em;padding:1em;"
           "border:1px solid #ccc'>",
           f"<h2>{html.escape(s['notebook'])}: feedback for {html.escape(user)}</h2><p>{when}</p>",
           f"<p>Autograded: <b>{s['auto_points']} / {s['auto_max']}</b> points; written answers: "
           f"{s['written_points']} / {s['written_max']}. Status: {html.escape(s['status'])}.</p>",
           "<table style='border-collapse:collapse'><tr>"
           + "".join(f"<th style='{_CELL}'>{h}</th>" for h in ("exercise", "points", "status", "what happened"))
           + "</tr>"]
    for r in rows:
        out.append("<tr>" + "".join(f"<td style='{_CELL}'>{html.escape(str(x))}</td>" for x in (
            r["exercise"], f"{r['points']} / {r['max_points']}", r["status"], r["note"])) + "</tr>")
    out.append("</table><p>Below: your notebook as it was graded.</p></div>")
    return "".join(out)


# --------------------------------------------------------------------------- answers and the whole cycle

def answered(student_nb: dict, instructor_nb: dict, answers: dict[str, str] | None = None) -> dict:
    """``student_nb`` with its answer cells filled in: each with the instructor's solution (the
    ``BEGIN/END SOLUTION`` marker lines removed), or with ``answers[grade_id]`` where given."""
    import copy
    nb = copy.deepcopy(student_nb)
    solutions = {}
    for cell in instructor_nb["cells"]:
        g = cell.get("metadata", {}).get("nbgrader", {})
        if g.get("solution"):
            src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            solutions[g["grade_id"]] = "\n".join(
                ln for ln in src.splitlines() if not re.match(r"\s*#+\s*(BEGIN|END) SOLUTION", ln))
    for cell in nb["cells"]:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in (answers or {}):
            cell["source"] = answers[gid]
        elif gid in solutions and cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            cell["source"] = solutions[gid]
    return nb


def cycle(hub: Hub, assignment: str, answers: dict[str, dict[str, str] | None], log=print) -> dict:
    """The whole cycle through the exchange on a running hub, each step as its user does it.

    ``answers``: learner -> what they write (``None``: the instructor's solutions everywhere; a dict:
    grade_id -> source for those cells, the stubs left elsewhere). Returns what came of it: the run
    folder, the gradebook rows, each learner's fetched feedback pages and the seconds per step.
    """
    times: dict[str, float] = {}
    t = time.perf_counter()

    def lap(name):
        nonlocal t
        now = time.perf_counter()
        times[name] = round(now - t, 1)
        t = now

    learners = list(answers)
    hub.spawn(INSTRUCTOR, *learners)
    lap("servers")
    log(f"servers of {INSTRUCTOR}, {', '.join(learners)} ready ({times['servers']} s)")
    hub.formgrader("assign", assignment)
    hub.formgrader("release", assignment)
    lap("release")
    log(f"{INSTRUCTOR}: generated and released {assignment} (formgrader)")
    instructor_nb = json.loads((hub.course / "source" / assignment / f"{assignment}.ipynb").read_text())
    for user in learners:
        hub.learner_action(user, "fetch", assignment)
        path = f"{assignment}/{assignment}.ipynb"
        student = hub.read_file(user, path)
        mine = answers[user]
        hub.write_notebook(user, path, answered(student, instructor_nb) if mine is None else _fill(student, mine))
        hub.learner_action(user, "submit", assignment)
        log(f"{user}: fetched, answered ({'solutions' if mine is None else ', '.join(mine)}) and submitted")
    lap("learners")
    hub.formgrader("collect", assignment)
    lap("collect")
    log(f"{INSTRUCTOR}: collected {', '.join(sorted(p.name for p in (hub.course / 'submitted').iterdir()))}")
    res = hub.run_as(INSTRUCTOR, [sys.executable, "-m", "course_utils.tools.hub", "grade", assignment,
                                  "--jobs", "2"], cwd=hub.course)
    if res.returncode != 0:
        raise RuntimeError(f"hub grade failed ({res.returncode}):\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}")
    lap("grade")
    run = (hub.course / "grades" / "latest").resolve()
    log(f"{INSTRUCTOR}: graded with the course's grader ({times['grade']} s): {run}")
    hub.formgrader("release_feedback", assignment)
    lap("release_feedback")
    feedback = {}
    for user in learners:
        hub.learner_action(user, "fetch_feedback", assignment)
        base = f"{assignment}/feedback"
        pages = []
        for stamp in hub.listdir(user, base):
            for name in hub.listdir(user, f"{base}/{stamp}"):
                pages.append((f"{base}/{stamp}/{name}", hub.read_file(user, f"{base}/{stamp}/{name}")))
        feedback[user] = pages
        log(f"{user}: fetched feedback: {', '.join(p for p, _ in pages) or 'none'}")
    lap("fetch_feedback")
    import csv
    with open(run / "gradebook.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return {"run": run, "rows": rows, "feedback": feedback, "times": times}


def _fill(student: dict, mine: dict[str, str]) -> dict:
    import copy
    nb = copy.deepcopy(student)
    for cell in nb["cells"]:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in mine:
            cell["source"] = mine[gid]
    return nb


# --------------------------------------------------------------------------- command line

def _print_login(hub: Hub) -> None:
    print(f"\nJupyterHub for the course: {hub.url}  (working folder {hub.root})\n"
          f"  users: {INSTRUCTOR} (nbgrader course in {hub.course}), {', '.join(LEARNERS)} (learners)\n"
          f"  password (all users): {hub.password}\n"
          f"  formgrader (in a tab of its own): {hub.url}/user/{INSTRUCTOR}/formgrader\n"
          f"  exchange: {hub.exchange}\n"
          f"  the cycle: README, 'For instructors', 'A class on JupyterHub'\n", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m course_utils.tools.hub", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    for name, helptext in (("run", "start a hub and keep it until Ctrl-C"), ("start", "start a hub in the background"),
                           ("stop", "stop the hub started with `start`"), ("cycle", "the whole cycle on a new hub")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--root", default=str(DEFAULT_ROOT if name != "cycle" else HUB_DIR / "cycle"),
                       help="the hub's working folder")
        if name != "stop":
            p.add_argument("--nb", help="course notebooks to put in the instructor's source/: 01 or 01,04")
            p.add_argument("--notebooks", default=str(G.NOTEBOOKS), help="folder of instructor notebooks")
        if name in ("run", "start"):
            p.add_argument("--port", type=int, help="port on 127.0.0.1 (default: a free one)")
    for name, helptext in (("grade", "grade the collected submissions with the course's grader"),
                           ("feedback", "put a grading run's feedback where release_feedback takes it")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("assignment")
        p.add_argument("--course", default=".", help="the instructor's nbgrader course folder (default: here)")
        if name == "grade":
            p.add_argument("--jobs", type=int, default=1, help="submissions graded at once")
            p.add_argument("--full", action="store_true", help="grade in full mode (default: fast mode)")
        else:
            p.add_argument("--run", help="grading run folder (default: <course>/grades/latest)")
    args = ap.parse_args(argv)
    try:
        if args.command == "stop":
            hub = running(args.root)
            if not hub:
                print(f"no hub running from {args.root}")
                return 0
            hub.stop()
            print(f"stopped the hub at {hub.url}")
            return 0
        if args.command == "grade":
            run = grade_collected(args.course, args.assignment, jobs=args.jobs, full=args.full)
            print(f"Feedback for release: {Path(args.course).resolve() / 'feedback'}/<learner>/{args.assignment}/; "
                  f"release it with the formgrader's 'Release feedback' or `nbgrader release_feedback "
                  f"{args.assignment}`.\nGrading run: {run}")
            return 0
        if args.command == "feedback":
            pages = stage_feedback(args.course, args.assignment, args.run)
            print("\n".join(f"feedback for release: {p}" for p in pages) or "no feedback written")
            return 0
        notebooks = G.course_notebooks(args.notebooks, args.nb)
        if args.command == "cycle":
            root = Path(args.root)
            if running(root):
                raise RuntimeError(f"a hub is running from {root}; stop it first")
            shutil.rmtree(root, ignore_errors=True)
            nb = notebooks[0]
            hub = start(root, [nb])
            try:
                wrong = {e.answer_id: "# not solved\n" for e in G.exercises(json.loads(nb.read_text()))
                         if e.kind == "auto" and e.answer_id}
                out = cycle(hub, nb.stem, {LEARNERS[0]: None, LEARNERS[1]: wrong})
            finally:
                hub.stop()
            print(f"\nGradebook: {out['run'] / 'gradebook.csv'}  report: {out['run'] / 'report.md'}")
            print((out["run"] / "report.md").read_text().split("\n## ")[0])
            print("seconds per step:", out["times"])
            return 0
        hub = start(args.root, notebooks, args.port)
        _print_login(hub)
        if args.command == "start":
            print(f"Stop it with: python -m course_utils.tools.hub stop --root {args.root}")
            return 0
        print("Ctrl-C stops the hub and its servers.", flush=True)
        try:
            while hub.proc.poll() is None:
                time.sleep(1)
            print(f"jupyterhub exited ({hub.proc.returncode}):\n{hub.log_tail()}")
            return 1
        except KeyboardInterrupt:
            print("\nstopping...")
            return 0
        finally:
            hub.stop()
    except HubUnavailable as exc:
        print(f"hub: cannot run JupyterHub here: {exc}", file=sys.stderr)
        return 3
    except (ValueError, RuntimeError, FileExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
