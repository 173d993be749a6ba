from click.testing import CliRunner

from mlops_magics import __version__
from mlops_magics.cli import main


def test_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_init_and_status(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["init", str(tmp_path / "ws")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ws" / "workspace.json").is_file()
    result = runner.invoke(main, ["--home", str(tmp_path / "ws"), "status"])
    assert result.exit_code == 0
    assert str(tmp_path / "ws") in result.output
    assert "(not created yet)" not in result.output


def test_a_mistake_is_one_line_and_exit_code_2(tmp_path):
    """Issue #19: click printed its usage block above the error; a mistake is one line."""
    (tmp_path / "existing.txt").write_text("x")
    for args, message in [
        (["init", str(tmp_path / "existing.txt")], "is a file"),
        (["run", str(tmp_path / "missing.yaml")], "no pipeline file at"),
        (["run", str(tmp_path / "x.ipynb"), "--parallel", "0"], "0 is not in the range 1<=x<=64"),
        (["reproduce", "abc", "--rtol", "-1"], "-1.0 is not in the range x>=0"),
        (["lineage", "nope"], "nope"),
    ]:
        result = CliRunner().invoke(main, args)
        lines = result.output.strip().splitlines()
        assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("Error: "), result.output
        assert message in lines[0], result.output
