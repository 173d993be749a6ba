from mlops_magics.magics import complete

from conftest import HEAVY, run_python

MAGICS = {"line": ["mlops", "track", "feature", "deploy", "drift"], "cell": ["track", "feature"]}


def test_load_ext_imports_no_backend():
    code = (
        "import sys\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "sh = InteractiveShell.instance()\n"
        "sh.run_line_magic('load_ext', 'mlops_magics')\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules) or 'none')\n"
    )
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "none"


def test_status_magic_imports_no_backend():
    code = (
        "import sys\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "sh = InteractiveShell.instance()\n"
        "sh.run_line_magic('load_ext', 'mlops_magics')\n"
        "sh.run_line_magic('mlops', 'init')\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules) or 'none')\n"
    )
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "none"


def test_magics_are_declared(ip):
    for kind, names in MAGICS.items():
        for name in names:
            assert name in ip.magics_manager.magics[kind], (kind, name)


def _our_matchers(shell) -> list:
    return [m for m in shell.Completer.custom_matchers if m.matcher_identifier == "mlops_magics.complete"]


def test_unload_removes_magics_and_settings(ip_empty):
    ip_empty.run_line_magic("load_ext", "mlops_magics")
    ip_empty.run_line_magic("mlops", "")  # forces the lazy load of the %mlops module
    ip_empty.run_line_magic("unload_ext", "mlops_magics")
    assert "mlops" not in ip_empty.magics_manager.magics["line"]
    assert not any(type(c).__name__ == "MLOps" for c in ip_empty.configurables)
    assert not _our_matchers(ip_empty)  # nor its completion matcher
    # and it loads again cleanly, with one matcher even if installed twice
    ip_empty.run_line_magic("load_ext", "mlops_magics")
    assert ip_empty.run_line_magic("mlops", "") is not None
    complete.install(ip_empty)
    assert len(_our_matchers(ip_empty)) == 1
    ip_empty.run_line_magic("unload_ext", "mlops_magics")
