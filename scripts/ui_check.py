"""Click through the Airflow 3 UI in a real headless browser, as a user setting up the provider would.

1. Start the Fivetran simulator and ``airflow api-server`` on loopback (fresh ``AIRFLOW_HOME``,
   ``AIRFLOW__CORE__TEST_CONNECTION=Enabled``).
2. Add a ``fivetran`` connection through the connection form, pointing at the simulator; save it.
3. Press the connection's **Test** button and see Airflow report success.
4. ``airflow connections test fivetran_default`` succeeds too.
5. Run an example DAG (``airflow dags test``) with that connection.
6. Open the task in the UI and follow its **Fivetran connection** extra link: it must lead to the
   connection's dashboard page (the request to fivetran.com is answered locally, nothing leaves
   the machine).

Debian's Chromium (``/usr/bin/chromium``) is driven by Playwright; no browser is downloaded.
Screenshots go to ``.artifacts/ui/``. Exits non-zero, naming the step, when a step fails.

    .nox/ui/bin/python scripts/ui_check.py    # normally run by ``nox -s ui``
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / ".artifacts" / "ui"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DAG_ID = "fivetran_temporary_schedule_change"
TASK_ID = "switch_to_manual"
EXPECTED_LINK = "https://fivetran.com/dashboard/connections/quiet_meadow/status"
API_KEY, API_SECRET = "ui-check-key", "ui-check-secret-5511"
CREDENTIALS = ["--api-key", API_KEY, "--api-secret", API_SECRET]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Steps:
    """Runs named steps, timing each and saying which one failed."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.done: list[tuple[str, float]] = []

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        began = time.monotonic()
        print(f"--- {name}", flush=True)
        try:
            yield
        except BaseException:
            print(f"FAILED at step: {name}", flush=True)
            raise
        self.done.append((name, time.monotonic() - began))
        print(f"    ok ({time.monotonic() - began:.1f} s)", flush=True)

    def summary(self) -> str:
        lines = [f"{seconds:6.1f} s  {name}" for name, seconds in self.done]
        lines.append(f"{time.monotonic() - self.started:6.1f} s  total")
        return "\n".join(lines)


def wait_http(url: str, timeout: float, process: subprocess.Popen[Any], log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited ({process.returncode}); see {log}")
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s; see {log}")


def airflow(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "airflow", *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        print(done.stdout[-4000:], done.stderr[-4000:], sep="\n", flush=True)
        raise RuntimeError(f"airflow {' '.join(args)} exited {done.returncode}")
    return done


def check(steps: Steps, env: dict[str, str], base: str, sim_url: str, sim_port: int) -> None:
    """The browser steps (and the CLI steps between them)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            _browse(steps, env, browser, base, sim_url, sim_port)
        finally:
            browser.close()


def _browse(steps: Steps, env: dict[str, str], browser: Any, base: str, sim_url: str, sim_port: int) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    # The dashboard is on the internet; answer it here so following the link stays offline.
    context.route(
        "https://fivetran.com/**",
        lambda route: route.fulfill(
            status=200,
            content_type="text/html",
            body=f"<h1>Fivetran dashboard (answered locally)</h1><p>{route.request.url}</p>",
        ),
    )
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        _steps(steps, env, context, page, base, sim_url, sim_port)
    except BaseException:
        page.screenshot(path=str(SHOTS / "failure.png"), full_page=True)
        print(page.locator("body").aria_snapshot()[-3000:], flush=True)
        raise


def _steps(steps: Steps, env: dict[str, str], context: Any, page: Any, base: str, sim_url: str, sim_port: int) -> None:
    from playwright.sync_api import expect

    with steps.step("add a fivetran connection through the form"):
        page.goto(f"{base}/connections")
        page.get_by_role("button", name="Add Connection").click()
        page.locator("input[name=connection_id]").fill("fivetran_default")
        page.get_by_role("combobox").click()
        page.keyboard.type("Fivetran")
        page.get_by_role("option", name="Fivetran", exact=True).click()
        expect(page.get_by_text("API secret", exact=True)).to_be_visible()
        page.locator("input[name=host]").fill(sim_url)
        page.locator("input[name=login]").fill(API_KEY)
        page.locator("input[name=password]").fill(API_SECRET)
        page.locator("input[name=port]").fill(str(sim_port))  # Airflow 3.3's Test button needs it
        page.get_by_role("button", name="Extra Fields", exact=True).click()
        page.locator("input[name=element_max_retries]").fill("2")
        page.screenshot(path=str(SHOTS / "1-connection-form.png"), full_page=True)
        page.get_by_role("button", name="Save").click()
        row = page.get_by_role("row").filter(has_text="fivetran_default")
        expect(row).to_be_visible()
        page.screenshot(path=str(SHOTS / "2-connection-saved.png"), full_page=True)

    with steps.step("press Test and see success"):
        row.get_by_role("button", name="Test").click()
        expect(page.get_by_text("Connected to Fivetran account", exact=False).first).to_be_visible()
        page.screenshot(path=str(SHOTS / "3-connection-test.png"), full_page=True)

    with steps.step("airflow connections test fivetran_default"):
        done = airflow(env, "connections", "test", "fivetran_default")
        assert "Connection success!" in done.stdout, (done.stdout, done.stderr)

    with steps.step(f"run the example DAG {DAG_ID}"):
        airflow(env, "dags", "reserialize")
        airflow(env, "dags", "test", DAG_ID)
        with sqlite3.connect(Path(env["AIRFLOW_HOME"]) / "airflow.db") as db:
            run_id, state = db.execute(
                "SELECT run_id, state FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1", (DAG_ID,)
            ).fetchone()
        assert state == "success", (run_id, state)

    with steps.step("open the task and follow the Fivetran connection link"):
        page.goto(f"{base}/dags/{DAG_ID}/runs/{run_id}/tasks/{TASK_ID}")
        page.get_by_role("link", name="Details", exact=True).click()  # the task's extra links are listed there
        link = page.get_by_role("link", name="Fivetran connection")
        expect(link).to_be_visible(timeout=60_000)
        page.screenshot(path=str(SHOTS / "4-task-extra-link.png"), full_page=True)
        href = link.get_attribute("href")
        assert href == EXPECTED_LINK, href
        with context.expect_page() as opened:
            link.click()
        dashboard = opened.value
        dashboard.wait_for_load_state()
        assert dashboard.url == EXPECTED_LINK, dashboard.url
        dashboard.screenshot(path=str(SHOTS / "5-dashboard-link-followed.png"))


def main() -> int:
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: apt-get install chromium", file=sys.stderr)
        return 2
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    home = Path(tempfile.mkdtemp(prefix="fivetran-ui-check-"))
    api_port, sim_port = free_port(), free_port()
    base = f"http://127.0.0.1:{api_port}"
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "example_dags"),
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__API__BASE_URL": base,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base}/execution/",
    }
    env.pop("AIRFLOW_CONN_FIVETRAN_DEFAULT", None)
    steps = Steps()
    processes: list[subprocess.Popen[Any]] = []
    try:
        with steps.step("airflow db migrate"):
            airflow(env, "db", "migrate")
        with steps.step("start the simulator and airflow api-server on loopback"):
            sim_log, api_log = home / "simulator.log", home / "api-server.log"
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "fivetran_provider.testing", "--port", str(sim_port), *CREDENTIALS],
                    env=env,
                    stdout=sim_log.open("w"),
                    stderr=subprocess.STDOUT,
                )
            )
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "airflow", "api-server", "--host", "127.0.0.1", "--port", str(api_port)],
                    env=env,
                    stdout=api_log.open("w"),
                    stderr=subprocess.STDOUT,
                )
            )
            wait_http(f"{base}/api/v2/monitor/health", 240, processes[1], api_log)
        check(steps, env, base, f"http://127.0.0.1:{sim_port}", sim_port)
    except BaseException:
        for log in sorted(home.glob("*.log")):
            print(f"--- last lines of {log.name}:\n" + "\n".join(log.read_text().splitlines()[-30:]), flush=True)
        raise
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        print(steps.summary(), flush=True)
        shutil.rmtree(home, ignore_errors=True)
    print(f"UI check passed; screenshots in {SHOTS}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
